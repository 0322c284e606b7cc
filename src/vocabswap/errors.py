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


def first_line(err: BaseException | str) -> str:
    """The first line of an error's text (a traceback-like message kept to one line), else its type name."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


MISSING = "does not exist"


def require_input_files(*paths: str | Path) -> None:
    """Raise ``InputError`` naming the first path that exists but cannot be read as an input file (a
    directory, a symlink loop, a device), and why; a missing file is left to the reader's own message."""
    for path in paths:
        problem = input_file_problem(path)
        if problem and problem != MISSING:
            raise InputError(path, None, f"input {problem}")


def input_file_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as an input file (missing, a directory, a symlink loop, not a regular
    file), or None when it can be opened as one."""
    path = Path(path)
    try:
        if path.is_file():
            return None
        if path.is_dir():
            return "is a directory, not a file"
        if path.is_symlink():
            return "is a broken symlink or a symlink loop"
        return MISSING if not path.exists() else "is not a regular file"
    except OSError as err:
        return f"cannot be inspected: {err.strerror}"
