"""``initialise``: base model + new tokenizer + method -> ready-to-train HF directory + init_report.json."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vocabswap import __version__, aux_embeddings, surgery
from vocabswap.atomic import atomic_dir, write_json
from vocabswap.errors import VocabswapError
from vocabswap.family import ENCODER, Family, family_of_config, special_tokens, tokenizer_kind
from vocabswap.modeldir import copy_tokenizer
from vocabswap.reinit.core import Context, Rows
from vocabswap.reinit.focus import Focus, FocusOptions
from vocabswap.reinit.methods import MethodOptions, Recipe, build_recipe
from vocabswap.tokenizer_like import load_new_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)
REPORT_NAME = "init_report.json"


def special_map(
    new_tok: PreTrainedTokenizerBase, base_tok: PreTrainedTokenizerBase, family: Family = ENCODER
) -> dict[int, int]:
    """New special id -> base id of the same role (the family's roles: bos, pad, eos, unk, mask ...),
    then of the same string (every special token of the new tokenizer that the base has)."""
    mapping: dict[int, int] = {}
    base_roles = family.special_ids(base_tok)
    for role, new_id in family.special_ids(new_tok).items():
        if role in base_roles:
            mapping.setdefault(new_id, base_roles[role])
    base_vocab = base_tok.get_vocab()
    for new_id, token in special_tokens(new_tok).items():
        if new_id not in mapping and token in base_vocab:
            mapping[new_id] = int(base_vocab[token])
    return mapping


def make_context(
    model: PreTrainedModel,
    base_tok: PreTrainedTokenizerBase,
    new_tok: PreTrainedTokenizerBase,
    *,
    aux_corpus: str | Path | None = None,
    fasttext_model: str | Path | None = None,
) -> Context:
    """Everything the parts read, from a loaded base model and both tokenizers."""
    family = family_of_config(model.config)
    n_base = len(base_tok)
    emb, bias = surgery.base_rows(model, n_base)
    base_special = sorted(i for i in special_tokens(base_tok) if 0 <= i < n_base)
    new_tokens = new_tok.convert_ids_to_tokens(list(range(len(new_tok))))
    new_special = [i for i in special_tokens(new_tok) if 0 <= i < len(new_tok)]
    new_pieces = family.canonical_pieces(new_tokens, keep=new_special)
    return Context(
        base_emb=emb,
        base_bias=bias,
        base_pieces=family.canonical_pieces(
            base_tok.convert_ids_to_tokens(list(range(n_base))), keep=base_special
        ),
        new_pieces=new_pieces,
        special_map=special_map(new_tok, base_tok, family),
        base_special_ids=np.asarray(base_special, dtype=np.int64),
        base_tokenizer=base_tok,
        new_tokenizer=new_tok,
        aux_corpus=Path(aux_corpus) if aux_corpus is not None else None,
        fasttext_model=Path(fasttext_model) if fasttext_model is not None else None,
        family=family,
        new_tokens=None if new_tokens == new_pieces else new_tokens,
    )


@dataclass
class Result:
    """What :func:`compute` returns: the filled rows, the bias installed, and the report."""

    rows: Rows
    bias: np.ndarray
    report: dict[str, Any]


def compute(ctx: Context, recipe: Recipe, *, seed: int, requested: str | None = None) -> Result:
    """Run ``recipe`` on ``ctx`` with a generator seeded by ``seed``; build the report (without timing)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    rows = recipe.apply(ctx, rng)
    counts = rows.counts()
    bias = surgery.truncated_bias(ctx.base_bias, ctx.vocab_size) if recipe.paper_compat else rows.bias
    report: dict[str, Any] = {
        "method": recipe.name,
        "seed": seed,
        "vocab_size": ctx.vocab_size,
        "base_vocab_size": len(ctx.base_pieces),
        "counts": counts,
        "source": {"ident": rows.copied_pairs("ident"), "special": rows.copied_pairs("special")},
        "categories": rows.category_counts(),
    }
    if requested is not None and requested != recipe.name:
        report["method_requested"] = requested
    report["paper_compat"] = recipe.paper_compat
    report["bias"] = (
        "truncated: first V_new entries of the base bias (paper_compat)"
        if recipe.paper_compat
        else "remapped with the row rule"
    )
    report.update({k: v for k, v in rows.report.items() if k != "focus"})
    if "focus" in rows.report:
        report["focus"] = rows.report["focus"]
        report["no_vector"] = rows.report["focus"]["no_vector"]
        report["fasttext"] = rows.report["focus"]["fasttext"]
    return Result(rows=rows, bias=bias, report=report)


def output_rows(model: PreTrainedModel, ctx: Context, recipe: Recipe, *, seed: int) -> np.ndarray | None:
    """An untied decoder's new output rows: the method applied to the output matrix (its rows in place of
    the input rows; same seed, so the same rows are copied, sampled or built); None for a tied model."""
    if ctx.family.is_tied(model.config):
        return None
    out_emb, out_bias = surgery.base_rows(model, len(ctx.base_pieces), output=True)
    out_ctx = dataclasses.replace(ctx, base_emb=out_emb, base_bias=out_bias)
    return recipe.apply(out_ctx, np.random.Generator(np.random.PCG64(seed))).emb


def new_rows(ctx: Context) -> np.ndarray:
    """Ids of the new tokens that were not in the base: neither special nor a base piece (canonical
    forms); the same rows whatever the method."""
    specials = np.fromiter(ctx.special_map, dtype=np.int64, count=len(ctx.special_map))
    fresh = [i for i, piece in enumerate(ctx.new_pieces) if piece not in ctx.base_index]
    return np.setdiff1d(np.asarray(fresh, dtype=np.int64), specials)


def decoder_notes(ctx: Context, report: dict[str, Any], out_emb: np.ndarray | None) -> dict[str, Any]:
    """What a decoder's report says besides the encoder's: how the output rows were made, and the scale
    of RANDOM's rows beside the base's (N(0, 1), the paper's, is far wider than a decoder's rows)."""
    notes: dict[str, Any] = {
        "output_rows": "tied to the input rows"
        if out_emb is None
        else "the method applied to the output matrix"
    }
    if report["counts"]["random"]:
        notes["random_rows"] = {
            "std": 1.0,
            "base_row_std": round(float(ctx.whole_stats[1].mean()), 6),
            "note": "RANDOM draws N(0, 1) per entry, the paper's scale, whatever the base's",
        }
    return notes


def step0_scores(
    model: PreTrainedModel,
    base_tok: PreTrainedTokenizerBase,
    heldout: Sequence[str],
    ctx: Context,
    rows: Rows,
    out_emb: np.ndarray | None,
) -> Callable[[PreTrainedModel, PreTrainedTokenizerBase], dict[str, Any]]:
    """Measure a decoder on held-out text at step 0: the new rows' probability mass on the base's own
    text (now, on the base model), and bits per byte (on the re-initialised model, by the returned call)."""
    from vocabswap.causal_lm import base_hidden, bits_per_byte, new_row_mass

    hidden, targets = base_hidden(model, base_tok, heldout)
    base_out = surgery.base_rows(model, len(base_tok), output=True)[0]
    fresh = new_rows(ctx)
    mass = new_row_mass(hidden, targets, base_out, (rows.emb if out_emb is None else out_emb)[fresh])

    def finish(new_model: PreTrainedModel, new_tok: PreTrainedTokenizerBase) -> dict[str, Any]:
        return {"lines": len(heldout), **bits_per_byte(new_model, new_tok, heldout), **mass}

    return finish


def check_kind(family: Family, tokenizer_dir: Path) -> None:
    """The new tokenizer must be of the base family's kind (``train-tokenizer --like BASE`` makes one)."""
    kind = tokenizer_kind(tokenizer_dir) if (tokenizer_dir / "tokenizer.json").is_file() else None
    if kind is not None and kind != family.tokenizer_kind:
        raise VocabswapError(
            f"{tokenizer_dir}: a {kind} tokenizer, but the base is a {family.description} whose "
            f"tokenizers are {family.tokenizer_kind}s (make one with `vocabswap train-tokenizer --like BASE`)"
        )


def _check_aux_inputs(
    recipe: Recipe, aux_corpus: str | Path | None, fasttext_model: str | Path | None
) -> None:
    """FOCUS's auxiliary text (checked readable) or fastText model: one of them, where the method needs it."""
    if aux_corpus is not None:
        aux_embeddings.check_corpus(aux_corpus)
    if isinstance(recipe.filler, Focus) and aux_corpus is None and fasttext_model is None:
        raise VocabswapError(
            f"method {recipe.name} needs --aux-corpus (target-language text) or --fasttext-model"
        )


def initialise(
    base_dir: str | Path,
    tokenizer_dir: str | Path,
    method: str,
    *,
    out: str | Path,
    seed: int = 1,
    aux_corpus: str | Path | None = None,
    fasttext_model: str | Path | None = None,
    paper_compat: bool = False,
    focus_options: FocusOptions | None = None,
    heldout: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Write ``out``: the base model with the new tokenizer's vocabulary re-initialised by ``method``.

    ``out`` is an HF directory that the family's Auto class and AutoTokenizer load with no other input
    (tokenizer ids == embedding rows) plus ``init_report.json``; it is written atomically, so on any error
    nothing is left at ``out``. Returns the report. A decoder with ``heldout`` lines is measured on
    them at step 0 (:func:`step0_scores`; ``step0`` in the report).
    """
    t0 = time.perf_counter()
    recipe = build_recipe(
        method,
        paper_compat=paper_compat,
        options=MethodOptions(focus=focus_options or FocusOptions(), seed=seed),
    )
    tokenizer_dir = Path(tokenizer_dir)
    new_tok = load_new_tokenizer(tokenizer_dir)
    _check_aux_inputs(recipe, aux_corpus, fasttext_model)
    model, base_tok = surgery.load_base(base_dir)
    check_kind(family_of_config(model.config), tokenizer_dir)
    ctx = make_context(model, base_tok, new_tok, aux_corpus=aux_corpus, fasttext_model=fasttext_model)
    result = compute(ctx, recipe, seed=seed, requested=method)
    out_emb = output_rows(model, ctx, recipe, seed=seed)
    measure = None
    if heldout is not None and not ctx.family.output_bias:
        measure = step0_scores(model, base_tok, heldout, ctx, result.rows, out_emb)
    surgery.install(model, result.rows.emb, result.bias, new_tok, output_emb=out_emb)
    if not ctx.family.output_bias:
        result.report.update(decoder_notes(ctx, result.report, out_emb))
    if measure is not None:
        result.report["step0"] = measure(model, new_tok)
    report = {
        **result.report,
        "base": str(base_dir),
        "tokenizer": str(tokenizer_dir),
        "vocabswap_version": __version__,
    }
    out = Path(out)
    with atomic_dir(out) as tmp:
        copy_tokenizer(Path(tokenizer_dir), tmp)
        model.save_pretrained(str(tmp))
        report["seconds"] = round(time.perf_counter() - t0, 3)
        write_json(tmp / REPORT_NAME, report)
    log.info("%s: %s, counts %s", out, recipe.name, report["counts"])
    return report
