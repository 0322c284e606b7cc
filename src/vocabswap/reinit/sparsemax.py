"""Batched sparsemax (Martins & Astudillo, 2016) over the rows of a matrix, returned in sparse form.

sparsemax(z) = max(z - tau, 0) with tau chosen so the result sums to 1. Only the largest entries can be
in the support, so each row is partially sorted (``topk``) over ``k`` candidates; rows whose support
fills all ``k`` are redone with ``2k`` until every support is provably complete. FOCUS rows have
supports of a few to a few dozen anchors, so this touches a small fraction of the similarity matrix.
"""

from __future__ import annotations

import torch


def sparsemax_topk(z: torch.Tensor, k: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparsemax of every row of ``z`` (shape ``(B, n)``) as ``(weights, indices)``, both ``(B, k')``.

    ``weights[i]`` is the sparsemax of row ``i`` at columns ``indices[i]`` (zeros beyond the support,
    which is always inside the ``k'`` columns returned); each row of ``weights`` is >= 0 and sums to 1.
    Computed in float64 whatever the input dtype.
    """
    if z.ndim != 2 or z.shape[1] == 0:
        raise ValueError(f"sparsemax needs a non-empty 2-d input, got shape {tuple(z.shape)}")
    n = z.shape[1]
    k = min(max(k, 1), n)
    while True:
        values, indices = torch.topk(z, k, dim=1, sorted=True)
        values = values.to(torch.float64)
        cumsum = values.cumsum(dim=1)
        ranks = torch.arange(1, k + 1, dtype=torch.float64, device=z.device)
        # The support is the prefix of sorted entries with 1 + r * z_(r) > sum_{j<=r} z_(j).
        support = (1 + ranks * values > cumsum).sum(dim=1, keepdim=True)
        if k == n or bool((support < k).all()):
            break
        k = min(2 * k, n)
    tau = (cumsum.gather(1, support - 1) - 1) / support
    weights = (values - tau).clamp_min(0)
    return weights, indices


def sparsemax(z: torch.Tensor) -> torch.Tensor:
    """Dense sparsemax over the last dimension of a 1-d or 2-d tensor (float64)."""
    squeeze = z.ndim == 1
    z2 = z.reshape(1, -1) if squeeze else z
    weights, indices = sparsemax_topk(z2, k=z2.shape[1])
    out = torch.zeros(z2.shape, dtype=torch.float64, device=z.device).scatter_(1, indices, weights)
    return out[0] if squeeze else out
