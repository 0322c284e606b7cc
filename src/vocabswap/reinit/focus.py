"""FOCUS (Dobler & de Melo, 2023), vectorised, with deepfocus 1.0.1's semantics as the default.

1. Overlap: new tokens whose piece is in the base vocabulary (exact string, ``▁`` included; or the
   paper-era ``fuzzy`` match: case-insensitive, ``▁`` kept, an exact match preferred) are copied. The
   special tokens are copied too (deepfocus matches them by string; here by role).
2. Anchors: the copied tokens that have an auxiliary fastText vector (deepfocus prunes the others).
3. Every other new token with a fastText vector is the sparsemax-weighted sum of the anchors' base rows,
   weights = sparsemax over its cosine similarities to the anchors (a convex combination).
4. New tokens without a vector (below fastText's min count) are drawn from N(mu, sigma) of the base
   matrix, recorded as ``fallback`` and counted as ``no_vector`` in the report.

:meth:`FocusOptions.paper` is FOCUS as the paper ran it (the ``focus`` package of May 2023): fastText CBOW,
dim 300, 3 epochs, min count 1; the ``fuzzy`` overlap; and ``subword_vectors``: every token gets a fastText
vector, out-of-dictionary ones from their character n-grams (``get_word_vector`` of the ``.bin`` model; an
all-zero vector is replaced by a standard-normal one, as FOCUS did), so every overlapping token is an
anchor and every other new token is built from the anchors: no fallback.

Similarities are one matrix product per batch of rows, the sparsemax is batched (``sparsemax_topk``)
and the weighted sums are one sparse-dense product: no Python loop over tokens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch

from vocabswap import aux_embeddings
from vocabswap.aux_embeddings import FastTextOptions
from vocabswap.errors import VocabswapError
from vocabswap.reinit.core import Context, Rows
from vocabswap.reinit.parts import FALLBACK
from vocabswap.reinit.sparsemax import sparsemax_topk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FocusOptions:
    """FOCUS settings; defaults are deepfocus's, :meth:`paper` the version the paper used."""

    overlap: Literal["exact", "fuzzy"] = "exact"
    fasttext: FastTextOptions = field(default_factory=FastTextOptions)
    subword_vectors: bool = False  # every token gets a vector (n-grams for OOV): FOCUS of May 2023
    batch_rows: int = 4096  # rows of the similarity matrix computed at once (memory: batch x anchors)
    topk: int = 64  # first guess at the sparsemax support size; grown automatically when too small

    @classmethod
    def paper(cls) -> FocusOptions:
        """The paper's FOCUS (May 2023): case-insensitive overlap keeping ``▁``, fastText dim 300, CBOW,
        3 epochs, min count 1, n-gram vectors for out-of-dictionary tokens, every overlap token an anchor."""
        return cls(overlap="fuzzy", fasttext=FastTextOptions.paper(), subword_vectors=True)

    @property
    def mode(self) -> str:
        return "paper" if self.subword_vectors else "deepfocus"


def focus_options(settings: Mapping[str, Any]) -> FocusOptions:
    """FocusOptions from a workflow config's ``init.focus`` section (``mode``: paper | deepfocus, and the
    fastText ``dim``, ``epochs``, ``min_count``)."""
    fasttext = FastTextOptions(
        dim=settings["dim"], epochs=settings["epochs"], min_count=settings["min_count"]
    )
    if settings["mode"] == "paper":
        return FocusOptions(overlap="fuzzy", fasttext=fasttext, subword_vectors=True)
    if settings["mode"] != "deepfocus":
        raise VocabswapError(
            f"init.focus.mode: unknown FOCUS mode {settings['mode']!r}; use paper or deepfocus"
        )
    return FocusOptions(fasttext=fasttext)


