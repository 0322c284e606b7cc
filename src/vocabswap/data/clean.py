"""Corpus cleaning with the paper's OpusFilter chain, streaming, vectorised and multi-process.

Chain (SPEC §3, Appendix A; the paper called OpusFilter 3.x):

1. ``remove_duplicates`` with ``lowercase`` and ``letters_only``: the key of a line is
   ``regex.sub('[^\\p{L}]', '', line).lower()`` hashed with xxh64 over its UTF-16-LE bytes (OpusFilter's
   own hash, so even hash collisions behave the same); the first line with a key is kept.
2. per-line filters on ``line.rstrip()`` (what OpusFilter's filter step reads), with OpusFilter's
   definitions and its defaults for the parameters the paper left out:

   - LengthFilter(min_length=2, max_length=100, unit='word'): ``2 <= len(line.split()) <= 100``
   - AverageWordLengthFilter(min_length=2, max_length=16): ``2 <= chars_in_words / words <= 16``
   - LongWordFilter(threshold=32): every word shorter than 32 characters (a 32-character word is dropped)
   - AlphabetRatioFilter(threshold=0.5, exclude_whitespace=False): ``alphabetic / len(line) >= 0.5``
   - for the languages the config marks: drop lines that fastText lid.176 labels ``en`` with probability
     above 0.9 (LanguageIDFilter(languages=['en'], id_method='fasttext', thresholds=[0.9]) run with
     ``filterfalse``; a float32 probability is never exactly 0.9, so ``>`` and the paper's ``>=`` agree).
     ``lid='langid'`` uses langid.py instead, LanguageIDFilter's default and what the paper's call ran
     (its confidence is rounded to 2 decimals, so ``> 0.9`` there means ``round(p, 2) >= 0.91``);
     :mod:`vocabswap.data.lid`.

The kept set does not depend on the order of the per-line filters, only on dedup coming first; the stats
count each removed line under the first filter that rejects it in the order above, with the English
filter last (it only runs on lines that survived the cheap filters).

Line handling follows Python's text mode, which OpusFilter reads through: ``\\n``, ``\\r\\n`` and a lone
``\\r`` end a line. Input that OpusFilter would crash on or mangle is removed first and counted: lines
that are not valid UTF-8 and lines containing NUL; a byte-order mark at the start of a line is stripped.

Implementation: pass 1 streams the file in newline-aligned chunks through worker processes, which
compute every cheap filter over the whole chunk at once with NumPy (code-point lookup tables built from
the same ``regex`` module OpusFilter uses) and the dedup hashes; the main process keeps only 9 bytes per
line (hash + verdict), finds first occurrences with one stable sort, then pass 2 streams the file again
and writes the kept lines (running fastText in batches on the survivors when English is filtered).
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import regex

from vocabswap.atomic import atomic_path, write_json
from vocabswap.data.lid import LID_METHODS, english_scores, load_identifier
from vocabswap.errors import InputError, VocabswapError

__all__ = ["CleanParams", "CleanStats", "clean_corpus"]

log = logging.getLogger(__name__)

# Verdict codes: 0 keep; 1-4 the cheap filters in chain order; 100+ lines removed before the chain.
OK, LENGTH, AVG_WORD_LENGTH, LONG_WORD, ALPHABET_RATIO = 0, 1, 2, 3, 4
INVALID_UTF8, NUL = 100, 101
FILTER_NAMES = {
    LENGTH: "length",
    AVG_WORD_LENGTH: "average_word_length",
    LONG_WORD: "long_word",
    ALPHABET_RATIO: "alphabet_ratio",
}
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class CleanParams:
    """Filter thresholds; the defaults are the paper's (SPEC §3) plus OpusFilter's defaults."""

    dedup: bool = True  # remove_duplicates(lowercase=True, letters_only=True)
    min_words: int = 2  # LengthFilter min_length (paper)
    max_words: int = 100  # LengthFilter max_length (OpusFilter default)
    min_avg_word_length: float = 2  # AverageWordLengthFilter min_length (OpusFilter default)
    max_avg_word_length: float = 16  # AverageWordLengthFilter max_length (paper)
    long_word_threshold: int = 32  # LongWordFilter: words must be shorter than this (paper)
    alphabet_ratio: float = 0.5  # AlphabetRatioFilter threshold (paper), whitespace counted
    filter_english: bool = False  # LanguageIDFilter en, filterfalse (paper: Erzya and Sami)
    english_threshold: float = 0.9  # identifier confidence (paper)
    lid: str = "fasttext"  # English identifier: fasttext (lid.176) | langid (the paper's OpusFilter ran it)

    def __post_init__(self) -> None:
        if self.lid not in LID_METHODS:
            choices = " or ".join(LID_METHODS)
            raise VocabswapError(f"cleaning: lid: unknown identifier {self.lid!r}; use {choices}")


@dataclass
class CleanStats:
    """What cleaning did; ``removed`` counts each line once, under the first step that rejected it."""

    input_lines: int = 0
    kept_lines: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    bom_stripped: int = 0
    crlf_lines: int = 0
    cr_line_breaks: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    lang: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------------
# Code-point tables (built once per process, inherited by forked workers)

_LOWER_SPECIAL = (0x130, 0x3A3)  # İ lowers to two characters; Σ depends on context (final sigma)


@functools.cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Lookup tables over all code points: whitespace as ``str.split`` sees it, ``regex``'s
    ``\p{Alphabetic}`` (AlphabetRatioFilter) and ``\p{L}`` (the dedup key), and ``str.lower``
    of every code point whose lowercase is one context-free code point."""
    cps = np.arange(0x110000, dtype=np.uint32)
    cps = cps[(cps < 0xD800) | (cps >= 0xE000)]
    everything = cps.tobytes().decode("utf-32-le")

    def table(kept: str) -> np.ndarray:
        mask = np.zeros(0x110000, dtype=bool)
        mask[np.frombuffer(kept.encode("utf-32-le"), dtype=np.uint32)] = True
        return mask

    ws = ~table("".join(everything.split()))
    ws[0xD800:0xE000] = False
    # the same patterns as OpusFilter's (with + for speed: same characters removed)
    alpha = table(regex.sub(r"\p{Alphabetic=No}+", "", everything))
    letters = regex.sub(r"[^\p{L}]+", "", everything)
    letter = table(letters)
    # The per-line bookkeeping below assumes these never overlap (true in every Unicode version).
    assert not np.any(ws & alpha) and not np.any(ws & letter) and not letter[10]
    # lowercase of each letter on its own (a newline between letters blocks the final-sigma context);
    # dedup keys hold only letters, so other code points never reach this table
    lower = np.arange(0x110000, dtype=np.uint32)
    joined = "".join("\n".join(letters.replace("\u0130", "I")).lower().split("\n"))
    assert len(joined) == len(letters), "a lowercase mapping to several characters besides U+0130"
    lower[np.frombuffer(letters.encode("utf-32-le"), dtype=np.uint32)] = np.frombuffer(
        joined.encode("utf-32-le"), dtype=np.uint32
    )
    lower[list(_LOWER_SPECIAL)] = 0xFFFFFFFF
    return ws, alpha, letter, lower


