"""``vocabswap trace``: follow an output's provenance down to the raw sources and verify every link."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trace",
        help="trace an output (or one table cell) down to its sources; exit 1 if a link is broken",
        description=(
            "Follow the provenance records from PATH (a table, figure, result JSON, model directory, "
            "corpus) down to the raw sources and print the tree: each node's rule, wildcards and config "
            "digest, and whether the file still has the digest its consumer recorded (ok / changed / "
            "missing). Reads only the files of the results tree (no Snakemake metadata). Exit status 1 "
            "names each broken link."
        ),
    )
    p.add_argument("path", nargs="?", metavar="PATH", help="an output of the workflow")
    p.add_argument(
        "--cell",
        nargs=3,
        metavar=("TABLE", "ROW", "COLUMN"),
        help="one table cell: ROW as the table prints it ('FULL FOCUS+IDENT', plus the VOCAB label when "
        "the table has several sizes), COLUMN a language; prints its per-seed scores and results' chains",
    )
    p.add_argument("--root", help="the directory the workflow ran in (default: above results/ or resources/)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="the DAG as JSON (nodes, links, broken)")
    form.add_argument("--dot", action="store_true", help="the DAG as Graphviz DOT")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vocabswap.errors import VocabswapError
    from vocabswap.trace import render_cell, render_text, to_dot, to_json, trace, trace_cell

    if (args.path is None) == (args.cell is None):
        raise VocabswapError("give either PATH or --cell TABLE ROW COLUMN")
    cell = None
    if args.cell:
        cell, result = trace_cell(*args.cell, root=args.root)
    else:
        result = trace([args.path], root=args.root)
    if args.json:
        print(
            json.dumps({**to_json(result), **({"cell": cell} if cell else {})}, indent=2, ensure_ascii=False)
        )
    elif args.dot:
        print(to_dot(result))
    else:
        print(render_cell(cell, result) if cell else render_text(result))
        print(f"{len(result.nodes)} nodes, depth {result.depth()}, {len(result.broken)} broken")
    for line in result.broken:
        print(f"vocabswap trace: broken: {line}", file=sys.stderr)
    return 1 if result.broken else 0
