"""Cleaning: exact parity with OpusFilter (the paper's chain), messy input, stats, errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from _data import real_corpus

from vocabswap.data.clean import (
    ALPHABET_RATIO,
    AVG_WORD_LENGTH,
    LENGTH,
    LONG_WORD,
    OK,
    CleanParams,
    clean_corpus,
    dedup_hashes,
    line_verdicts,
)
from vocabswap.data.lid import english_probability
from vocabswap.errors import InputError, VocabswapError

opusfilter = pytest.importorskip("opusfilter")

from reference.opusfilter_ref import run_opusfilter  # noqa: E402

# Strings where a re-implementation of OpusFilter's filters typically goes wrong.
TRICKY = [
    "ΟΔΟΣ ΚΑΙ ΣΟΦΙΑ",  # final sigma once non-letters are removed
    "οδος και σοφια",
    "İSTANBUL ve IĞDIR",  # İ lowers to two characters
    "istanbul ve ığdır",
    "𝐀𝐁𝐂 mathematical letters 𝐚𝐛𝐜",  # astral letters (surrogate pairs in UTF-16)
    "abc mathematical letters abc",
    "word\u00a0with\u2028odd\x1cseparators\u0085here ok",  # str.split() whitespace beyond ASCII
    "x" * 31 + " fits",  # LongWordFilter: < 32
    "x" * 32 + " does not",
    "two words",
    "one",
    " ".join(["w"] * 100),  # max 100 words
    " ".join(["ww"] * 100),
    " ".join(["ww"] * 101),
    "a" * 16 + " " + "b" * 16,  # average exactly 16
    "a" * 16 + " " + "b" * 17,
    "a b",  # average 1
    "ab cd",  # average exactly 2
    "abcd 1234",  # alphabetic share exactly 0.5 with the space? 4/9
    "abcde 1234",  # 5/10 = 0.5
    "abc 12345 ",  # trailing whitespace is not counted (OpusFilter reads rstripped lines)
    "  leading spaces count here 12",
    "nagyon szép 🙂🙂🙂",
    "ﬁnancial ligature ﬁ",
    "Straße STRASSE",
    "e\u0301te\u0301 combining marks",
    "",
    "   ",
    "\t\t",
    "Hello, World! 2024",
    "hello world",
]


def _opus_decisions(lines: list[str], params: CleanParams) -> list[int]:
    from opusfilter.filters import (
        AlphabetRatioFilter,
        AverageWordLengthFilter,
        LengthFilter,
        LongWordFilter,
    )

    chain = [
        (LENGTH, LengthFilter(min_length=params.min_words, unit="word")),
        (AVG_WORD_LENGTH, AverageWordLengthFilter(max_length=params.max_avg_word_length)),
        (LONG_WORD, LongWordFilter(threshold=params.long_word_threshold)),
        (ALPHABET_RATIO, AlphabetRatioFilter(threshold=params.alphabet_ratio)),
    ]
    out = []
    for line in lines:
        seg = line.rstrip()
        code = OK
        for c, filt in chain:
            if not filt.accept(next(filt.score([(seg,)]))):
                code = c
                break
        out.append(code)
    return out


def test_verdicts_and_hashes_match_opusfilter_on_tricky_strings():
    from opusfilter.segment_hash import SegmentHasher

    params = CleanParams()
    assert line_verdicts(TRICKY, params).tolist() == _opus_decisions(TRICKY, params)
    hasher = SegmentHasher(lowercase=True, letters_only=True)
    assert dedup_hashes(TRICKY).tolist() == [hasher.apply([t]) for t in TRICKY]
    h = dedup_hashes(TRICKY)
    assert h[-1] == h[-2]  # punctuation, digits and case do not matter
    # letters are kept before lower-casing, so a final ς never meets the σ that Σ lowers to mid-word
    assert h[0] != h[1]


def test_verdicts_match_opusfilter_on_real_lines(tmp_path: Path):
    lines = real_corpus(tmp_path / "c.txt", n_lines=20_000).read_text(encoding="utf-8").splitlines()
    params = CleanParams()
    ours = line_verdicts(lines, params)
    assert ours.tolist() == _opus_decisions(lines, params)
    assert set(np.unique(ours).tolist()) == {OK, LENGTH, AVG_WORD_LENGTH, LONG_WORD, ALPHABET_RATIO}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_corpus(tmp_path_factory.mktemp("clean") / "real.txt", n_lines=120_000)


@pytest.mark.parametrize("filter_english", [False, True])
def test_parity_with_opusfilter_on_120k_real_lines(corpus: Path, tmp_path: Path, filter_english: bool):
    """vocabswap keeps exactly the lines OpusFilter keeps, in the same order, with the same text."""
    ours, ref = tmp_path / "ours.txt", tmp_path / "ref.txt"
    stats = clean_corpus(
        corpus, ours, filter_english=filter_english, workers=2, stats_path=tmp_path / "s.json"
    )
    run_opusfilter(corpus, ref, CleanParams(filter_english=filter_english))
    a = ours.read_text(encoding="utf-8").splitlines()
    b = ref.read_text(encoding="utf-8").splitlines()
    assert stats.input_lines == 120_000
    assert len(a) == stats.kept_lines > 10_000
    assert a == b
    removed = json.loads((tmp_path / "s.json").read_text())["removed"]
    assert removed["duplicate"] > 1000 and removed["length"] > 0 and removed["long_word"] > 0
    assert (removed["english"] > 0) == filter_english
    assert stats.kept_lines + sum(removed.values()) == stats.input_lines


def test_english_probability_matches_fasttext_predict():
    from vocabswap.data.lid import load_identifier as _lid

    lines = ["This is clearly an English sentence.", "Tere hommikust, kuidas läheb?", "kiloyla mı ?"]
    model = _lid()
    expected = []
    for line in lines:
        (prob, label), *_ = model.f.predict(line + "\n", 1, 0.0, "strict")
        expected.append(prob if label == "__label__en" else 0.0)
    assert english_probability(lines).tolist() == expected
    assert expected[0] > 0.9


def test_messy_bytes_are_counted_never_crash(tmp_path: Path):
    good = ["Esimene rida on siin kirjas", "Teine rida on samuti olemas", "Kolmas rida lõpetab selle"]
    raw = (
        b"\xef\xbb\xbf"
        + good[0].encode()
        + b"\r\n"  # BOM + CRLF
        + b"bad \xff\xfe bytes in this line\n"  # invalid UTF-8
        + good[1].encode()
        + b"\x00 with a nul byte\n"  # NUL
        + good[1].encode()
        + "\rNeljas rida tuleb pärast CR\n".encode()  # lone CR: two lines, as Python reads
        + b"\xef\xbb\xbf"
        + good[2].encode()
        + b"   \t\n"  # BOM mid-file, trailing whitespace
        + b"viimane rida ilma reavahetuseta"  # no final newline
    )
    inp = tmp_path / "messy.txt"
    inp.write_bytes(raw)
    out = tmp_path / "out.txt"
    stats = clean_corpus(inp, out, workers=1, stats_path=tmp_path / "s.json")
    assert stats.input_lines == 7
    assert stats.removed["invalid_utf8"] == 1 and stats.removed["nul_byte"] == 1
    assert stats.bom_stripped == 2 and stats.crlf_lines == 1 and stats.cr_line_breaks == 1
    assert out.read_text(encoding="utf-8").splitlines() == [
        good[0],
        good[1],
        "Neljas rida tuleb pärast CR",
        good[2],
        "viimane rida ilma reavahetuseta",
    ]
    # OpusFilter (which would crash on the bad bytes) agrees on what is left once they are gone
    sane = tmp_path / "sane.txt"
    sane.write_bytes(
        b"\n".join(
            line.replace(b"\xef\xbb\xbf", b"")
            for line in raw.split(b"\n")
            if b"\x00" not in line and b"\xff" not in line
        )
    )
    run_opusfilter(sane, tmp_path / "ref.txt")
    assert (tmp_path / "ref.txt").read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_workers_chunks_and_gzip_give_identical_output(corpus: Path, tmp_path: Path):
    small = tmp_path / "small.txt"
    small.write_bytes(b"".join(corpus.open("rb").readlines()[:30_000]))
    clean_corpus(small, tmp_path / "a.txt", workers=1)
    clean_corpus(small, tmp_path / "b.txt", workers=2, chunk_bytes=4096)
    gz = tmp_path / "small.txt.gz"
    gz.write_bytes(gzip.compress(small.read_bytes()))
    clean_corpus(gz, tmp_path / "c.txt", workers=2, chunk_bytes=65536)
    a = (tmp_path / "a.txt").read_bytes()
    assert a == (tmp_path / "b.txt").read_bytes() == (tmp_path / "c.txt").read_bytes()


def test_several_inputs_are_one_stream_as_if_concatenated(tmp_path: Path):
    lines = real_corpus(tmp_path / "c.txt", n_lines=6_000).read_bytes().split(b"\n")
    parts = [b"\n".join(lines[:2500]) + b"\n", b"\n".join(lines[2500:4000]), b"\n".join(lines[4000:])]
    paths = [tmp_path / f"p{i}.txt" for i in range(3)]  # p1 lacks its final newline, as a raw file may
    for path, data in zip(paths, parts, strict=True):
        path.write_bytes(data)
    joined = tmp_path / "joined.txt"
    joined.write_bytes(b"".join(parts))
    a = clean_corpus(paths, tmp_path / "a.txt", workers=2, chunk_bytes=4096, stats_path=tmp_path / "a.json")
    b = clean_corpus(joined, tmp_path / "b.txt", workers=1, stats_path=tmp_path / "b.json")
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()
    assert (a.input_lines, a.kept_lines, a.removed) == (b.input_lines, b.kept_lines, b.removed)
    with pytest.raises(InputError, match=r"p9\.txt: input corpus not found"):
        clean_corpus([paths[0], tmp_path / "p9.txt"], tmp_path / "c.txt", workers=1)


def test_empty_corpus_is_an_error(tmp_path: Path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty corpus"):
        clean_corpus(empty, tmp_path / "out.txt", workers=1)
    assert not (tmp_path / "out.txt").exists()
    junk = tmp_path / "junk.txt"
    junk.write_text("1\n22 33\n", encoding="utf-8")
    with pytest.raises(VocabswapError, match="kept 0 of 2 lines"):
        clean_corpus(junk, tmp_path / "out.txt", workers=1)
    assert not (tmp_path / "out.txt").exists()
    with pytest.raises(InputError, match="not found"):
        clean_corpus(tmp_path / "missing.txt", tmp_path / "out.txt")


@pytest.mark.slow
def test_parity_with_opusfilter_on_400k_lines_with_english_filter(tmp_path: Path):
    corpus = real_corpus(tmp_path / "big.txt", n_lines=400_000, seed=1)
    clean_corpus(corpus, tmp_path / "ours.txt", filter_english=True, workers=2)
    run_opusfilter(corpus, tmp_path / "ref.txt", CleanParams(filter_english=True))
    assert (tmp_path / "ours.txt").read_bytes() == (tmp_path / "ref.txt").read_bytes()
