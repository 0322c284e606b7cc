"""``vocabswap init``: re-initialise a base model's embeddings for a new vocabulary."""

from __future__ import annotations

import argparse
from pathlib import Path

from vocabswap.cli.options import add_output_options, seed_arg
from vocabswap.registry import method_help  # standard library only: `--help` stays free of numpy/torch


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "init",
        help="re-initialise the embeddings of a base model for a new tokenizer",
        description=(
            "Install the new tokenizer's vocabulary into the base masked LM, its embedding rows filled by "
            "METHOD (specials copied < base filler < ident), the MLM decoder tied and the output bias "
            "remapped with the same row rule. Writes an HF directory (model + tokenizer) and "
            "init_report.json, atomically: on error nothing is left at --out."
        ),
    )
    parser.add_argument("--base", required=True, type=Path, metavar="DIR", help="base model directory")
    parser.add_argument(
        "--tokenizer", required=True, type=Path, metavar="DIR", help="new tokenizer directory"
    )
    parser.add_argument("--method", required=True, metavar="M", help=method_help())
    parser.add_argument(
        "--aux-corpus",
        type=Path,
        metavar="F",
        help="target-language text for FOCUS's auxiliary fastText model",
    )
    parser.add_argument(
        "--fasttext-model",
        type=Path,
        metavar="F",
        help="fastText model (.bin) or its word vectors (.vec, loads fast) trained on the target text "
        "tokenised by the new tokenizer (instead of --aux-corpus)",
    )
    parser.add_argument("--seed", type=seed_arg, default=1, metavar="S", help="random seed (default 1)")
    parser.add_argument(
        "--heldout",
        type=Path,
        metavar="F",
        help="decoders: held-out target text (a line a sentence) to measure at step 0 on: bits per byte "
        "and the new rows' probability mass on the base's own text (`step0` in init_report.json)",
    )
    parser.add_argument(
        "--paper-compat",
        action="store_true",
        help="reproduce the paper's code: truncate the MLM bias; SCRIPT overwrites specials",
    )
    _focus_options(parser)
    add_output_options(parser)
    parser.set_defaults(func=_run)


def _focus_options(parser: argparse.ArgumentParser) -> None:
    focus = parser.add_argument_group("FOCUS (defaults: deepfocus 1.0.1's)")
    focus.add_argument(
        "--focus-paper",
        action="store_true",
        help="the FOCUS version the paper used (May 2023): overlap matched case-insensitively keeping "
        "the word-start marker, fastText CBOW dim 300, 3 epochs, min count 1, every new token's vector "
        "from the fastText .bin (character n-grams for pieces it has no word vector for)",
    )
    focus.add_argument("--focus-overlap", choices=("exact", "fuzzy"), help="overlap rule (default exact)")
    focus.add_argument("--fasttext-dim", type=int, metavar="N", help="fastText dimension (default 100)")
    focus.add_argument("--fasttext-epochs", type=int, metavar="N", help="fastText epochs (default 3)")
    focus.add_argument("--fasttext-min-count", type=int, metavar="N", help="fastText min count (default 10)")
    focus.add_argument(
        "--fasttext-threads", type=int, metavar="N", help="fastText threads (default 1: reproducible)"
    )


def _run(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from vocabswap.atomic import check_output_dir
    from vocabswap.reinit import FocusOptions, initialise

    check_output_dir(args.out, overwrite=args.overwrite)
    options = FocusOptions.paper() if args.focus_paper else FocusOptions()
    if args.focus_overlap:
        options = replace(options, overlap=args.focus_overlap)
    ft = options.fasttext
    for flag, field in (
        ("fasttext_dim", "dim"),
        ("fasttext_epochs", "epochs"),
        ("fasttext_min_count", "min_count"),
        ("fasttext_threads", "threads"),
    ):
        if getattr(args, flag) is not None:
            ft = replace(ft, **{field: getattr(args, flag)})
    initialise(
        args.base,
        args.tokenizer,
        args.method,
        out=args.out,
        seed=args.seed,
        aux_corpus=args.aux_corpus,
        fasttext_model=args.fasttext_model,
        paper_compat=args.paper_compat,
        focus_options=replace(options, fasttext=ft),
        heldout=_heldout(args.heldout) if args.heldout is not None else None,
    )


def _heldout(path: Path) -> list[str]:
    from vocabswap.data.lines import text_lines
    from vocabswap.errors import VocabswapError

    if not path.is_file():
        raise VocabswapError(f"held-out text {path} does not exist")
    return list(text_lines(path, empty="the held-out text is empty"))
