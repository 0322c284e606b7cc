"""The data every re-initialisation part reads (:class:`Context`) and the rows they fill (:class:`Rows`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vocabswap.errors import VocabswapError
from vocabswap.family import ENCODER, Family

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# How a row was filled; the order is the order of `counts` in init_report.json.
SOURCES = ("special", "ident", "script", "random", "mean", "focus", "fvt", "fallback")
UNSET = -1


def source_code(name: str) -> int:
    return SOURCES.index(name)


def column_mean_std(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and unbiased std of a float32 matrix, accumulated in float64 (two passes; much
    faster than ``np.std(dtype=float64)``)."""
    mean = np.add.reduce(x, axis=0, dtype=np.float64) / len(x)
    dev = x - mean.astype(np.float32)
    ssq = np.einsum("ij,ij->j", dev, dev, dtype=np.float64)
    return mean, np.sqrt(ssq / max(len(x) - 1, 1))


@dataclass
class Context:
    """The base model's rows and both vocabularies: everything a part needs, read-only.

    ``base_emb`` holds one row per base-tokenizer id (rows past the tokenizer, if any, are dropped),
    ``base_bias`` the MLM output bias of those rows (zeros for a head without one). ``base_pieces`` and
    ``new_pieces`` are the pieces as ``family`` compares them (:meth:`Family.canonical_pieces`: the
    decoder's canonical forms), ``new_tokens`` the new pieces as the new tokenizer spells them (None: the
    same as ``new_pieces``), which FVT splits and fastText was trained on.
    """

    base_emb: np.ndarray
    base_bias: np.ndarray
    base_pieces: list[str]
    new_pieces: list[str]
    special_map: dict[int, int]  # new special id -> base id of the same role
    base_special_ids: np.ndarray
    base_tokenizer: PreTrainedTokenizerBase | None = None
    new_tokenizer: PreTrainedTokenizerBase | None = None
    aux_corpus: Path | None = None
    fasttext_model: Path | None = None
    family: Family = ENCODER
    new_tokens: list[str] | None = None

    @property
    def new_spelt(self) -> list[str]:
        """The new pieces as the new tokenizer spells them."""
        return self.new_pieces if self.new_tokens is None else self.new_tokens

    @property
    def hidden(self) -> int:
        return int(self.base_emb.shape[1])

    @property
    def vocab_size(self) -> int:
        return len(self.new_pieces)

    @cached_property
    def base_index(self) -> dict[str, int]:
        """Base piece -> base id (the first id of a piece, if a vocabulary repeats one)."""
        index: dict[str, int] = {}
        for i, piece in enumerate(self.base_pieces):
            index.setdefault(piece, i)
        return index

    @cached_property
    def ordinary_base_rows(self) -> np.ndarray:
        """Base ids that are not special tokens: the rows whose statistics the methods use."""
        keep = np.ones(len(self.base_pieces), dtype=bool)
        keep[self.base_special_ids] = False
        return np.flatnonzero(keep)

    @cached_property
    def whole_stats(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Per-dimension mean and unbiased std of the ordinary base rows, and their mean bias."""
        rows = self.base_emb[self.ordinary_base_rows]
        mean, std = column_mean_std(rows)
        bias = float(self.base_bias[self.ordinary_base_rows].mean(dtype=np.float64))
        return mean.astype(np.float32), std.astype(np.float32), bias


@dataclass
class Rows:
    """The new embedding matrix under construction, with how and from what every row was filled."""

    emb: np.ndarray
    bias: np.ndarray
    how: np.ndarray  # index into SOURCES, UNSET until filled
    base_id: np.ndarray  # the copied base row, -1 unless copied
    category: np.ndarray  # category code for rows sampled by category, -1 otherwise
    category_labels: list[str] = field(default_factory=list)
    focus: dict[str, Any] = field(default_factory=dict)  # FOCUS weights and diagnostics
    report: dict[str, Any] = field(default_factory=dict)  # extras for init_report.json

    @classmethod
    def empty(cls, vocab_size: int, hidden: int) -> Rows:
        return cls(
            emb=np.zeros((vocab_size, hidden), dtype=np.float32),
            bias=np.zeros(vocab_size, dtype=np.float32),
            how=np.full(vocab_size, UNSET, dtype=np.int8),
            base_id=np.full(vocab_size, -1, dtype=np.int64),
            category=np.full(vocab_size, -1, dtype=np.int32),
        )

    def copy_from_base(self, ctx: Context, new_ids: np.ndarray, base_ids: np.ndarray, how: str) -> None:
        """Copy base rows (and their bias) into ``new_ids``."""
        self.emb[new_ids] = ctx.base_emb[base_ids]
        self.bias[new_ids] = ctx.base_bias[base_ids]
        self.how[new_ids] = source_code(how)
        self.base_id[new_ids] = base_ids
        self.category[new_ids] = -1

    def set(self, rows: np.ndarray, emb: np.ndarray, bias: np.ndarray | float, how: str) -> None:
        """Fill ``rows`` with computed vectors (not copies)."""
        self.emb[rows] = emb
        self.bias[rows] = bias
        self.how[rows] = source_code(how)
        self.base_id[rows] = -1

    def counts(self) -> dict[str, int]:
        if (self.how == UNSET).any():
            raise VocabswapError(f"internal error: {(self.how == UNSET).sum()} rows were left unfilled")
        tally = np.bincount(self.how.astype(np.int64), minlength=len(SOURCES))
        return {name: int(tally[i]) for i, name in enumerate(SOURCES)}

    def copied_pairs(self, how: str) -> list[list[int]]:
        rows = np.flatnonzero(self.how == source_code(how))
        return [[int(r), int(self.base_id[r])] for r in rows]

    def category_counts(self) -> dict[str, int]:
        rows = self.category >= 0
        codes, counts = np.unique(self.category[rows], return_counts=True)
        return {self.category_labels[c]: int(n) for c, n in zip(codes, counts, strict=True)}
