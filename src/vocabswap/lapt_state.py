"""LAPT's resumable state: a directory outside the output that survives a killed or failed job.

It holds the last checkpoint (model, optimizer, scheduler, RNG, :class:`TrainState`), the best-dev model so
far, the encoded-corpus cache and the append-only training log. It is keyed by everything the trajectory
depends on (:func:`run_key`: the input model's digest, the train and dev texts' digests, the settings), so a
run never resumes across a changed input: it refuses with one line, or (``on_change="restart"``, as the
workflow runs it) logs one line and starts afresh. vocabswap deletes only what it wrote: a directory it
did not make is adopted (the key file :data:`KEY_FILE` then marks it) only when none of the state's names
is taken in it, and the user's other files there stay. One run at a time holds it (an exclusive lock).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import math
import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vocabswap.atomic import MARKER, atomic_dir, atomic_open, write_json
from vocabswap.errors import VocabswapError
from vocabswap.modeldir import file_digest, tokenizer_files
from vocabswap.training_config import LaptConfig

log = logging.getLogger(__name__)

KEY_FILE = "vocabswap-lapt-key.json"  # the run's key; also marks the directory as vocabswap's
LOCK = "vocabswap-lapt.lock"
# Settings that change the trajectory: a state directory written with other values cannot be resumed.
TRAJECTORY_KEYS = (
    "regime",
    "steps",
    "batch_size",
    "lr",
    "weight_decay",
    "max_length",
    "mlm_probability",
    "freeze_fraction",
    "seed",
    "head",
    "sequences",
)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


@dataclass
class TrainState:
    """Everything besides tensors that a resumed run needs; saved as JSON beside the tensors."""

    step: int = 0
    max_grad_norm: float = 1.0
    best_loss: float = math.inf
    best_step: int | None = None
    tokens_seen: int = 0  # real (non-padding) positions, specials included
    positions_seen: int = 0  # positions of the batch tensors, padding included
    sequences_seen: int = 0
    evals_without_improvement: int = 0  # early stopping (LaptConfig.patience)
    flops_executed: int = 0
    flops_paper: int = 0
    dev_curve: list[dict[str, Any]] = field(default_factory=list)
    restarts: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0


def model_digest(model_dir: Path) -> str:
    """sha256 over what a model directory trains from: its config, weight files and tokenizer files (not
    reports or provenance, which may change while the model stays the same)."""
    h = hashlib.sha256()
    for path in sorted(Path(model_dir).iterdir()):
        tokenizer = path in tokenizer_files(model_dir)
        if path.is_file() and (path.name == "config.json" or path.suffix in WEIGHT_SUFFIXES or tokenizer):
            h.update(path.name.encode() + b"\0" + bytes.fromhex(file_digest(path)))
    return h.hexdigest()


def run_key(model_dir: Path, train: Path, dev: Path, config: LaptConfig) -> dict[str, Any]:
    """Everything a LAPT trajectory depends on: a state directory written under another key is stale."""
    settings = dataclasses.asdict(config)
    return {
        "model": model_digest(model_dir),
        "train": file_digest(train),
        "dev": file_digest(dev),
        "settings": {k: settings[k] for k in TRAJECTORY_KEYS},
    }


def key_changes(saved: dict[str, Any] | None, key: dict[str, Any]) -> list[str]:
    """What differs between a saved key and this run's, in words (empty: the state may be resumed)."""
    if saved is None:
        return ["its inputs are unknown (written by an older vocabswap)"]
    changes = [f"the {name} changed" for name in ("model", "train", "dev") if saved.get(name) != key[name]]
    old, new = saved.get("settings", {}), key["settings"]
    changes += [f"{k} {old.get(k)!r} -> {new[k]!r}" for k in TRAJECTORY_KEYS if old.get(k) != new[k]]
    return changes


