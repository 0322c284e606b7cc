"""``initialise``: base model + new tokenizer + method -> ready-to-train HF directory + init_report.json."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vocabswap import __version__, aux_embeddings, surgery
from vocabswap.atomic import atomic_dir, write_json
from vocabswap.errors import VocabswapError
from vocabswap.modeldir import copy_tokenizer, load_tokenizer
from vocabswap.reinit.core import SPECIAL_ROLES, Context, Rows
from vocabswap.reinit.focus import Focus, FocusOptions
from vocabswap.reinit.methods import MethodOptions, Recipe, build_recipe

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)
REPORT_NAME = "init_report.json"


def special_map(new_tok: PreTrainedTokenizerBase, base_tok: PreTrainedTokenizerBase) -> dict[int, int]:
    """New special id -> base id of the same role (bos, pad, eos, unk, mask ...), then by equal string."""
    mapping: dict[int, int] = {}
    for role in SPECIAL_ROLES:
        new_id, base_id = getattr(new_tok, f"{role}_id", None), getattr(base_tok, f"{role}_id", None)
        if new_id is not None and base_id is not None:
            mapping.setdefault(int(new_id), int(base_id))
    base_vocab = base_tok.get_vocab()
    for token, new_id in zip(new_tok.all_special_tokens, new_tok.all_special_ids, strict=True):
        if new_id not in mapping and token in base_vocab:
            mapping[int(new_id)] = int(base_vocab[token])
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
    n_base = len(base_tok)
    emb, bias = surgery.base_rows(model, n_base)
    base_special = sorted({int(i) for i in base_tok.all_special_ids if 0 <= i < n_base})
    return Context(
        base_emb=emb,
        base_bias=bias,
        base_pieces=base_tok.convert_ids_to_tokens(list(range(n_base))),
        new_pieces=new_tok.convert_ids_to_tokens(list(range(len(new_tok)))),
        special_map=special_map(new_tok, base_tok),
        base_special_ids=np.asarray(base_special, dtype=np.int64),
        base_tokenizer=base_tok,
        new_tokenizer=new_tok,
        aux_corpus=Path(aux_corpus) if aux_corpus is not None else None,
        fasttext_model=Path(fasttext_model) if fasttext_model is not None else None,
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
) -> dict[str, Any]:
    """Write ``out``: the base model with the new tokenizer's vocabulary re-initialised by ``method``.

    ``out`` is an HF directory that AutoModelForMaskedLM and AutoTokenizer load with no other input
    (tokenizer ids == embedding rows) plus ``init_report.json``; it is written atomically, so on any error
    nothing is left at ``out``. Returns the report.
    """
    t0 = time.perf_counter()
    recipe = build_recipe(
        method,
        paper_compat=paper_compat,
        options=MethodOptions(focus=focus_options or FocusOptions(), seed=seed),
    )
    tokenizer_dir = Path(tokenizer_dir)
    new_tok = load_tokenizer(tokenizer_dir, xlmr_ids=True)
    if aux_corpus is not None:
        aux_embeddings.check_corpus(aux_corpus)
    if isinstance(recipe.filler, Focus) and aux_corpus is None and fasttext_model is None:
        raise VocabswapError(
            f"method {recipe.name} needs --aux-corpus (target-language text) or --fasttext-model"
        )
    model, base_tok = surgery.load_base(base_dir)
    ctx = make_context(model, base_tok, new_tok, aux_corpus=aux_corpus, fasttext_model=fasttext_model)
    result = compute(ctx, recipe, seed=seed, requested=method)
    surgery.install(model, result.rows.emb, result.bias, new_tok)
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
