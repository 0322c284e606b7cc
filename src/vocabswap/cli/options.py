"""Command-line options generated from a settings dataclass (:mod:`vocabswap.training_config`): one
``--name`` per field, with the field's default, type, help and choices, so that a default lives only in
the dataclass."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

OVERWRITE_HELP = (
    "replace --out if it holds an earlier vocabswap output (other directories are never replaced)"
)


def add_output_options(parser: argparse.ArgumentParser, what: str = "output directory") -> None:
    """``--out DIR`` (required) and ``--overwrite``, worded the same for every command that writes one."""
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help=what)
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def seed_arg(value: str) -> int:
    """``--seed``: an integer from 0 to SEED_MAX (numpy, torch and SentencePiece take it), else a usage
    error in one line."""
    from vocabswap.errors import VocabswapError
    from vocabswap.training_config import check_seed

    try:
        seed = int(value)
        check_seed(seed)
    except (ValueError, VocabswapError) as err:
        raise argparse.ArgumentTypeError(
            str(err) if isinstance(err, VocabswapError) else f"not an integer: {value!r}"
        ) from None
    return seed


def _scalar_type(hint: Any) -> Any:
    """``int`` for ``int`` and ``int | None`` (and likewise float, str)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (hint,) = [a for a in typing.get_args(hint) if a is not type(None)]
    return hint


def add_config_options(
    parser: argparse.ArgumentParser, config_cls: type, *, required: tuple[str, ...] = ()
) -> None:
    """Add an option per field of ``config_cls``: a flag ``--name`` for a bool that defaults to False,
    ``--no-name`` for one that defaults to True; fields in ``required`` have no default on the command
    line. Field metadata: ``help``, ``choices``, ``aliases`` (flag -> the value it stores)."""
    hints = typing.get_type_hints(config_cls)
    for f in dataclasses.fields(config_cls):
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help")
        kind = _scalar_type(hints[f.name])
        if kind is bool:
            if f.default:
                parser.add_argument(f"--no-{flag[2:]}", dest=f.name, action="store_false", help=help_text)
            else:
                parser.add_argument(flag, action="store_true", help=help_text)
            continue
        options: dict[str, Any] = {"type": seed_arg if f.name == "seed" else kind, "help": help_text}
        if "choices" in f.metadata:
            options["choices"] = tuple(f.metadata["choices"])
        if f.name in required:
            options["required"] = True
        else:
            options["default"] = f.default
        parser.add_argument(flag, **options)
        for alias, value in f.metadata.get("aliases", {}).items():  # e.g. --no-bf16 = --precision fp32
            parser.add_argument(
                alias, dest=f.name, action="store_const", const=value, help=f"same as {flag} {value}"
            )


def config_from_args(config_cls: type, args: argparse.Namespace) -> Any:
    """An instance of ``config_cls`` from the parsed options :func:`add_config_options` added."""
    return config_cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)})
