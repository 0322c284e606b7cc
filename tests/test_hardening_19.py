"""Issue 19: nothing stale, nothing escapes. Each test reproduces one defect of the issue (numbered as
there) and asserts what the product does now."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from _training import small_target_model, split_text
from safetensors.torch import load_file

from vocabswap.errors import VocabswapError
from vocabswap.lapt import LaptConfig, run_lapt
from vocabswap.lapt_state import StateDir

TINY = dict(
    regime="full", steps=2, eval_every=1, batch_size=4, micro_batch_size=2, max_length=32, log_every=1
)


@pytest.fixture(scope="module")
def models(
    base_model_enpt: Path, he_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """Two small real models for one vocabulary that differ only in their initial embedding rows (as two
    `init_seed`s give): INIT_A and INIT_B of the issue."""
    root = tmp_path_factory.mktemp("h19-models")
    return (
        small_target_model(base_model_enpt, he_tokenizer, root / "a", 1, seed=0),
        small_target_model(base_model_enpt, he_tokenizer, root / "b", 1, seed=7),
    )


@pytest.fixture(scope="module")
def texts(hebrew_train_text: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return split_text(hebrew_train_text, tmp_path_factory.mktemp("h19-text"), 200, 20)


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(out / "model.safetensors")


def _events(out: Path) -> list[str]:
    lines = (out / "training_log.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(x).get("event", "") for x in lines]


# --------------------------------------------------------------------------------------------------------
# 1. LAPT state keyed by everything it depends on


def test_1_changed_model_is_refused_in_one_line_then_restarted(models, texts, tmp_path: Path) -> None:
    a, b = models
    state = tmp_path / "S"
    run_lapt(a, *texts, tmp_path / "A", LaptConfig(keep_state=True, **TINY), state_dir=state)
    with pytest.raises(
        VocabswapError, match=r"S: holds a run with other inputs or settings \(the model changed\)"
    ):
        run_lapt(b, *texts, tmp_path / "B", LaptConfig(**TINY), state_dir=state)
    assert not (tmp_path / "B").exists() and (state / "checkpoint").is_dir()  # refused: nothing touched

    run_lapt(b, *texts, tmp_path / "B", LaptConfig(**TINY), state_dir=state, on_change="restart")
    run_lapt(b, *texts, tmp_path / "B-fresh", LaptConfig(**TINY))
    wa, wb, fresh = _weights(tmp_path / "A"), _weights(tmp_path / "B"), _weights(tmp_path / "B-fresh")
    assert any(not torch.equal(wa[n], wb[n]) for n in wa)
    assert all(torch.equal(wb[n], fresh[n]) for n in wb), "a restart trains B from B, as a fresh run does"
    assert "resumed" not in _events(tmp_path / "B")
    assert not state.exists()


def test_1_changed_train_or_dev_text_is_refused(models, texts, tmp_path: Path) -> None:
    train, dev = texts
    state = tmp_path / "S"
    run_lapt(models[0], train, dev, tmp_path / "A", LaptConfig(keep_state=True, **TINY), state_dir=state)
    other = tmp_path / "train2.txt"
    other.write_text(train.read_text(encoding="utf-8") + "שורה חדשה אחת\n", encoding="utf-8")
    with pytest.raises(VocabswapError, match=r"\(the train changed\)"):
        run_lapt(models[0], other, dev, tmp_path / "B", LaptConfig(**TINY), state_dir=state)
    with pytest.raises(VocabswapError, match=r"\(the dev changed; steps 2 -> 3\)"):
        run_lapt(models[0], train, other, tmp_path / "B", LaptConfig(**{**TINY, "steps": 3}), state_dir=state)
    # the same inputs resume (nothing left to train: the kept state is at its last step)
    run_lapt(models[0], train, dev, tmp_path / "C", LaptConfig(**TINY), state_dir=state)
    assert "resumed" in _events(tmp_path / "C")
    assert all(
        torch.equal(x, y)
        for x, y in zip(_weights(tmp_path / "A").values(), _weights(tmp_path / "C").values(), strict=True)
    )


def test_1_state_of_an_older_vocabswap_has_unknown_inputs(models, texts, tmp_path: Path) -> None:
    state = tmp_path / "S"
    run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(keep_state=True, **TINY), state_dir=state)
    (state / "key.json").unlink()  # as a state directory written before the key existed
    (state / ".vocabswap-lapt-state").unlink()
    with pytest.raises(VocabswapError, match="its inputs are unknown"):
        run_lapt(models[0], *texts, tmp_path / "B", LaptConfig(**TINY), state_dir=state)


def test_1_workflow_script_restarts_a_stale_state() -> None:
    """The workflow's LAPT rule never resumes across a changed input: its script asks for a restart."""
    script = (Path(__file__).parents[1] / "workflow" / "scripts" / "lapt.py").read_text(encoding="utf-8")
    assert 'on_change="restart"' in script


