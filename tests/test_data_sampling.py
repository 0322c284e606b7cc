"""α-sampling: composition q_l ∝ p_l^α within sampling error, reproducibility, streaming output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vocabswap.cli import main
from vocabswap.data.sampling import sample_multilingual, sampling_probabilities
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
