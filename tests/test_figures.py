"""Figures: the probe and LDA views find structure that 2-D PCA hides; Figure 4 from hand-made results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vocabswap.figures import base_embedding_figure, flops_figure, linear_probe, read_probes


def test_probe_finds_structure_outside_the_top_principal_components():
    """Two classes that differ only along a low-variance direction: PCA's top-2 axes miss it, the probe
    (and LDA) do not."""
    rng = np.random.default_rng(0)
    n, d = 2000, 50
    x = rng.normal(size=(n, d)) * np.r_[np.full(5, 10.0), np.ones(d - 5)]  # 5 loud directions
    y = np.where(rng.random(n) < 0.5, "initial", "medial")
    x[:, -1] += np.where(y == "initial", 3.0, -3.0)  # the class signal lives in a quiet direction
    from sklearn.decomposition import PCA

    top2 = PCA(n_components=2).fit_transform(x)
    pca_probe = linear_probe(top2, y)
    full_probe = linear_probe(x, y)
    assert pca_probe["accuracy"] < 0.6
    assert full_probe["accuracy"] > 0.95 and full_probe["majority_baseline"] == pytest.approx(0.5, abs=0.05)


@pytest.mark.slow
def test_base_embedding_figure_on_a_real_model(base_model_enpt: Path, tmp_path: Path):
    probes = base_embedding_figure(
        base_model_enpt, tmp_path / "fig1.png", probes_out=tmp_path / "p.tsv", max_points=1500
    )
    assert (tmp_path / "fig1.png").stat().st_size > 20_000
    rows = {r["probe"]: r for r in read_probes(tmp_path / "p.tsv")}
    assert set(rows) == {"script", "position_within_latin"}
    for name, r in probes.items():
        assert r["accuracy"] > r["majority_baseline"], name


def test_flops_figure_from_results(tmp_path: Path):
    def res(regime, method, score, paper, executed):
        cell = {"target": "he", "regime": regime, "method": method, "lang": "he", "task": "pos", "seed": 1}
        return {"cell": cell, "score": score, "lapt": {"flops": {"paper": paper, "executed": executed}}}

    results = [
        res("full", "script", 0.9, 1e15, 4e14),
        res("emb", "script", 0.8, 7e14, 2e14),
        res("full", "fullvocab", 0.92, 3e15, 1e15),
        {"cell": {"target": "offtheshelf", "lang": "he", "task": "pos", "seed": 1}, "score": 0.91},
    ]
    flops_figure(results, tmp_path / "f4.png", title="t", task="pos")
    assert (tmp_path / "f4.png").stat().st_size > 10_000
