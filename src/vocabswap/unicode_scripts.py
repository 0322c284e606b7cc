"""Unicode script of characters and SentencePiece pieces, vectorised over whole vocabularies.

The script property comes from the Unicode Character Database file Scripts.txt as shipped by fontTools
(``fontTools.unicodedata.Scripts``, Unicode 18.0 in the pinned version). fontTools was chosen over the
``regex`` module because it exposes Scripts.txt as two sorted arrays (range starts, script codes), which a
single ``np.searchsorted`` turns into the script of every code point of a vocabulary at once; ``regex``
answers one (character, script) pattern at a time, and Python's ``unicodedata`` has no script property.

Token category (SPEC §3): strip ONE leading ``▁``; the category is the script that most of the remaining
characters belong to (Common and Inherited count like any other script), ties going to the script of the
earliest character among the tied scripts. A piece that is only ``▁`` (empty after stripping) takes the
script of ``▁`` itself (U+2581, Common), so ``▁`` is ``Common`` and, with position, ``Common_initial``.
With position the category is ``(script, initial)`` when the piece starts with ``▁``, else
``(script, medial)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
from fontTools.unicodedata import Scripts as _ucd_scripts

WORD_START = "▁"  # SentencePiece's word-boundary marker (U+2581)
UNICODE_VERSION = "18.0.0"  # of fontTools' Scripts table in the pinned fontTools (see its header)
PAPER_UNICODE_VERSION = "15.0.0"  # the authors' Scripts-15.0.0.txt (paper_compat)
UNICODE_VERSIONS = (UNICODE_VERSION, PAPER_UNICODE_VERSION)


@cache
def _tables() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(range starts, script index per range, script long names) from the UCD's Scripts.txt."""
    starts = np.asarray(_ucd_scripts.RANGES, dtype=np.int64)
    codes = sorted(set(_ucd_scripts.VALUES))
    index = {code: i for i, code in enumerate(codes)}
    values = np.asarray([index[v] for v in _ucd_scripts.VALUES], dtype=np.int32)
    names = tuple(_ucd_scripts.NAMES.get(code, code) for code in codes)
    return starts, values, names


def script_names() -> tuple[str, ...]:
    """Long script names (``Latin``, ``Hebrew``, ``Common`` ...), indexed by the codes used below."""
    return _tables()[2]


@cache
def _unknown_since_15() -> tuple[np.ndarray, np.ndarray]:
    from vocabswap.unicode15 import UNICODE_15_0_UNKNOWN

    ranges = np.asarray(UNICODE_15_0_UNKNOWN, dtype=np.int64)
    return ranges[:, 0], ranges[:, 1]


def codepoint_scripts(codepoints: np.ndarray, *, version: str = UNICODE_VERSION) -> np.ndarray:
    """Script code (index into :func:`script_names`) of every code point in ``codepoints``, by the
    Scripts.txt of Unicode ``version`` (one of ``UNICODE_VERSIONS``)."""
    if version not in UNICODE_VERSIONS:
        raise ValueError(f"Unicode version {version!r} not available (one of {', '.join(UNICODE_VERSIONS)})")
    starts, values, names = _tables()
    cps = np.asarray(codepoints, dtype=np.int64)
    codes = values[np.searchsorted(starts, cps, side="right") - 1]
    if version == PAPER_UNICODE_VERSION:
        first, last = _unknown_since_15()
        at = np.searchsorted(first, cps, side="right") - 1
        added = (at >= 0) & (cps <= last[np.maximum(at, 0)])
        codes = np.where(added, names.index("Unknown"), codes).astype(values.dtype)
    return codes


def char_script(char: str) -> str:
    """Long script name of one character, e.g. ``char_script("א") == "Hebrew"``."""
    return script_names()[int(codepoint_scripts(np.asarray([ord(char)]))[0])]


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All code points of ``texts`` concatenated, and the text index of each."""
    joined = "".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    return cps, owner


def piece_scripts(pieces: Sequence[str], *, version: str = UNICODE_VERSION) -> np.ndarray:
    """Script code of every piece by SPEC §3 (majority after one ``▁`` stripped, ties -> earliest), by
    the Scripts.txt of Unicode ``version``."""
    n = len(pieces)
    stripped = [p[1:] if p.startswith(WORD_START) else p for p in pieces]
    cps, owner = _codepoints(stripped)
    scripts = codepoint_scripts(cps, version=version)
    n_scripts = len(script_names())
    result = np.full(n, -1, dtype=np.int32)
    if len(cps):
        # One key per (piece, script): count its characters and remember its first position.
        keys = owner * n_scripts + scripts
        uniq, first, counts = np.unique(keys, return_index=True, return_counts=True)
        piece_of = uniq // n_scripts
        # Best per piece: most characters, then the earliest first character.
        order = np.lexsort((first, -counts, piece_of))
        best = order[np.r_[True, piece_of[order][1:] != piece_of[order][:-1]]]
        result[piece_of[best]] = (uniq[best] % n_scripts).astype(np.int32)
    empty = result < 0  # the piece was just "▁" (or empty): the script of "▁" itself
    if empty.any():
        result[empty] = codepoint_scripts(np.asarray([ord(WORD_START)]))[0]
    return result


def piece_is_initial(pieces: Sequence[str]) -> np.ndarray:
    """True where a piece starts with ``▁`` (word-initial), else False (word-medial)."""
    return np.fromiter((p.startswith(WORD_START) for p in pieces), dtype=bool, count=len(pieces))


def categorise(
    pieces: Sequence[str], *, position: bool = False, version: str = UNICODE_VERSION
) -> tuple[np.ndarray, list[str]]:
    """Category code per piece and the category labels the codes index.

    Labels are script names (``Hebrew``) or, with ``position``, ``Hebrew_initial`` / ``Hebrew_medial``.
    Codes are stable across calls: ``script * 2 + medial`` with position, else the script code, so
    categories of two vocabularies computed separately are directly comparable. ``version``: the
    Unicode version of the script table (``PAPER_UNICODE_VERSION`` under paper_compat).
    """
    names = script_names()
    scripts = piece_scripts(pieces, version=version)
    if not position:
        return scripts, list(names)
    medial = ~piece_is_initial(pieces)
    labels = [f"{name}_{pos}" for name in names for pos in ("initial", "medial")]
    return scripts * 2 + medial.astype(np.int32), labels


def category_of(piece: str, *, position: bool = False) -> str:
    """Category label of a single piece (convenience for tests and reports)."""
    codes, labels = categorise([piece], position=position)
    return labels[int(codes[0])]
