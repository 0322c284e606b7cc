"""The one exception type that the command line turns into a one-line error message."""

from __future__ import annotations

from pathlib import Path


class VocabswapError(Exception):
    """A user-facing error: bad input, a missing file, an impossible request.

    The message names what was wrong (file, line, value) and, where it helps, what to do.
    """


class InputError(VocabswapError):
    """Malformed input data at a known place: ``file:line: message``."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")
