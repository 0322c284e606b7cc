"""Helpers for tests that drive `vocabswap` in-process and check its one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from vocabswap.cli import main


def run_cli(argv: list, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run `vocabswap ARGV...` in this process; its exit code and what it wrote to stderr."""
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().err


def one_line_error(rc: int, err: str, *needles: str) -> str:
    """The command failed with exit 2 and one `vocabswap CMD: error: ...` line naming ``needles``."""
    assert rc == 2, err
    assert "Traceback" not in err, err
    lines = [x for x in err.splitlines() if x.startswith("vocabswap ")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def hidden_files(directory: Path) -> list[str]:
    """Hidden temporaries (``.NAME.xxx.tmp``, ``.NAME.old``, probes) left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))
