"""Lines of text files, read one way: numbered lines of annotated files (the format readers' front end)
and the non-blank lines of plain-text corpora (tokenizer training, LAPT, auxiliary embeddings, sampling)."""

from __future__ import annotations

from collections.abc import Iterator
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


# --------------------------------------------------------------------------------------------------------
# plain-text corpora: one sentence or document per line
#
# The rule every corpus reader follows: a line ends at b"\n", and its terminator with any "\r" before it is
# removed; a line that is empty or only whitespace is blank and skipped; every other line is yielded as it
# is, decoded as strict UTF-8 (an undecodable line is an error naming file:line). The parameters are what
# one caller needs on top of that, never a second rule:
# - ``strip``: LAPT's encoder takes lines stripped of their edge whitespace;
# - ``split_cr``: the tokenizer's training text also breaks lines at a lone "\r" (it always has, reading
#   in Python's universal-newline text mode);
# - ``cap_bytes`` and :func:`byte_lines`: the multilingual sampler copies bytes without decoding them, so
#   it cannot tell Unicode whitespace and skips only empty lines.


def _raw_lines(path: Path, cap_bytes: int | None) -> Iterator[tuple[int, bytes]]:
    """``(line_number, bytes without the terminator)`` of every line, stopping before the line that would
    take the bytes read over ``cap_bytes`` (whole lines only)."""
    read = 0
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            read += len(raw)
            if cap_bytes is not None and read > cap_bytes:
                return
            yield lineno, raw.rstrip(b"\r\n")


def byte_lines(path: str | Path, cap_bytes: int | None = None) -> Iterator[bytes]:
    """The non-empty lines of ``path`` as bytes (not decoded), within its first ``cap_bytes`` bytes."""
    return (line for _, line in _raw_lines(Path(path), cap_bytes) if line)


def text_lines(
    path: str | Path,
    *,
    invalid: str = "not UTF-8 ({reason} at byte {start}); re-encode the file as UTF-8",
    empty: str | None = None,
    strip: bool = False,
    split_cr: bool = False,
) -> Iterator[str]:
    """Stream the non-blank lines of a UTF-8 text file (the rule above).

    An undecodable line raises ``InputError`` at ``path:line`` with ``invalid`` (formatted with the
    decoder's ``reason`` and byte ``start``); with ``empty`` given, a file without a non-blank line raises
    ``InputError`` naming the file with that message. A missing file is the caller's to report.
    """
    path = Path(path)
    n = 0
    for lineno, raw in _raw_lines(path, None):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            message = invalid.format(reason=err.reason, start=err.start)
            raise InputError(path, lineno, message) from err
        for part in line.split("\r") if split_cr else (line,):
            if part.strip():
                n += 1
                yield part.strip() if strip else part
    if n == 0 and empty is not None:
        raise InputError(path, None, empty)
