"""α-sampling: composition q_l ∝ p_l^α within sampling error, reproducibility, streaming output."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from vocabswap.cli import main
from vocabswap.data.sampling import (
    SPLITS,
    count_lines,
    plan_sampling,
    sample_multilingual,
    sample_target,
    sampling_probabilities,
)
from vocabswap.errors import InputError


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sampling")
    sizes = {"big": 40_000, "mid": 4_000, "small": 400}
    out = {}
    for lang, n in sizes.items():
        out[lang] = root / f"{lang}.txt"
        out[lang].write_text("".join(f"{lang} {i}\n" for i in range(n)), encoding="utf-8")
    return out


def test_probabilities():
    q = sampling_probabilities({"a": 900, "b": 100}, 0.2)
    assert q["a"] == pytest.approx(0.9**0.2 / (0.9**0.2 + 0.1**0.2))
    assert sampling_probabilities({"a": 900, "b": 100}, 1.0) == pytest.approx({"a": 0.9, "b": 0.1})


def test_composition_matches_q_within_sampling_error(inputs, tmp_path: Path):
    n = 60_000
    out = tmp_path / "mix.txt"
    comp = sample_multilingual(inputs, out, alpha=0.2, lines=n, seed=7)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == n
    counts = {lang: sum(1 for x in lines if x.startswith(lang + " ")) for lang in inputs}
    for lang, info in comp["languages"].items():
        q = info["q"]
        assert info["sampled_lines"] == counts[lang]
        sd = np.sqrt(n * q * (1 - q))
        assert abs(counts[lang] - n * q) < 4 * sd, (lang, counts[lang], n * q)
    # with replacement: the small language (400 lines) is drawn far more often than it has lines
    small = [x for x in lines if x.startswith("small ")]
    assert len(small) > 5000 and len(set(small)) <= 400
    # every drawn line exists in its input, and draws within a language are roughly uniform
    big_idx = np.array([int(x.split()[1]) for x in lines if x.startswith("big ")])
    assert big_idx.max() < 40_000 and abs(big_idx.mean() - 20_000) < 4 * 40_000 / np.sqrt(12 * len(big_idx))
    assert json.loads((tmp_path / "mix.txt.composition.json").read_text()) == comp


def test_reproducible_from_the_seed(inputs, tmp_path: Path):
    a, b, c = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    sample_multilingual(inputs, a, lines=5000, seed=1)
    sample_multilingual(inputs, b, lines=5000, seed=1)
    sample_multilingual(inputs, c, lines=5000, seed=2)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    # the output is interleaved, not blocked by language
    langs = [x.split()[0] for x in a.read_text().splitlines()[:200]]
    assert len({tuple(langs[i : i + 2]) for i in range(0, 200, 2)}) > 3


def test_cap_and_errors(inputs, tmp_path: Path):
    comp = sample_multilingual(inputs, tmp_path / "cap.txt", lines=100, cap_bytes=1000, seed=1)
    assert all(v["input_lines"] <= 1000 // 6 + 1 for v in comp["languages"].values())
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="no lines"):
        sample_multilingual({"x": empty, **inputs}, tmp_path / "o.txt", lines=10)
    assert not (tmp_path / "o.txt").exists()


def test_cli(inputs, tmp_path: Path, capsys):
    args = ["sample", "--alpha", "0.2", "--lines", "1000", "--seed", "3", "--out", str(tmp_path / "o.txt")]
    assert main([*args, *(f"{k}={v}" for k, v in inputs.items())]) == 0
    assert len((tmp_path / "o.txt").read_text().splitlines()) == 1000
    assert main([*args, f"x={tmp_path / 'missing.txt'}"]) == 2
    assert "not found" in capsys.readouterr().err


# --- sizes, accounting and repeat warnings of a multilingual target (real Hebrew and Turkish text) ---------
SAMPLING = {
    "alpha": 0.2,
    "train_lines": None,
    "lapt_passes": 1,
    "dev_lines": 10_000,
    "seed": 1,
    "dev_within_inputs": True,
    "tokenizer_lines": 5_000_000,
    "cap_bytes": 2_000_000_000,
    "max_repeat": 100,
}
LAPT = {"steps": 6, "batch_size": 4, "lr": 1e-4}
TOKENIZER = {"vocab_size": 800, "max_text_bytes": 1_000_000_000}


@pytest.fixture(scope="module")
def he_tr(hebrew_train_text: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Train text of UD Hebrew-HTB and the Turkish treebanks (packaged), and 40-line dev files of each."""
    from vocabswap.data.packaged import packaged_raw_text

    root = tmp_path_factory.mktemp("he_tr")
    packaged_raw_text("turkish-treebanks", root / "tr.txt")
    train = {"he": hebrew_train_text, "tr": root / "tr.txt"}
    dev = {}
    for lang, path in train.items():
        dev[lang] = root / f"{lang}.dev.txt"
        dev[lang].write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[:40]) + "\n", "utf-8")
    return {"train": train, "dev": dev}


