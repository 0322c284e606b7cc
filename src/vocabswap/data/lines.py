"""Numbered, validated lines of an annotated text file: the shared front end of the format readers."""

from __future__ import annotations

from pathlib import Path

from vocabswap.errors import InputError


def numbered_lines(path: str | Path) -> list[tuple[int, str]]:
    """``[(line_number, text), ...]`` of a UTF-8 file: a leading BOM and each line's CR removed.

    A missing file or a line that is not valid UTF-8 raises ``InputError`` naming the file (and line).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    out: list[tuple[int, str]] = []
    for lineno, raw in enumerate(raw_lines, 1):
        try:
            out.append((lineno, raw.decode("utf-8").rstrip("\r")))
        except UnicodeDecodeError as err:
            raise InputError(path, lineno, f"invalid UTF-8 at byte {err.start}") from None
    return out
