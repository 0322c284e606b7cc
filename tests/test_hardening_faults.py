"""Issue 9, fault injection: the disk fills up (ENOSPC) while `init` writes its model and while LAPT
writes a checkpoint. The write fails half-way, as a full disk makes it; afterwards the previous output or
checkpoint must be intact and usable, the new output absent, no temporary left, the error one line."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest
from _cli import hidden_files, one_line_error
from _training import small_target_model, split_text

from vocabswap.cli import main

pytestmark = pytest.mark.slow


def _disk_full(path: str | os.PathLike) -> OSError:
    """What a full disk raises: after writing some bytes, ENOSPC naming the file."""
    with open(path, "r+b") as handle:
        handle.truncate(max(1, os.path.getsize(path) // 2))
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def test_enospc_during_init_keeps_the_previous_output(
    base_model_enpt: Path, he_tokenizer: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    import transformers.modeling_utils as mu

    out = tmp_path / "he-random"
    argv = ["init", "--base", str(base_model_enpt), "--tokenizer", str(he_tokenizer), "--method", "random"]
    assert main([*argv, "--out", str(out)]) == 0, capsys.readouterr().err
    before = _digest(out)
    original = mu.safe_save_file

    def full_disk(tensors, filename, *args, **kwargs):
        original(tensors, filename, *args, **kwargs)
        raise _disk_full(filename)

    monkeypatch.setattr(mu, "safe_save_file", full_disk)
    capsys.readouterr()
    rc = main([*argv, "--seed", "2", "--out", str(out), "--overwrite"])
    one_line_error(rc, capsys.readouterr().err, "No space left on device", "model.safetensors")
    assert _digest(out) == before  # the earlier output is untouched
    assert hidden_files(tmp_path) == []  # no temporary directory, no .old
    monkeypatch.setattr(mu, "safe_save_file", original)
    fresh = tmp_path / "fresh"
    rc = main([*argv, "--seed", "2", "--out", str(fresh)])
    assert rc == 0, capsys.readouterr().err
    assert _digest(fresh) != before


@pytest.fixture(scope="module")
def lapt_inputs(
    base_model_enpt: Path,
    he_tokenizer: Path,
    hebrew_train_text: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("enospc-lapt")
    model = small_target_model(base_model_enpt, he_tokenizer, root / "he-2", 2)
    train, dev = split_text(hebrew_train_text, root, 200, 24)
    return model, train, dev


def test_enospc_during_a_lapt_checkpoint_keeps_the_previous_one(
    lapt_inputs: tuple[Path, Path, Path], tmp_path: Path, capsys, monkeypatch
) -> None:
    import torch

    model, train, dev = lapt_inputs
    state = tmp_path / "state"
    state.mkdir()
    (state / "notes.txt").write_text("mine\n", encoding="utf-8")  # the user's own file (issue point 2)
    out = tmp_path / "out"
    argv = [
        "lapt",
        "--model",
        model,
        "--train",
        train,
        "--dev",
        dev,
        "--regime",
        "full",
        "--out",
        out,
        "--state-dir",
        state,
        "--steps",
        "4",
        "--eval-every",
        "2",
        "--batch-size",
        "4",
        "--micro-batch-size",
        "2",
        "--max-length",
        "32",
        "--log-every",
        "1",
    ]
    argv = [str(a) for a in argv]
    original, calls = torch.save, []

    def full_disk(obj, f, *args, **kwargs):
        original(obj, f, *args, **kwargs)
        calls.append(f)
        if len(calls) == 6:  # the second checkpoint (step 2), half-way through its files
            raise _disk_full(f)

    monkeypatch.setattr(torch, "save", full_disk)
    rc = main(argv)
    one_line_error(rc, capsys.readouterr().err, "No space left on device", "optimizer.pt")
    assert not out.exists()
    assert hidden_files(tmp_path) == [] and hidden_files(state) == []
    saved = json.loads((state / "checkpoint" / "trainer_state.json").read_text(encoding="utf-8"))
    assert saved["step"] == 0  # the step-0 checkpoint survived whole

    monkeypatch.setattr(torch, "save", original)
    rc = main(argv)
    assert rc == 0, capsys.readouterr().err
    log = [json.loads(x) for x in (out / "training_log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any(r.get("event") == "resumed" and r["step"] == 0 for r in log)
    assert json.loads((out / "lapt_log.json").read_text(encoding="utf-8"))["steps"] == 4
    assert sorted(p.name for p in state.iterdir()) == ["notes.txt"]  # only vocabswap's files went
    assert hidden_files(tmp_path) == []
