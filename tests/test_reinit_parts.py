"""The re-initialisation parts as a composition: filler registry, overlap rules, weighting parts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference.weightings import Softmax, TopK

from vocabswap.registry import METHODS
from vocabswap.reinit.methods import FILLERS, build_recipe
from vocabswap.reinit.overlap import OVERLAPS
from vocabswap.reinit.weights import Sparsemax, similarity_weights


def test_every_base_filler_of_the_registry_has_a_part():
    assert set(FILLERS) == {base for base, _ in METHODS.values()}
    for name in METHODS:
        assert build_recipe(name).filler is not None


def test_overlap_rules_are_exact_and_fuzzy():
    assert set(OVERLAPS) == {"exact", "fuzzy"}


@pytest.mark.parametrize("weighting", [Sparsemax(k=2), Softmax(), TopK(k=3)])
def test_weightings_give_convex_rows(weighting):
    rng = np.random.default_rng(0)
    new, anchors = rng.standard_normal((7, 5)), rng.standard_normal((9, 5))
    weights = similarity_weights(new, anchors, weighting, batch_rows=3).toarray()
    assert weights.shape == (7, 9)
    assert (weights >= 0).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-9)


def test_topk_keeps_k_anchors_and_softmax_all():
    sims = torch.tensor([[0.9, 0.1, 0.5, -0.2]], dtype=torch.float64)
    weights, cols = TopK(k=2)(sims)
    assert sorted(cols[0].tolist()) == [0, 2]
    weights, cols = Softmax()(sims)
    assert cols[0].tolist() == [0, 1, 2, 3] and float(weights.sum()) == pytest.approx(1.0)
