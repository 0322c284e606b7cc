"""The ``vocabswap`` command line: a thin face on the library.

Each subcommand lives in its own module under ``vocabswap.cli`` and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to a callable taking the parsed namespace. Subcommand modules
import heavy libraries (torch, transformers) inside ``func`` so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from vocabswap import __version__
from vocabswap.errors import VocabswapError

# Order is the order of `vocabswap --help`.
SUBCOMMANDS = (
    "base_model",
    "train_tokenizer",
    "init",
    "clean",
    "sample",
    "lapt",
    "finetune",
    "aggregate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vocabswap",
        description="Specialise a multilingual masked LM to a language with a compact vocabulary.",
    )
    parser.add_argument("--version", action="version", version=f"vocabswap {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"vocabswap.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"vocabswap.cli.{name}":
                raise
            continue  # subcommand not built yet
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        args.func(args)
    except VocabswapError as err:
        print(f"vocabswap {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