# --------------------------------------------------------------------------------------------------
# Reading: newline-aligned chunks, lines as Python's text mode sees them


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _blocks(paths: Sequence[Path], chunk_bytes: int) -> Iterator[bytes]:
    for path in paths:
        with _open_binary(path) as handle:
            while block := handle.read(chunk_bytes):
                yield block


def iter_chunks(paths: Path | Sequence[Path], chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yield the bytes of the files, read as one stream in order (as if concatenated), in pieces that end
    just after a ``\\n`` (the last piece may not)."""
    rest = b""
    for block in _blocks([Path(paths)] if isinstance(paths, str | Path) else paths, chunk_bytes):
        block = rest + block
        cut = block.rfind(b"\n")
        if cut < 0:
            rest = block
            continue
        rest = block[cut + 1 :]
        yield block[: cut + 1]
    if rest:
        yield rest


def _normalise(data: bytes) -> tuple[bytes, int, int]:
    """Line endings as Python's text mode reads them (CRLF and a lone CR end a line); ends in ``\\n``."""
    crlf = data.count(b"\r\n")
    if crlf:
        data = data.replace(b"\r\n", b"\n")
    cr = data.count(b"\r")
    if cr:
        data = data.replace(b"\r", b"\n")
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return data, crlf, cr


@dataclass
class _Split:
    codes: np.ndarray  # uint8 per physical line: OK, INVALID_UTF8 or NUL
    good: np.ndarray  # indices of the OK lines
    blob: str  # the OK lines, a leading BOM stripped, each followed by "\n"
    bom: int
    crlf: int
    cr: int


def _split(data: bytes) -> _Split:
    data, crlf, cr = _normalise(data)
    n = data.count(b"\n")
    codes = np.zeros(n, dtype=np.uint8)
    blob: str | None = None
    if b"\x00" not in data:
        try:
            blob = data.decode("utf-8")
        except UnicodeDecodeError:
            blob = None
    if blob is None:  # slow path: find the bad lines
        good_texts: list[str] = []
        for i, line in enumerate(data.split(b"\n")[:-1]):
            if b"\x00" in line:
                codes[i] = NUL
                continue
            try:
                good_texts.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                codes[i] = INVALID_UTF8
        blob = "\n".join(good_texts) + "\n" if good_texts else ""
    bom = 0
    if "\ufeff" in blob:
        bom = blob.count("\n\ufeff") + blob.startswith("\ufeff")
        blob = blob.replace("\n\ufeff", "\n")
        if blob.startswith("\ufeff"):
            blob = blob[1:]
    return _Split(codes, np.flatnonzero(codes == OK), blob, bom, crlf, cr)


# --------------------------------------------------------------------------------------------------
# Pass 1: verdicts of the cheap filters and dedup hashes, vectorised over a chunk


def scan_lines(texts: list[str], params: CleanParams, *, dedup: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Verdict code (OK or the first failing cheap filter) and dedup hash of every line (no newlines)."""
    if not texts:
        return np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.uint64)
    return _scan_blob("\n".join(texts) + "\n", len(texts), params, dedup=dedup)


def _scan_blob(blob: str, n: int, params: CleanParams, *, dedup: bool) -> tuple[np.ndarray, np.ndarray]:
    """``scan_lines`` over ``n`` lines joined as one string, each followed by a newline.

    Per-line counts come from ``np.add.reduceat`` over the line starts, so the only Python work per
    line is the hash call.
    """
    if n == 0:
        return np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.uint64)
    ws_table, alpha_table, letter_table, _ = _tables()
    cp = np.frombuffer(blob.encode("utf-32-le"), dtype=np.uint32)
    is_nl = cp == 10
    ends = np.flatnonzero(is_nl)
    assert len(ends) == n
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    ws = ws_table[cp]  # the newline terminators count as whitespace: words never cross lines
    word_start = ~ws
    word_start[1:] &= ws[:-1]
    words = np.add.reduceat(word_start, starts, dtype=np.int64)
    # len(''.join(line.split())) = non-whitespace characters (the newline itself is whitespace)
    line_len = ends - starts
    nonws_chars = line_len - (np.add.reduceat(ws, starts, dtype=np.int64) - 1)
    alphas = np.add.reduceat(alpha_table[cp], starts, dtype=np.int64)
    # words of >= threshold characters, from the word start/end positions
    starts_w = np.flatnonzero(word_start)
    word_end = ~ws
    word_end[:-1] &= ws[1:]
    lengths = np.flatnonzero(word_end) - starts_w + 1
    long_at = starts_w[lengths >= params.long_word_threshold]
    long_words = np.bincount(np.searchsorted(ends, long_at), minlength=n)
    # len(line.rstrip()): the few lines that end in whitespace are measured in Python
    seg_len = line_len.copy()
    for i in np.flatnonzero((line_len > 0) & ws[np.maximum(ends - 1, 0)]).tolist():
        seg_len[i] = len(blob[starts[i] : ends[i]].rstrip())

    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.where(words > 0, nonws_chars / np.maximum(words, 1), 0.0)
        ratio = np.where(seg_len > 0, alphas / np.maximum(seg_len, 1), 1.0)
    codes = np.zeros(n, dtype=np.uint8)
    # assigned in reverse chain order so that the first failing filter wins
    codes[ratio < params.alphabet_ratio] = ALPHABET_RATIO
    codes[long_words > 0] = LONG_WORD
    codes[(avg < params.min_avg_word_length) | (avg > params.max_avg_word_length)] = AVG_WORD_LENGTH
    codes[(words < params.min_words) | (words > params.max_words)] = LENGTH
    hashes = _dedup_hashes(cp[letter_table[cp] | is_nl], n) if dedup else np.zeros(n, dtype=np.uint64)
    return codes, hashes


def _dedup_hashes(key_cp: np.ndarray, n: int) -> np.ndarray:
    """OpusFilter's dedup key hash per line: xxh64(utf_16_le(lower(letters_only(line)))).

    ``key_cp`` holds the letters of all lines, each line followed by a newline.
    """
    import xxhash

    lower_table = _tables()[3]
    lowered = lower_table[key_cp]
    nl = np.flatnonzero(key_cp == 10)
    begin = np.empty(n, dtype=np.int64)
    begin[0] = 0
    begin[1:] = nl[:-1] + 1
    # İ, Σ (final sigma) and astral letters: those lines are lowered by Python, one line at a time
    special = np.flatnonzero(lowered >= 0x10000)
    special_lines = np.unique(np.searchsorted(nl, special)).tolist()
    lowered[special] = 0
    utf16 = lowered.astype(np.uint16).tobytes()
    h = xxhash.xxh64_intdigest
    hashes = np.fromiter(
        (h(utf16[2 * b : 2 * e]) for b, e in zip(begin.tolist(), nl.tolist(), strict=True)),
        dtype=np.uint64,
        count=n,
    )
    for i in special_lines:
        key = key_cp[begin[i] : nl[i]].tobytes().decode("utf-32-le")
        hashes[i] = h(key.lower().encode("utf-16-le"))
    return hashes


def line_verdicts(texts: list[str], params: CleanParams) -> np.ndarray:
    """Verdict code per line (OK or the first failing cheap filter)."""
    return scan_lines(texts, params, dedup=False)[0]


def dedup_hashes(texts: list[str]) -> np.ndarray:
    """OpusFilter's dedup key hash per line."""
    return scan_lines(texts, CleanParams())[1]


@dataclass
class _Pass1:
    hashes: np.ndarray  # uint64 per physical line (0 for malformed lines)
    codes: np.ndarray  # uint8 per physical line
    bom: int
    crlf: int
    cr: int


def _pass1(data: bytes, params: CleanParams) -> _Pass1:
    split = _split(data)
    codes = split.codes
    hashes = np.zeros(len(codes), dtype=np.uint64)
    codes[split.good], hashes[split.good] = _scan_blob(
        split.blob, len(split.good), params, dedup=params.dedup
    )
    return _Pass1(hashes, codes, split.bom, split.crlf, split.cr)


# --------------------------------------------------------------------------------------------------
# Pass 2: write the kept lines (English identification on the survivors)


@functools.cache
def _ws_last_bytes() -> frozenset[int]:
    """Last byte of the UTF-8 encoding of every whitespace character (to spot lines needing rstrip)."""
    return frozenset(chr(c).encode()[-1] for c in np.flatnonzero(_tables()[0]).tolist())


def _pass2(data: bytes, keep: np.ndarray, params: CleanParams) -> tuple[bytes, int]:
    data, _, _ = _normalise(data)
    raw = data.split(b"\n")[:-1]
    if len(raw) != len(keep):
        raise VocabswapError("the input file changed while it was being cleaned")
    kept = [raw[i] for i in np.flatnonzero(keep).tolist()]
    # kept lines are valid UTF-8 without NUL; write them as OpusFilter does: BOM-less and rstripped
    ws_last = _ws_last_bytes()
    for i, line in enumerate(kept):
        if line[-1] in ws_last or line.startswith(b"\xef\xbb\xbf"):
            text = line.decode("utf-8")
            kept[i] = (text[1:] if text.startswith("\ufeff") else text).rstrip().encode("utf-8")
    english = 0
    if params.filter_english and kept:
        p = english_scores([line.decode("utf-8") for line in kept], params.lid)
        drop = p > params.english_threshold
        english = int(drop.sum())
        if english:
            kept = [t for t, d in zip(kept, drop.tolist(), strict=True) if not d]
    if not kept:
        return b"", english
    return b"\n".join(kept) + b"\n", english


# --------------------------------------------------------------------------------------------------
# Driver


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _ordered(pool, func: Callable, args_iter, window: int) -> Iterator[Any]:
    """Like ``pool.imap`` but with at most ``window`` tasks in flight (imap reads its input eagerly)."""
    if pool is None:
        for args in args_iter:
            yield func(*args)
        return
    pending: deque = deque()
    for args in args_iter:
        pending.append(pool.apply_async(func, args))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


@dataclass
class _Run:
    """What both passes read: the inputs (one stream), the filters and the worker pool."""

    paths: list[Path]
    params: CleanParams
    pool: Any  # a fork Pool, or None to work in this process
    window: int  # chunks in flight
    chunk_bytes: int

    @property
    def name(self) -> str:
        return ", ".join(str(p) for p in self.paths)


@dataclass
class _Scan:
    """Pass 1 over every physical line: verdict code and dedup hash, and where each chunk's lines start."""

    codes: np.ndarray
    hashes: np.ndarray
    offsets: np.ndarray  # len(chunks) + 1


def _effective_params(params: CleanParams | None, filter_english: bool) -> CleanParams:
    params = params or CleanParams()
    if filter_english and not params.filter_english:
        params = CleanParams(**{**asdict(params), "filter_english": True})
    if params.filter_english:
        load_identifier(params.lid)  # fail early, and load once before forking so that the workers share it
    return params


@contextmanager
def _worker_pool(workers: int) -> Iterator[Any]:
    """A fork pool of ``workers`` processes (None for one); the tables are built first, to be inherited."""
    _tables()
    pool = mp.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        yield pool
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def _scan(run: _Run, stats: CleanStats) -> _Scan:
    """Pass 1: verdicts and hashes of every line; counts the line-ending repairs into ``stats``."""
    hashes: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    jobs = ((chunk, run.params) for chunk in iter_chunks(run.paths, run.chunk_bytes))
    for res in _ordered(run.pool, _pass1, jobs, run.window):
        hashes.append(res.hashes)
        codes.append(res.codes)
        stats.bom_stripped += res.bom
        stats.crlf_lines += res.crlf
        stats.cr_line_breaks += res.cr
    return _Scan(
        codes=np.concatenate(codes) if codes else np.zeros(0, dtype=np.uint8),
        hashes=np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64),
        offsets=np.concatenate([[0], np.cumsum([len(c) for c in codes])]),
    )


def _select(scan: _Scan, dedup: bool) -> tuple[np.ndarray, dict[str, int]]:
    """The lines to keep (valid, the first of their dedup key, passing every cheap filter) and the
    removal counts, each line under the first step that rejected it."""
    valid = scan.codes < INVALID_UTF8
    first = valid.copy()
    if dedup:
        idx = np.flatnonzero(valid)
        _, first_of_key = np.unique(scan.hashes[idx], return_index=True)  # stable: first occurrences
        first[:] = False
        first[idx[first_of_key]] = True
    removed = {
        "invalid_utf8": int(np.count_nonzero(scan.codes == INVALID_UTF8)),
        "nul_byte": int(np.count_nonzero(scan.codes == NUL)),
        "duplicate": int(np.count_nonzero(valid) - np.count_nonzero(first)),
    }
    survivors = scan.codes[first]
    for code, name in FILTER_NAMES.items():
        removed[name] = int(np.count_nonzero(survivors == code))
    return first & (scan.codes == OK), removed


def _write_kept(run: _Run, keep: np.ndarray, offsets: np.ndarray, out_path: Path) -> tuple[int, int]:
    """Pass 2: write the kept lines (English removed) atomically; returns (lines written, English)."""
    english = kept_lines = 0
    with atomic_path(out_path) as tmp, open(tmp, "wb") as out:
        jobs = (
            (chunk, keep[offsets[i] : offsets[i + 1]], run.params)
            for i, chunk in enumerate(iter_chunks(run.paths, run.chunk_bytes))
        )
        for payload, eng in _ordered(run.pool, _pass2, jobs, run.window):
            out.write(payload)
            english += eng
            kept_lines += payload.count(b"\n")
        if kept_lines == 0:
            raise VocabswapError(f"{run.name}: cleaning kept 0 of {len(keep)} lines; nothing to write")
    return kept_lines, english


def clean_corpus(
    inputs: str | Path | Sequence[str | Path],
    out_path: str | Path,
    *,
    lang: str | None = None,
    filter_english: bool = False,
    stats_path: str | Path | None = None,
    params: CleanParams | None = None,
    workers: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> CleanStats:
    """Clean ``inputs`` (one file, or several read in order as one stream, as if concatenated) into
    ``out_path`` (atomically) with the paper's chain; returns the statistics.

    Raises ``InputError`` for a missing or empty input and ``VocabswapError`` when no line survives.
    """
    t0 = time.perf_counter()
    paths = [Path(p) for p in ([inputs] if isinstance(inputs, str | Path) else inputs)]
    for path in paths:
        if not path.is_file():
            raise InputError(path, None, "input corpus not found")
    params = _effective_params(params, filter_english)
    workers = default_workers() if workers is None else max(1, workers)
    stats = CleanStats(lang=lang, params=asdict(params))
    with _worker_pool(workers) as pool:
        run = _Run(paths, params, pool, 2 * workers, chunk_bytes)
        scan = _scan(run, stats)
        stats.input_lines = len(scan.codes)
        if stats.input_lines == 0:
            raise InputError(run.name, None, "empty corpus: the file has no lines")
        keep, stats.removed = _select(scan, params.dedup)
        offsets = scan.offsets
        del scan  # 9 bytes a line, not needed while pass 2 runs
        stats.kept_lines, stats.removed["english"] = _write_kept(run, keep, offsets, Path(out_path))
    stats.seconds = round(time.perf_counter() - t0, 3)
    assert stats.kept_lines + sum(stats.removed.values()) == stats.input_lines
    if stats_path is not None:
        write_json(stats_path, stats.to_dict())
    log.info(
        "cleaned %s: kept %d of %d lines (%s)",
        run.name,
        stats.kept_lines,
        stats.input_lines,
        json.dumps(stats.removed),
    )
    return stats
