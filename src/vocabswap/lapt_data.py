"""LAPT's data stream: the encoded corpora (cached), the batch of each step, and the fixed dev batches.

* The global batch of step ``k`` is a pure function of ``(seed, k)`` (:class:`BatchStream`), so a resumed
  run replays exactly the batches an uninterrupted one would see: nothing about the data is saved.
* A corpus is encoded once (main process, streaming) into a cache keyed by the text's digest, the
  tokenizer's digest and the sequence settings; every run and process then memory-maps it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vocabswap.atomic import atomic_path, write_json
from vocabswap.device import Dist, sub_seed
from vocabswap.errors import VocabswapError
from vocabswap.mlm import MLMMasker, SequenceCorpus, collate, encode_file, load_encoded, offsets_path
from vocabswap.modeldir import file_digest, tokenizer_digest

log = logging.getLogger(__name__)


class BatchStream:
    """The global batch of step ``k``: positions ``[k·B, (k+1)·B)`` of an endless sequence of seeded
    per-epoch permutations of the corpus. A pure function of (seed, step): nothing to save for resume."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self._perms: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            if len(self._perms) > 4:
                self._perms.pop(min(self._perms))
            self._perms[epoch] = np.random.default_rng(sub_seed(self.seed, 1, epoch)).permutation(self.n)
        return self._perms[epoch]

    def indices(self, step: int) -> np.ndarray:
        pos = np.arange(step * self.batch_size, (step + 1) * self.batch_size, dtype=np.int64)
        epochs, offsets = pos // self.n, pos % self.n
        return np.concatenate([self._perm(int(e))[offsets[epochs == e]] for e in np.unique(epochs)])

    def epoch_of(self, step: int) -> float:
        return step * self.batch_size / self.n


def load_or_encode(
    path: Path,
    role: str,
    tokenizer,
    model_dir: Path,
    max_length: int,
    sequences: str,
    cache_dir: Path,
    dist: Dist,
    device: torch.device,
    specials: tuple[int, int, int] | None = None,
) -> SequenceCorpus:
    """Encode a corpus once (main process, streaming) into ``cache_dir``; every run and process then
    memory-maps it. An input error on the main process is raised on every process. ``specials``: see
    :func:`vocabswap.mlm.encode_file`."""
    extra = f"{tokenizer_digest(model_dir)}:{max_length}:{sequences}" + (f":{specials}" if specials else "")
    key = file_digest(path, extra=extra.encode())[:16]
    data, meta_path = cache_dir / f"{role}.{key}.int32", cache_dir / f"{role}.{key}.json"
    error: VocabswapError | None = None
    if dist.main and not meta_path.exists():
        started = time.perf_counter()
        cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_path(data) as tmp, atomic_path(offsets_path(data)) as tmp_offsets:
                meta = encode_file(
                    path,
                    tokenizer,
                    max_length,
                    tmp,
                    sequences=sequences,
                    offsets_dest=tmp_offsets,
                    specials=specials,
                )
            write_json(meta_path, meta)  # written last: the cache entry is complete
            log.info(
                "%s: %d lines, %d tokens -> %d %s sequences of <= %d in %.1fs (cached in %s)",
                path,
                meta["n_lines"],
                meta["n_tokens"],
                meta["n_sequences"],
                sequences,
                max_length,
                time.perf_counter() - started,
                cache_dir,
            )
        except VocabswapError as err:
            error = err
    if dist.all_sum([1.0 if error else 0.0], device)[0]:
        raise error or VocabswapError(f"{path}: the main process could not read this {role} corpus")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return load_encoded(data, meta)


@dataclass(frozen=True)
class MicroBatch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor


def make_global_batch(
    corpus: SequenceCorpus, idx: np.ndarray, masker: MLMMasker, generator: torch.Generator, pad_id: int
) -> MicroBatch:
    input_ids, attention_mask = collate(corpus.sequences(idx), pad_id)
    masked, labels = masker(input_ids, attention_mask, generator)
    return MicroBatch(masked, attention_mask, labels)


def split_batch(batch: MicroBatch, parts: np.ndarray, size: int) -> list[MicroBatch]:
    """This process's share ``parts`` (row indices) of the global batch, cut into micro-batches of ``size``
    rows, each trimmed to its longest sequence."""
    out = []
    for start in range(0, len(parts), size):
        rows = torch.from_numpy(parts[start : start + size])
        am = batch.attention_mask[rows]
        width = int(am.sum(1).max())
        out.append(MicroBatch(batch.input_ids[rows, :width], am[:, :width], batch.labels[rows, :width]))
    return out


def by_length(corpus: SequenceCorpus, idx: np.ndarray) -> np.ndarray:
    """``idx`` longest sequence first (stable): consecutive micro-batches then hold similar lengths and
    little padding. Reordering within a step changes neither which lines form it nor its loss (the sum over
    its masked tokens divided by their count)."""
    return idx[np.argsort(-corpus.lengths[idx], kind="stable")]


def prepare_dev(
    corpus: SequenceCorpus, masker: MLMMasker, seed: int, pad_id: int, size: int
) -> list[MicroBatch]:
    """The dev set, each sequence masked once (fixed for the run), as length-sorted micro-batches."""
    gen = torch.Generator().manual_seed(sub_seed(seed, 2))
    order = by_length(corpus, np.arange(len(corpus)))
    everything = make_global_batch(corpus, order, masker, gen, pad_id)
    return split_batch(everything, np.arange(len(corpus)), size)
