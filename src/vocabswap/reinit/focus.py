"""FOCUS (Dobler & de Melo, 2023), vectorised, with deepfocus 1.0.1's semantics as the default.

1. Overlap (``overlap``, shared with IDENT): new tokens whose piece is in the base vocabulary (exact
   string, ``▁`` included; or the paper-era ``fuzzy`` match: case-insensitive, ``▁`` kept, an exact match
   preferred) are copied. The special tokens are copied too (deepfocus matches them by string; here by
   role).
2. Anchors: the copied tokens that have an auxiliary fastText vector (deepfocus prunes the others).
3. Every other new token with a fastText vector is the sparsemax-weighted sum of the anchors' base rows,
   weights = sparsemax over its cosine similarities to the anchors (a convex combination; ``weights``
   holds the weighting parts).
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

from vocabswap import aux_embeddings
from vocabswap.aux_embeddings import FastTextOptions
from vocabswap.errors import VocabswapError
from vocabswap.reinit.core import Context, Rows
from vocabswap.reinit.overlap import overlap
from vocabswap.reinit.parts import FALLBACK
from vocabswap.reinit.weights import Sparsemax, similarity_weights

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
    fastText ``dim``, ``epochs``, ``min_count`` and, optionally, ``lr``)."""
    fasttext = FastTextOptions(
        dim=settings["dim"],
        epochs=settings["epochs"],
        min_count=settings["min_count"],
        lr=settings.get("lr", FastTextOptions.lr),
    )
    if settings["mode"] == "paper":
        return FocusOptions(overlap="fuzzy", fasttext=fasttext, subword_vectors=True)
    if settings["mode"] != "deepfocus":
        raise VocabswapError(
            f"init.focus.mode: unknown FOCUS mode {settings['mode']!r}; use paper or deepfocus"
        )
    return FocusOptions(fasttext=fasttext)


def fasttext_for(ctx: Context, options: FastTextOptions, seed: int) -> tuple[Any, dict[str, Any]]:
    """The auxiliary fastText model: the given ``.bin`` file, else one trained on the auxiliary corpus."""
    if ctx.fasttext_model is not None:
        model = aux_embeddings.load_fasttext(ctx.fasttext_model)
        info = {
            "source": str(ctx.fasttext_model),
            "dim": model.get_dimension(),
            "lr_trained": aux_embeddings.trained_lr(model),
            "seconds": 0.0,
        }
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
        "lr_trained": aux_embeddings.trained_lr(model),  # below options.lr where fastText diverged
        "seed": seed,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return model, info


@dataclass(frozen=True)
class Focus:
    """The FOCUS filler, a composition of an overlap rule (``options.overlap``, see ``overlap``), auxiliary
    fastText vectors and FOCUS's sparsemax weighting. It always copies the
    overlap (FOCUS builds new tokens from it), so ``focus`` and ``focus+ident`` fill the same rows when the
    overlap is exact."""

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
        vectors, has, randomised = self._vectors(model, ctx, rng)
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
        weighting = Sparsemax(k=self.options.topk)
        weights = similarity_weights(
            vectors[with_vec], vectors[anchor_new], weighting, batch_rows=self.options.batch_rows
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

    def _vectors(
        self, model: Any, ctx: Context, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Each new token's fastText vector, which tokens have one, and the zero vectors randomised."""
        if self.options.subword_vectors:
            vectors, randomised = aux_embeddings.subword_token_vectors(model, ctx.new_spelt, rng)
            return vectors, np.ones(ctx.vocab_size, dtype=bool), randomised
        vectors, has = aux_embeddings.token_vectors(model, ctx.new_spelt)
        return vectors, has, 0

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
