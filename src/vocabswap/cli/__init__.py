"""The ``vocabswap`` command line: a thin face on the library.

Each subcommand lives in its own module under ``vocabswap.cli`` and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to a callable taking the parsed namespace. Subcommand modules
import heavy libraries (torch, transformers) inside ``func`` so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from vocabswap import __version__
from vocabswap.errors import VocabswapError, first_line

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
    "trace",
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
        status = args.func(args)  # a subcommand may answer with its own exit status (trace: 1 = broken)
    except VocabswapError as err:
        return _fail(args.command, str(err))
    except OSError as err:  # a file-system failure the library did not foresee: still one line
        return _fail(args.command, os_error_message(err))
    except _boundary_errors() as err:
        return _fail(args.command, f"{type(err).__name__}: {first_line(err)}")
    return status or 0


def _fail(command: str, message: str) -> int:
    print(f"vocabswap {command}: error: {first_line(message)}", file=sys.stderr)
    return 2


def os_error_message(err: OSError) -> str:
    """``PATH: reason`` for an OSError (both paths for a rename), or its text when it names no path."""
    if err.filename is None:
        return first_line(err)
    where = os.fspath(err.filename)
    if err.filename2 is not None:
        where += f" -> {os.fspath(err.filename2)}"
    return f"{where}: {err.strerror or first_line(err)}"


def _boundary_errors() -> tuple[type[BaseException], ...]:
    """Third-party errors of corrupt inputs (archives, weights, text encodings) that reach the command line
    boundary: reported in one line instead of a traceback."""
    import pickle
    import tarfile
    import zipfile

    # pickle: a pytorch_model.bin that holds code (refused by torch.load's weights_only)
    errors: list[type[BaseException]] = [
        tarfile.TarError, zipfile.BadZipFile, UnicodeError, EOFError, pickle.UnpicklingError
    ]  # fmt: skip
    if "safetensors" in sys.modules:
        from safetensors import SafetensorError

        errors.append(SafetensorError)
    return tuple(errors)


if __name__ == "__main__":
    sys.exit(main())
