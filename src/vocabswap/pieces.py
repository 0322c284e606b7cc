"""Canonical forms of vocabulary pieces, so that pieces of different tokenizer kinds can be compared.

A piece's canonical form is the text it stands for, spelt the SentencePiece way: every space is ``▁``
(so a word-initial piece starts with ``▁``), and a byte that is not part of a whole UTF-8 character is
``<0xNN>`` (SentencePiece's byte-fallback spelling). Thus:

================================  ===========================  ==========================
piece                             kind                         canonical form
================================  ===========================  ==========================
``▁the``, ``the``                 SentencePiece unigram        unchanged
``<0xD7>`` (byte fallback)        SentencePiece unigram        ``<0xD7>``; ``<0x41>`` is ``A``
``Ġthe``                          byte-level BPE               ``▁the``
``×©`` (the bytes of ``ש``)      byte-level BPE               ``ש``
``Ġ×`` (a space, a lead byte)     byte-level BPE               ``▁<0xD7>``
================================  ===========================  ==========================

IDENT and FOCUS's overlap match canonical forms (an exact match within one kind stays an exact match);
SCRIPT and POSN read the script and the word-start ``▁`` from them. Special tokens are left as they are.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Sequence

from vocabswap.errors import VocabswapError
from vocabswap.family import BYTE_LEVEL_BPE, SENTENCEPIECE_UNIGRAM

WORD_START = "▁"
_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
_ERRORS = "vocabswap-byte-pieces"


def _byte_pieces(err: UnicodeDecodeError) -> tuple[str, int]:
    """Decode error handler: each undecodable byte becomes ``<0xNN>``."""
    return "".join(f"<0x{b:02X}>" for b in err.object[err.start : err.end]), err.end


codecs.register_error(_ERRORS, _byte_pieces)


@functools.cache
def byte_level_decoder() -> dict[str, int]:
    """The byte-level alphabet's character -> byte (GPT-2's reversible map: printable bytes stand for
    themselves, the other 68 are shifted to U+0100 upwards in byte order; the space is ``Ġ``)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = {b: chr(b) for b in printable}
    shifted = (b for b in range(256) if b not in chars)
    chars.update({b: chr(256 + n) for n, b in enumerate(shifted)})
    return {c: b for b, c in chars.items()}


def piece_bytes(piece: str, kind: str) -> bytes:
    """The bytes of text a piece stands for (a space where the piece marks a word start)."""
    if kind == BYTE_LEVEL_BPE:
        table = byte_level_decoder()
        try:
            return bytes(table[c] for c in piece)
        except KeyError as err:
            raise VocabswapError(
                f"piece {piece!r} has {err.args[0]!r}, outside the byte-level alphabet"
            ) from err
    if kind == SENTENCEPIECE_UNIGRAM:
        byte = _BYTE_PIECE.fullmatch(piece)
        if byte:
            return bytes([int(byte.group(1), 16)])
        return piece.replace(WORD_START, " ").encode("utf-8")
    raise VocabswapError(f"unknown tokenizer kind {kind!r}")


def canonical(piece: str, kind: str) -> str:
    """The canonical form of one piece (module docstring)."""
    return piece_bytes(piece, kind).decode("utf-8", errors=_ERRORS).replace(" ", WORD_START)


def canonical_pieces(pieces: Sequence[str], kind: str, *, keep: Sequence[int] = ()) -> list[str]:
    """Canonical forms of a whole vocabulary; the ids in ``keep`` (special tokens) stay as they are."""
    kept = set(keep)
    return [piece if i in kept else canonical(piece, kind) for i, piece in enumerate(pieces)]


def canonical_index(pieces: Sequence[str], kind: str, *, keep: Sequence[int] = ()) -> dict[str, int]:
    """Canonical form -> id; where two pieces share a form (``<0x41>`` and ``A``) the piece spelt as its
    canonical form wins, else the lower id."""
    forms = canonical_pieces(pieces, kind, keep=keep)
    index: dict[str, int] = {}
    for i, form in enumerate(forms):
        if form not in index or (pieces[i] == form and pieces[index[form]] != form):
            index[form] = i
    return index
