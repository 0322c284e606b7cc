"""The other langsfer weightings: ``Softmax`` (WECHSEL-style, over every anchor) and ``TopK`` (softmax over
the k nearest). Nothing in the product selects them; the tests check that ``similarity_weights`` composes
with any weighting of this shape."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Softmax:
    """Softmax over every anchor, at ``temperature``."""

    temperature: float = 1.0

    def __call__(self, sims: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        every = torch.arange(sims.shape[1]).expand_as(sims)
        return torch.softmax(sims.double() / self.temperature, dim=1), every


@dataclass(frozen=True)
class TopK:
    """Softmax over each row's ``k`` most similar anchors, at ``temperature``."""

    k: int = 10
    temperature: float = 1.0

    def __call__(self, sims: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        values, cols = torch.topk(sims, min(self.k, sims.shape[1]), dim=1)
        return torch.softmax(values.double() / self.temperature, dim=1), cols
