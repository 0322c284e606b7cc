"""``vocabswap sample``: α-sampled multilingual text, line by line with replacement."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vocabswap.cli.options import seed_arg
from vocabswap.errors import VocabswapError, require_input_files


def _lang_file(value: str) -> tuple[str, Path]:
    lang, sep, path = value.partition("=")
    if not sep or not lang or not path:
        raise argparse.ArgumentTypeError(f"expected LANG=FILE, got {value!r}")
    return lang, Path(path)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sample",
        help="sample lines across languages with q_l ∝ p_l^α",
        description=(
            "Draw N lines with replacement: each line picks language l with probability q_l ∝ p_l^α "
            "(p_l = l's share of all lines), then a uniformly random line of l. Streaming; the "
            "composition is written to OUT.composition.json."
        ),
    )
    parser.add_argument("--alpha", type=float, default=0.2, metavar="A", help="exponent (paper: 0.2)")
    parser.add_argument("--lines", type=int, required=True, metavar="N", help="lines to draw")
    parser.add_argument("--seed", type=seed_arg, default=1, metavar="S", help="random seed (default 1)")
    parser.add_argument(
        "--cap-bytes", type=int, default=None, metavar="B", help="use at most B bytes of each language"
    )
    parser.add_argument("inputs", nargs="+", type=_lang_file, metavar="LANG=FILE")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE", help="output text")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> None:
    from vocabswap.atomic import check_distinct, check_output_file
    from vocabswap.data.sampling import sample_multilingual

    require_input_files(*(path for _, path in args.inputs))
    check_distinct({"--out": args.out}, [path for _, path in args.inputs])
    check_output_file(args.out)
    inputs = dict(args.inputs)
    if len(inputs) != len(args.inputs):
        raise VocabswapError("a language is given twice")
    comp = sample_multilingual(
        inputs, args.out, alpha=args.alpha, lines=args.lines, seed=args.seed, cap_bytes=args.cap_bytes
    )
    print(json.dumps({k: v["sampled_lines"] for k, v in comp["languages"].items()}))
