"""The row-filling parts that methods are composed of (langsfer-style: a method is a composition).

Every base filler has ``fill(ctx, rows, targets, rng)``: fill the rows ``targets`` of ``rows`` (and their
MLM bias, by the same rule) and record how each was filled. Bias rule: a copied row keeps its base bias;
a row sampled for a category gets the mean bias of that category's base rows; a row built from base rows
(FOCUS, FVT) gets the same combination of their biases; rows drawn from N(0, 1) or the whole-matrix
Normal get the mean bias of all ordinary base rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vocabswap import unicode_scripts
from vocabswap.reinit.core import Context, Rows, column_mean_std

WORD_START = unicode_scripts.WORD_START


def copy_specials(ctx: Context, rows: Rows) -> None:
    """Copy each special token's row (<s>, <pad>, </s>, <unk>, <mask>) from the base special of its role."""
    if ctx.special_map:
        new_ids = np.fromiter(ctx.special_map.keys(), dtype=np.int64)
        base_ids = np.fromiter(ctx.special_map.values(), dtype=np.int64)
        rows.copy_from_base(ctx, new_ids, base_ids, "special")


@dataclass(frozen=True)
class StandardNormal:
    """RANDOM: i.i.d. N(0, 1) per entry, the paper's scale."""

    name: str = "random"

    def fill(self, ctx: Context, rows: Rows, targets: np.ndarray, rng: np.random.Generator) -> None:
        sample = rng.standard_normal((len(targets), ctx.hidden), dtype=np.float32)
        rows.set(targets, sample, ctx.whole_stats[2], "random")


@dataclass(frozen=True)
class MatrixNormal:
    """MEAN: N(mu, sigma) per dimension, with mu and sigma of the whole base matrix (ordinary rows)."""

    name: str = "mean"
    how: str = "mean"

    def fill(self, ctx: Context, rows: Rows, targets: np.ndarray, rng: np.random.Generator) -> None:
        mean, std, bias = ctx.whole_stats
        sample = rng.standard_normal((len(targets), ctx.hidden), dtype=np.float32)
        rows.set(targets, mean + std * sample, bias, self.how)


FALLBACK = MatrixNormal(name="fallback", how="fallback")


