"""``vocabswap clean``: the paper's OpusFilter cleaning chain on one language's corpus."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vocabswap.errors import require_input_files


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "clean",
        help="deduplicate and filter a raw corpus with the paper's OpusFilter chain",
        description=(
            "Remove duplicate lines (lower-cased, letters only), then lines with fewer than 2 or more than "
            "100 words, an average word length outside [2, 16], a word of 32 or more characters, or under "
            "50%% alphabetic characters; with --filter-english also lines that fastText lid.176 calls "
            "English with probability >= 0.9. Keeps exactly the lines OpusFilter keeps with those filters. "
            "Lines that are not UTF-8 or contain NUL are dropped and counted."
        ),
    )
    parser.add_argument("--lang", required=True, metavar="L", help="language code (recorded in the stats)")
    parser.add_argument(
        "--filter-english", action="store_true", help="drop English lines (paper: Erzya and Sami)"
    )
    parser.add_argument(
        "--lid",
        choices=("fasttext", "langid"),
        default="fasttext",
        help="English identifier: fastText lid.176, or langid.py (the paper's OpusFilter default)",
    )
    parser.add_argument("--stats", type=Path, metavar="JSON", help="write per-filter counts here")
    parser.add_argument(
        "--workers", type=int, default=None, metavar="N", help="processes (default: the usable CPUs)"
    )
    parser.add_argument("input", type=Path, metavar="IN", help="raw UTF-8 text, one segment a line (.gz ok)")
    parser.add_argument("output", type=Path, metavar="OUT", help="cleaned text")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> None:
    from vocabswap.atomic import check_distinct, check_output_file
    from vocabswap.data.clean import CleanParams, clean_corpus

    require_input_files(args.input)
    check_distinct({"OUT": args.output, "--stats": args.stats}, [args.input])
    for path in (args.output, args.stats):
        if path is not None:
            check_output_file(path)
    stats = clean_corpus(
        args.input,
        args.output,
        lang=args.lang,
        filter_english=args.filter_english,
        stats_path=args.stats,
        params=CleanParams(lid=args.lid),
        workers=args.workers,
    )
    print(json.dumps({"kept": stats.kept_lines, "input": stats.input_lines, "removed": stats.removed}))
