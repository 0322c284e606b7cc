"""``vocabswap aggregate``: result JSONs -> the paper's tables (Markdown, CSV, LaTeX), one per task."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "aggregate",
        help="aggregate fine-tuning result JSONs into mean ± std tables",
        description=(
            "Group result JSONs by table cell and write OUT_DIR/<task>.md, .csv and .tex in the paper's "
            "shape "
            "(baselines, then LAPT regime × method; languages + Avg). A cell missing a seed is reported, "
            "not averaged over fewer seeds silently."
        ),
    )
    p.add_argument("results", nargs="+", metavar="RESULT_JSON", help="result files of `vocabswap finetune`")
    p.add_argument("--out-dir", required=True, help="directory for the tables")
    p.add_argument("--seeds", type=int, nargs="+", help="expected seeds (default: every seed seen)")
    p.add_argument("--languages", nargs="+", help="column order (default: sorted)")
    p.add_argument("--title", default="Results", help="table title (caption)")
    p.add_argument(
        "--population-std",
        action="store_true",
        help="population std (÷N) as the paper's code; default the sample std (÷(N-1))",
    )
    p.add_argument("--decimals", type=int, default=1)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from vocabswap.tables import aggregate

    written = aggregate(
        args.results,
        args.out_dir,
        seeds=args.seeds,
        languages=args.languages,
        title=args.title,
        population_std=args.population_std,
        decimals=args.decimals,
    )
    for path in written.values():
        print(path)
