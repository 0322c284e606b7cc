"""Token overlap (langsfer's token-overlap part): which new tokens are base tokens, shared by IDENT and FOCUS.

Each rule maps rows of the new vocabulary to ``(new ids, base ids)`` of the ones it matches:

- ``exact``: the piece string, ``▁`` included, is a base piece (IDENT; FOCUS as deepfocus 1.0.1 does it);
- ``fuzzy``: FOCUS of May 2023: an exact match, else a base piece equal to it case-insensitively (``▁``
  kept); among base pieces with the same lower-cased key the greatest string wins (FOCUS built its
  lower-case dict from the sorted vocabulary, so the last one overwrote), e.g. "▁ab" over "▁Ab" and "▁AB".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from vocabswap.errors import VocabswapError
from vocabswap.reinit.core import Context

Overlap = Callable[[Context, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _pairs(hits: Iterable[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    hits = list(hits)
    if not hits:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new_ids, base_ids = zip(*hits, strict=True)
    return np.asarray(new_ids, dtype=np.int64), np.asarray(base_ids, dtype=np.int64)


def exact(ctx: Context, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(new ids, base ids) of the ``rows`` whose exact piece string (``▁`` included) is a base piece."""
    index = ctx.base_index
    return _pairs((int(r), index[ctx.new_pieces[r]]) for r in rows if ctx.new_pieces[r] in index)


def case_insensitive(ctx: Context, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(new ids, base ids) of the ``rows`` matched exactly, else by their lower-cased piece (``fuzzy``)."""
    lowered: dict[str, int] = {}
    for i in ctx.ordinary_base_rows:
        piece = ctx.base_pieces[i]
        key = piece.lower()
        if key not in lowered or piece > ctx.base_pieces[lowered[key]]:
            lowered[key] = int(i)
    index = ctx.base_index
    hits = ((int(r), index.get(ctx.new_pieces[r], lowered.get(ctx.new_pieces[r].lower()))) for r in rows)
    return _pairs((r, base) for r, base in hits if base is not None)


OVERLAPS: dict[str, Overlap] = {"exact": exact, "fuzzy": case_insensitive}


def overlap(ctx: Context, rows: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(new ids, base ids) of the ``rows`` that overlap the base vocabulary under rule ``mode``."""
    if mode not in OVERLAPS:
        raise VocabswapError(f"unknown overlap mode {mode!r}; use {' or '.join(OVERLAPS)}")
    return OVERLAPS[mode](ctx, rows)