def test_plan_sizes_the_lapt_sample_to_what_lapt_reads():
    plan = plan_sampling(SAMPLING, LAPT, TOKENIZER)
    assert plan["train_lines"] == 24 and "lapt_passes" not in plan and "lr" not in json.dumps(plan)
    assert plan_sampling({**SAMPLING, "lapt_passes": 4}, LAPT, TOKENIZER)["train_lines"] == 6
    assert plan_sampling({**SAMPLING, "lapt_passes": 0.5}, LAPT, TOKENIZER)["train_lines"] == 48
    fixed = plan_sampling({**SAMPLING, "train_lines": 1000}, LAPT, TOKENIZER)
    assert fixed["train_lines"] == 1000 and fixed["train_sized_by"] == "sampling.train_lines"
    packed = plan_sampling(SAMPLING, {**LAPT, "sequences": "packed"}, TOKENIZER)
    assert packed["train_lines"] == 24 and "LAPT reads the sample repeatedly" in packed["train_sized_by"]
    # one plan for all of a target's LAPT jobs: the one reading the most sequences sizes the sample
    runs = [LAPT, {**LAPT, "steps": 10}, {**LAPT, "batch_size": 2}]
    assert plan_sampling(SAMPLING, runs, TOKENIZER)["train_lines"] == 40
    paper = plan_sampling(SAMPLING, {"steps": 100_000, "batch_size": 200}, TOKENIZER)
    assert paper["train_lines"] == 20_000_000 and paper["tokenizer_max_bytes"] == 1_000_000_000


def test_target_samples_sized_accounted_and_warned(he_tr, tmp_path: Path, caplog):
    outs = {split: tmp_path / f"{split}.txt" for split in SPLITS}
    plan = plan_sampling({**SAMPLING, "max_repeat": 1.0}, LAPT, TOKENIZER)
    with caplog.at_level(logging.INFO, logger="vocabswap.data.sampling"):
        comp = sample_target(he_tr["train"], he_tr["dev"], outs, plan, composition_path=tmp_path / "c.json")
    assert json.loads((tmp_path / "c.json").read_text()) == comp
    splits = comp["splits"]
    n_train = {lang: count_lines(p) for lang, p in he_tr["train"].items()}
    assert splits["train"]["lines"] == 24 and splits["dev"]["lines"] == 80
    assert splits["tokenizer"]["requested_lines"] == 5_000_000
    assert splits["tokenizer"]["lines"] == sum(n_train.values())  # capped at the inputs' lines
    for split, info in splits.items():
        text = outs[split].read_bytes()
        assert info["bytes"] == len(text) and text.count(b"\n") == info["lines"], split
        for v in info["languages"].values():
            assert v["repeat"] == pytest.approx(v["sampled_lines"] / v["input_lines"])
    assert comp["bytes"] == sum(info["bytes"] for info in splits.values())
    # α = 0.2 lifts the smaller language above its share: drawn more often than it has lines
    tok = splits["tokenizer"]["languages"]
    small = min(tok, key=lambda lang: tok[lang]["input_lines"])
    assert tok[small]["q"] > tok[small]["p"] and tok[small]["repeat"] > 1
    assert any(w.startswith(f"tokenizer sample: {small} lines are drawn") for w in comp["warnings"])
    assert comp["warnings"] == [w for info in splits.values() for w in info["warnings"]]
    assert all(
        v["repeat"] <= 1.0 or any(f": {lang} lines" in w for w in comp["warnings"])
        for info in splits.values()
        for lang, v in info["languages"].items()
    )
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == comp["warnings"]
    assert any("train sample: 24 lines" in r.getMessage() for r in caplog.records)
    # the tokenizer text is not a re-draw of the LAPT text: each split has its own seed
    assert outs["tokenizer"].read_bytes()[:2000] != outs["train"].read_bytes()[:2000]


def test_tokenizer_sample_stays_within_the_trainers_whole_text_limit(he_tr, tmp_path: Path):
    outs = {split: tmp_path / f"{split}.txt" for split in SPLITS}
    plan = plan_sampling(SAMPLING, LAPT, {"max_text_bytes": 200_000})
    comp = sample_target(he_tr["train"], he_tr["dev"], outs, plan, composition_path=tmp_path / "c.json")
    tok = comp["splits"]["tokenizer"]
    assert "max_text_bytes" in tok["sized_by"] and 1000 < tok["lines"] < 3000
    assert tok["bytes"] < 200_000


def test_repeat_warning_names_each_language(inputs, tmp_path: Path):
    comp = sample_multilingual(inputs, tmp_path / "o.txt", lines=20_000, seed=1, max_repeat=5)
    # q = 0.49, 0.31, 0.20: the 400-line language gets ~3,900 draws (~9.8 each), the 4,000-line one ~1.6
    assert [w.split(":")[1].split()[0] for w in comp["warnings"]] == ["small"]
    assert comp["languages"]["small"]["repeat"] > 5 > comp["languages"]["mid"]["repeat"] > 1
    assert comp["bytes"] == (tmp_path / "o.txt").stat().st_size and comp["seconds"] >= 0
