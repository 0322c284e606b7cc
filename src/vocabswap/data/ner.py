"""Named-entity tag schemes: validation of BIO, conversion BIOES/BILOU -> BIO, and a reader for
whitespace-separated NER files (WikiAnn's original per-language ``.bio`` files and CoNLL-style files)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from vocabswap.data.lines import numbered_lines
from vocabswap.errors import InputError

_TAG = re.compile(r"^(O|([BIESLU])-(\S+))$")


class TagError(ValueError):
    """A tag sequence that breaks its scheme; the message says where."""


def _parse(tag: str) -> tuple[str, str | None]:
    m = _TAG.match(tag)
    if not m:
        raise TagError(f"invalid NER tag {tag!r}")
    return (m.group(2) or "O", m.group(3))


def validate_bio(tags: Sequence[str]) -> None:
    """Raise ``TagError`` unless ``tags`` is valid BIO (an I-X continues a B-X or I-X)."""
    prev: tuple[str, str | None] = ("O", None)
    for i, tag in enumerate(tags):
        prefix, typ = _parse(tag)
        if prefix not in ("B", "I", "O"):
            raise TagError(f"tag {i} {tag!r} is not BIO")
        if prefix == "I" and (prev[0] not in ("B", "I") or prev[1] != typ):
            raise TagError(f"tag {i} {tag!r} does not continue an entity of type {typ}")
        prev = (prefix, typ)


def to_bio(tags: Sequence[str], *, repair: bool = False) -> list[str]:
    """Convert BIOES/BILOU (or BIO) tags to BIO: S/U-X -> B-X, E/L-X -> I-X.

    The input must be a well-formed sequence of its scheme; with ``repair``, an entity that starts
    with I-X (common in WikiAnn) becomes B-X instead of raising ``TagError``.
    """
    out: list[str] = []
    open_type: str | None = None  # type of the entity that the next tag may continue
    for i, tag in enumerate(tags):
        prefix, typ = _parse(tag)
        if prefix == "O":
            out.append("O")
            open_type = None
            continue
        if prefix in ("I", "E", "L") and open_type != typ:
            if not repair:
                raise TagError(f"tag {i} {tag!r} does not continue an entity of type {typ}")
            prefix = "B"
        out.append(f"B-{typ}" if prefix in ("B", "S", "U") else f"I-{typ}")
        open_type = typ if prefix in ("B", "I") else None  # S/U/E/L close the entity
    return out


def entity_types(sentences: Iterable[tuple[Sequence[str], Sequence[str]]]) -> list[str]:
    """Sorted entity types used in BIO-tagged sentences."""
    types = {t[2:] for _, tags in sentences for t in tags if t != "O"}
    return sorted(types)


def read_ner(path: str | Path, *, repair: bool = True) -> list[tuple[list[str], list[str]]]:
    """Read a whitespace-separated NER file: token first, tag last, blank line between sentences.

    Tokens may carry a ``xx:`` language prefix (WikiAnn/XTREME style), which is removed when the file
    uses it on every token of a sentence. Tags in BIO, BIOES or BILOU come back as BIO.
    """
    path = Path(path)
    out: list[tuple[list[str], list[str]]] = []
    words: list[str] = []
    tags: list[str] = []
    first_line = 0

    def flush(lineno: int) -> None:
        nonlocal words, tags
        if not words:
            return
        if all(re.match(r"^[a-z]{2,3}:.", w) for w in words):
            words = [w.split(":", 1)[1] for w in words]
        try:
            bio = to_bio(tags, repair=repair)
        except TagError as err:
            raise InputError(path, first_line, f"sentence ending at line {lineno}: {err}") from None
        out.append((words, bio))
        words, tags = [], []

    lines = numbered_lines(path)
    for lineno, line in lines:
        if not line.strip():
            flush(lineno - 1)
            continue
        if line.startswith("-DOCSTART-"):
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        cols = [c for c in cols if c != ""]
        if len(cols) < 2:
            raise InputError(path, lineno, "expected a token and a tag")
        try:
            _parse(cols[-1])
        except TagError as err:
            raise InputError(path, lineno, str(err)) from None
        if not words:
            first_line = lineno
        words.append(cols[0])
        tags.append(cols[-1])
    flush(len(lines))
    return out