class StateDir:
    """Layout of the resumable state directory (outside the declared output)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.checkpoint = root / "checkpoint"
        self.best = root / "best"
        self.cache = root / "cache"
        self.log = root / "training_log.jsonl"
        self.key_file = root / KEY_FILE
        self._lock: Any = None

    # -- ownership, key and lock

    def ownership(self) -> str:
        """``absent``, ``empty``, ``ours`` (vocabswap made it or adopted it) or ``foreign``."""
        if self.root.is_symlink() or (self.root.exists() and not self.root.is_dir()):
            return "foreign"
        if not self.root.exists():
            return "absent"
        names = {p.name for p in self.root.iterdir()} - {LOCK}
        if not names:
            return "empty"
        legacy = (self.checkpoint / MARKER).is_file()  # a state directory of a vocabswap before the key
        return "ours" if self.key_file.is_file() or legacy else "foreign"

    def refuse_foreign(self) -> None:
        """A directory vocabswap did not make is used only if none of the state's names is taken in it (the
        user's own files there are never touched); a file or symlink is never used."""
        if self.root.is_symlink() or (self.root.exists() and not self.root.is_dir()):
            raise VocabswapError(f"{self.root}: is not a directory; pass another --state-dir")
        if self.ownership() != "foreign":
            return
        for path in (self.checkpoint, self.best, self.cache, self.log, self.key_file):
            if path.exists():
                raise VocabswapError(
                    f"{path}: exists, but vocabswap did not make {self.root} as a LAPT state directory; "
                    "refusing to use or delete it (pass another --state-dir)"
                )

    def check(self, key: dict[str, Any], on_change: str) -> bool:
        """Whether this run may use the directory as it is (True: resume or fresh; False: it is stale and
        ``on_change`` is ``restart``). Raises one line for a foreign directory or a refused stale one."""
        self.refuse_foreign()
        if self.ownership() != "ours":
            return True
        changes = key_changes(self.saved_key(), key)
        if changes and on_change == "refuse":
            raise VocabswapError(
                f"{self.root}: holds a run with other inputs or settings ({'; '.join(changes)}); it cannot "
                "be resumed: delete it, pass another --state-dir, or --on-state-change restart"
            )
        if changes:
            log.warning("%s: stale LAPT state (%s): starting afresh", self.root, "; ".join(changes))
        return not changes

    def claim(self, key: dict[str, Any], *, fresh: bool) -> None:
        """Make the directory this run's (main process, under the lock): drop a stale state, write the key."""
        if not fresh:
            self.remove(keep_root=True)
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.key_file.exists():
            write_json(self.key_file, key)

    def lock(self) -> None:
        """Hold the directory exclusively for this process's lifetime; one line if another run has it."""
        self.refuse_foreign()
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / LOCK, "a")  # noqa: SIM115 - held until release() or exit
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise VocabswapError(
                f"{self.root}: another vocabswap lapt is using this state directory; wait for it to end"
            ) from None
        self._lock = handle

    @property
    def held(self) -> bool:
        return self._lock is not None

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def saved_key(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.key_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    # -- checkpoints

    def save_checkpoint(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        state: TrainState,
        config: LaptConfig,
    ) -> None:
        with atomic_dir(self.checkpoint) as tmp:
            torch.save(model.state_dict(), tmp / "model.pt")
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
            rng = {"torch": torch.get_rng_state()}
            if torch.cuda.is_available():
                rng["cuda"] = torch.cuda.get_rng_state_all()
            torch.save(rng, tmp / "rng.pt")
            write_json(tmp / "trainer_state.json", dataclasses.asdict(state))
            write_json(tmp / "config.json", dataclasses.asdict(config))

    def has_checkpoint(self) -> bool:
        return (self.checkpoint / "trainer_state.json").is_file()

    def load_checkpoint(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
    ) -> TrainState:
        model.load_state_dict(self._load_tensors(self.checkpoint / "model.pt"))
        optimizer.load_state_dict(self._load_tensors(self.checkpoint / "optimizer.pt"))
        scheduler.load_state_dict(self._load_tensors(self.checkpoint / "scheduler.pt"))
        rng = self._load_tensors(self.checkpoint / "rng.pt")
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        raw = json.loads((self.checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
        if raw["best_loss"] is None:
            raw["best_loss"] = math.inf
        return TrainState(**raw)

    @staticmethod
    def _load_tensors(path: Path) -> Any:
        """A checkpoint file of tensors and plain containers; never unpickles code (weights_only)."""
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, pickle.UnpicklingError, EOFError) as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise VocabswapError(
                f"{path}: not a loadable vocabswap checkpoint file (only tensors are accepted): {reason}"
            ) from err

    def remove(self, *, keep_root: bool = False) -> None:
        """Delete what vocabswap wrote here (only in a directory it made); the directory itself only if
        nothing else is left in it."""
        if self.ownership() != "ours":
            return
        for path in (self.checkpoint, self.best):
            if (path / MARKER).is_file():
                shutil.rmtree(path, ignore_errors=True)
        if self.cache.is_dir():
            for path in self.cache.iterdir():
                if path.is_file() and path.name.startswith(("train.", "dev.")):
                    path.unlink(missing_ok=True)
        for path in (self.log, self.key_file, *(() if keep_root else (self.root / LOCK,))):
            path.unlink(missing_ok=True)
        for path in (self.cache, *(() if keep_root else (self.root,))):
            with contextlib.suppress(OSError):
                path.rmdir()

    # -- the training log

    def append_log(self, record: dict[str, Any]) -> None:
        with open(self.log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, allow_nan=False) + "\n")

    def truncate_log(self, step: int) -> None:
        """Drop step records after ``step`` (they will be replayed) from the append-only log."""
        if not self.log.exists():
            return
        keep = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            if rec.get("step", 0) <= step:
                keep.append(line)
        with atomic_open(self.log) as handle:
            handle.write("".join(k + "\n" for k in keep))