def overlap(ctx: Context, targets: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(new ids, base ids) of the ``targets`` that overlap the base vocabulary under ``mode``."""
    if mode == "exact":
        return ctx.exact_overlap(targets)
    if mode != "fuzzy":
        raise VocabswapError(f"unknown FOCUS overlap mode {mode!r}; use exact or fuzzy")
    # FOCUS (May 2023) fuzzy view: key = the lower-cased piece, ``▁`` kept; among base pieces with the
    # same key the greatest string wins (FOCUS builds its lower-case dict from the sorted vocabulary, so
    # the last one overwrites), e.g. "▁ab" over "▁Ab" and "▁AB".
    fuzzy: dict[str, int] = {}
    for i in ctx.ordinary_base_rows:
        piece = ctx.base_pieces[i]
        key = piece.lower()
        if key not in fuzzy or piece > ctx.base_pieces[fuzzy[key]]:
            fuzzy[key] = int(i)
    exact = ctx.base_index
    pairs = []
    for r in targets:
        piece = ctx.new_pieces[r]
        base = exact.get(piece)
        if base is None:
            base = fuzzy.get(piece.lower())
        if base is not None:
            pairs.append((int(r), base))
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new_ids, base_ids = zip(*pairs, strict=True)
    return np.asarray(new_ids, dtype=np.int64), np.asarray(base_ids, dtype=np.int64)


def focus_weights(
    new_vectors: np.ndarray, anchor_vectors: np.ndarray, *, batch_rows: int = 4096, topk: int = 64
) -> sp.csr_matrix:
    """Sparse (new x anchors) matrix of FOCUS weights: sparsemax over cosine similarities, per row."""
    new_t = torch.nn.functional.normalize(torch.from_numpy(new_vectors), dim=1)
    anchors_t = torch.nn.functional.normalize(torch.from_numpy(anchor_vectors), dim=1)
    data, indices, counts = [], [], []
    for start in range(0, len(new_t), batch_rows):
        sims = new_t[start : start + batch_rows] @ anchors_t.T
        weights, cols = sparsemax_topk(sims, k=topk)
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


def fasttext_for(ctx: Context, options: FastTextOptions, seed: int) -> tuple[Any, dict[str, Any]]:
    """The auxiliary fastText model: the given ``.bin`` file, else one trained on the auxiliary corpus."""
    if ctx.fasttext_model is not None:
        model = aux_embeddings.load_fasttext(ctx.fasttext_model)
        info = {"source": str(ctx.fasttext_model), "dim": model.get_dimension(), "seconds": 0.0}
        return model, info
    if ctx.aux_corpus is None:
        raise VocabswapError(
            "FOCUS needs an auxiliary corpus (--aux-corpus) or a fastText model "
            "(--fasttext-model) for the new vocabulary"
        )
    if ctx.new_tokenizer is None:
        raise ValueError("training fastText needs the new tokenizer in the context")
    t0 = time.perf_counter()
    model = aux_embeddings.train_fasttext(ctx.aux_corpus, ctx.new_tokenizer, options=options, seed=seed)
    info = {
        "source": "trained",
        "corpus": str(ctx.aux_corpus),
        **options.as_dict(),
        "seed": seed,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return model, info


@dataclass(frozen=True)
class Focus:
    """The FOCUS filler; it always copies the overlap (FOCUS builds new tokens from it), so ``focus``
    and ``focus+ident`` fill the same rows when the overlap is exact."""

    options: FocusOptions = field(default_factory=FocusOptions)
    name: str = "focus"
    seed: int = 1  # fastText's seed when the model is trained here

    def fill(self, ctx: Context, rows: Rows, targets: np.ndarray, rng: np.random.Generator) -> None:
        model, ft_info = fasttext_for(ctx, self.options.fasttext, self.seed)
        t0 = time.perf_counter()
        # Anchor candidates: the specials and every overlapping token of the whole vocabulary (tokens
        # that IDENT copies later are anchors too).
        special_new = np.fromiter(ctx.special_map.keys(), dtype=np.int64, count=len(ctx.special_map))
        special_base = np.fromiter(ctx.special_map.values(), dtype=np.int64, count=len(ctx.special_map))
        ordinary = np.setdiff1d(np.arange(ctx.vocab_size), special_new)
        ov_new, ov_base = overlap(ctx, ordinary, self.options.overlap)
        copy = np.isin(ov_new, targets)
        rows.copy_from_base(ctx, ov_new[copy], ov_base[copy], "ident")

        cand_new = np.concatenate([special_new, ov_new])
        cand_base = np.concatenate([special_base, ov_base])
        build = np.setdiff1d(targets, ov_new)
        if self.options.subword_vectors:
            vectors, randomised = aux_embeddings.subword_token_vectors(model, ctx.new_pieces, rng)
            has = np.ones(ctx.vocab_size, dtype=bool)
        else:
            vectors, has = aux_embeddings.token_vectors(model, ctx.new_pieces)
            randomised = 0
        anchor = has[cand_new]
        anchor_new, anchor_base = cand_new[anchor], cand_base[anchor]
        if len(anchor_new) == 0:
            raise VocabswapError(
                "FOCUS found no anchor: none of the tokens shared with the base vocabulary has a fastText "
                f"vector (min count {self.options.fasttext.min_count}); give more auxiliary text or a "
                "lower min count"
            )
        with_vec = build[has[build]]
        without = build[~has[build]]
        weights = focus_weights(
            vectors[with_vec], vectors[anchor_new], batch_rows=self.options.batch_rows, topk=self.options.topk
        )
        rows.set(
            with_vec,
            np.asarray(weights @ ctx.base_emb[anchor_base], dtype=np.float32),
            np.asarray(weights @ ctx.base_bias[anchor_base], dtype=np.float32),
            "focus",
        )
        FALLBACK.fill(ctx, rows, without, rng)
        rows.focus = {
            "rows": with_vec,
            "weights": weights,
            "anchor_new": anchor_new,
            "anchor_base": anchor_base,
        }
        rows.report["focus"] = self._report(ov_new, cand_new, anchor_new, with_vec, without, weights)
        rows.report["focus"].update(
            zero_vectors_randomised=randomised,
            fasttext=ft_info,
            seconds_without_fasttext=round(time.perf_counter() - t0, 3),
        )
        log.info(
            "FOCUS (%s): %d anchors, %d tokens built from anchors, %d without a fastText vector",
            self.options.mode,
            len(anchor_new),
            len(with_vec),
            len(without),
        )

    def _report(
        self,
        ov_new: np.ndarray,
        cand_new: np.ndarray,
        anchor_new: np.ndarray,
        with_vec: np.ndarray,
        without: np.ndarray,
        weights: sp.csr_matrix,
    ) -> dict[str, Any]:
        support = np.diff(weights.indptr)
        return {
            "mode": self.options.mode,
            "overlap": self.options.overlap,
            "overlap_tokens": len(ov_new),
            "anchors": len(anchor_new),
            "pruned_overlap_without_vector": int(len(cand_new) - len(anchor_new)),
            "built_from_anchors": len(with_vec),
            "no_vector": len(without),
            "support_mean": float(support.mean()) if len(support) else 0.0,
            "support_max": int(support.max()) if len(support) else 0,
        }