def category_stats(
    emb: np.ndarray,
    codes: np.ndarray,
    bias: np.ndarray,
    n_codes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per category code: row count, per-dimension mean and unbiased std (float64), and mean bias.

    One vectorised pass per category present (a vocabulary has tens of categories, not thousands);
    categories with fewer than two rows get NaN std.
    """
    hidden = emb.shape[1]
    count = np.bincount(codes, minlength=n_codes).astype(np.int64)
    mean = np.full((n_codes, hidden), np.nan)
    std = np.full((n_codes, hidden), np.nan)
    bias_mean = np.full(n_codes, np.nan)
    for code in np.flatnonzero(count):
        members = codes == code
        mean[code], std[code] = column_mean_std(emb[members])
        bias_mean[code] = bias[members].mean(dtype=np.float64)
    std[count < 2] = np.nan
    return count, mean, std, bias_mean


@dataclass(frozen=True)
class CategoryNormal:
    """SCRIPT (``position=False``) and SCRIPT+POSN (``position=True``): sample every target from the
    diagonal Normal of its category's base rows (SPEC §3); categories with fewer than two base rows
    fall back to the whole-matrix Normal (recorded as ``fallback``). ``absent_standard_normal``
    (paper_compat) keeps N(0, 1) rows, recorded as ``random``, for categories with no base row at all:
    the paper code leaves them as its untouched ``nn.Embedding`` init. ``unicode_version``: the Scripts.txt
    the categories come from (paper_compat: the authors' 15.0)."""

    position: bool = False
    name: str = "script"
    overwrites_specials_in_paper_compat: bool = True  # the paper's code sampled the special rows too
    absent_standard_normal: bool = False
    unicode_version: str = unicode_scripts.UNICODE_VERSION

    def fill(self, ctx: Context, rows: Rows, targets: np.ndarray, rng: np.random.Generator) -> None:
        base_rows = ctx.ordinary_base_rows
        base_codes, labels = unicode_scripts.categorise(
            [ctx.base_pieces[i] for i in base_rows], position=self.position, version=self.unicode_version
        )
        new_codes, _ = unicode_scripts.categorise(
            [ctx.new_pieces[i] for i in targets], position=self.position, version=self.unicode_version
        )
        wanted = np.isin(base_codes, np.unique(new_codes))
        count, mean, std, bias_mean = category_stats(
            ctx.base_emb[base_rows[wanted]], base_codes[wanted], ctx.base_bias[base_rows[wanted]], len(labels)
        )
        known = count[new_codes] >= 2
        sample = rng.standard_normal((len(targets), ctx.hidden), dtype=np.float32)
        good = targets[known]
        codes = new_codes[known]
        rows.set(
            good,
            (mean[codes] + std[codes] * sample[known]).astype(np.float32),
            bias_mean[codes].astype(np.float32),
            "script",
        )
        w_mean, w_std, w_bias = ctx.whole_stats
        absent = (count[new_codes] == 0) & self.absent_standard_normal
        rows.set(targets[absent], sample[absent], w_bias, "random")
        few = ~known & ~absent
        rows.set(targets[few], w_mean + w_std * sample[few], w_bias, "fallback")
        rows.category[targets] = new_codes
        rows.category_labels = labels
        rows.report["category_base_rows"] = {labels[c]: int(count[c]) for c in np.unique(new_codes)}
        rows.report["fallback_categories"] = sorted({labels[c] for c in new_codes[~known]})
        rows.report["unicode_version"] = self.unicode_version


@dataclass(frozen=True)
class FVT:
    """FVT (fast vocabulary transfer): a new token is the mean of the base rows of the pieces that the
    base tokenizer splits it into (:meth:`Family.split_in_base`: its text for SentencePiece, the
    byte-level piece itself for byte-level BPE). A word-medial piece's text gets no word boundary: a
    lone ``▁`` piece the base tokenizer puts in front is dropped, and a ``▁x`` first piece becomes ``x``
    when the base vocabulary has ``x``. ``<unk>`` pieces are ignored; a token with no known piece falls
    back."""

    name: str = "fvt"

    def fill(self, ctx: Context, rows: Rows, targets: np.ndarray, rng: np.random.Generator) -> None:
        if ctx.base_tokenizer is None:
            raise ValueError("FVT needs the base tokenizer in the context")
        tok = ctx.base_tokenizer
        spelt = ctx.new_spelt
        encoded = ctx.family.split_in_base(tok, [spelt[i] for i in targets])
        index = ctx.base_index
        unk = tok.unk_token_id
        lone = index.get(WORD_START)
        cols: list[list[int]] = []
        for piece, ids in zip((ctx.new_pieces[i] for i in targets), encoded, strict=True):
            if not piece.startswith(WORD_START) and ids:
                if ids[0] == lone:
                    ids = ids[1:]
                else:
                    first = ctx.base_pieces[ids[0]]
                    if first.startswith(WORD_START) and first[1:] in index:
                        ids = [index[first[1:]], *ids[1:]]
            cols.append([i for i in ids if i != unk] if unk in ids else ids)
        lengths = np.fromiter((len(c) for c in cols), dtype=np.int64, count=len(cols))
        ok = lengths > 0
        flat = np.fromiter((i for c in cols for i in c), dtype=np.int64, count=int(lengths.sum()))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[ok]
        # mean of each token's base rows: one gather and one segmented sum (no float64 copy of the base)
        sums = np.add.reduceat(ctx.base_emb[flat], starts, axis=0) if len(flat) else np.zeros((0, ctx.hidden))
        bias_sums = np.add.reduceat(ctx.base_bias[flat], starts) if len(flat) else np.zeros(0)
        rows.set(
            targets[ok],
            (sums / lengths[ok, None]).astype(np.float32),
            (bias_sums / lengths[ok]).astype(np.float32),
            "fvt",
        )
        FALLBACK.fill(ctx, rows, targets[~ok], rng)
        rows.report["fvt_mean_pieces"] = float(lengths[ok].mean()) if ok.any() else 0.0


def unfilled(rows: Rows) -> np.ndarray:
    return np.flatnonzero(rows.how == -1)