# --------------------------------------------------------------------------------------------------------
# (issue preamble) --state-dir never deletes a user's training_log.jsonl or cache/train.*


def test_state_dir_holding_the_users_log_and_cache_is_refused(models, texts, tmp_path: Path) -> None:
    state = tmp_path / "mine"
    (state / "cache").mkdir(parents=True)
    (state / "training_log.jsonl").write_text("my log\n", encoding="utf-8")
    (state / "cache" / "train.notes").write_text("my cache\n", encoding="utf-8")
    with pytest.raises(VocabswapError, match=r"mine/cache: exists, but vocabswap did not make"):
        run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(**TINY), state_dir=state)
    assert (state / "training_log.jsonl").read_text(encoding="utf-8") == "my log\n"
    assert (state / "cache" / "train.notes").read_text(encoding="utf-8") == "my cache\n"
    StateDir(state).remove()  # not vocabswap's directory: nothing deleted
    assert sorted(p.name for p in state.rglob("*")) == ["cache", "train.notes", "training_log.jsonl"]


# --------------------------------------------------------------------------------------------------------
# 11. one run at a time per state directory


def test_11_concurrent_lapt_on_one_state_dir_is_refused(models, texts, tmp_path: Path) -> None:
    held = StateDir(tmp_path / "S")
    held.lock()
    try:
        with pytest.raises(VocabswapError, match="another vocabswap lapt is using this state directory"):
            run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(**TINY), state_dir=held.root)
    finally:
        held.release()
    assert not (tmp_path / "A").exists() and (held.root / ".lock").exists()  # the holder's files stay


def test_11_lapt_replaces_an_earlier_output_only_with_overwrite(models, texts, tmp_path: Path) -> None:
    run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(**TINY))
    with pytest.raises(VocabswapError, match="pass --overwrite to replace it"):
        run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(**TINY))
    assert not (tmp_path / "A.state").exists()
    run_lapt(models[0], *texts, tmp_path / "A", LaptConfig(**TINY), overwrite=True)


# --------------------------------------------------------------------------------------------------------
# 12. a failed LAPT leaves no OUT.state


def test_12_failed_lapt_leaves_no_state_dir(models, texts, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(models[0], broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(VocabswapError):
        run_lapt(broken, *texts, tmp_path / "A", LaptConfig(**TINY))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken"]


# --------------------------------------------------------------------------------------------------------
# 8 and 14. settings that cannot train are refused in one line, before any work


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_grad_norm": float("nan")}, "--max-grad-norm must be a finite number above 0, got nan"),
        ({"lr": float("nan")}, "--lr must be a finite number above 0, got nan"),
        ({"lr": float("inf")}, "--lr must be a finite number above 0, got inf"),
        ({"weight_decay": -1.0}, "--weight-decay must be a finite number >= 0, got -1.0"),
        ({"seed": -1}, "--seed must be an integer from 0 to 4294967295, got -1"),
        ({"seed": 10**20}, "--seed must be an integer from 0 to 4294967295"),
    ],
)
def test_8_14_lapt_settings_are_checked(change: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(VocabswapError, match=message.replace("(", r"\(").replace("+", r"\+")):
        run_lapt(
            tmp_path / "m", tmp_path / "t", tmp_path / "d", tmp_path / "o", LaptConfig(**{**TINY, **change})
        )
    assert sorted(tmp_path.iterdir()) == []
