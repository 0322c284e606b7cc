"""Weighting parts (langsfer's weighting strategies): similarities of new tokens to anchors -> weights.

A weighting maps a batch of similarities (``B × anchors``) to ``(weights, columns)``, both ``B × k``: each
row's weights over the anchor columns listed beside them (zeros allowed), summing to 1. FOCUS uses
``Sparsemax``; softmax and top-k (the other compositions) live in ``tests/reference/weightings.py``,
which checks them against this protocol. :func:`similarity_weights` turns one into the sparse
(new × anchors) matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp
import torch

from vocabswap.reinit.sparsemax import sparsemax_topk


class Weighting(Protocol):
    def __call__(self, sims: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


@dataclass(frozen=True)
class Sparsemax:
    """Sparsemax over each row (FOCUS); ``k`` is a first guess at the support size, grown when too small."""

    k: int = 64

    def __call__(self, sims: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return sparsemax_topk(sims, k=self.k)


def similarity_weights(
    new_vectors: np.ndarray, anchor_vectors: np.ndarray, weighting: Weighting, *, batch_rows: int = 4096
) -> sp.csr_matrix:
    """Sparse (new × anchors) weights: ``weighting`` over cosine similarities, ``batch_rows`` rows at once."""
    new_t = torch.nn.functional.normalize(torch.from_numpy(new_vectors), dim=1)
    anchors_t = torch.nn.functional.normalize(torch.from_numpy(anchor_vectors), dim=1)
    data, indices, counts = [], [], []
    for start in range(0, len(new_t), batch_rows):
        weights, cols = weighting(new_t[start : start + batch_rows] @ anchors_t.T)
        keep = weights > 0
        data.append(weights[keep].numpy())
        indices.append(cols[keep].numpy())
        counts.append(keep.sum(dim=1).numpy())
    counts_all = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(counts_all)])
    return sp.csr_matrix(
        (
            np.concatenate(data) if data else np.zeros(0),
            np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
            indptr,
        ),
        shape=(len(new_vectors), len(anchor_vectors)),
    )
