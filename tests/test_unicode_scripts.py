"""Unicode script of characters and the SPEC §3 token category (script, optionally position)."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pytest
from fontTools import unicodedata as ft_unicodedata

from vocabswap.unicode_scripts import categorise, category_of, char_script, codepoint_scripts, script_names


def test_codepoint_lookup_equals_the_ucd_for_every_codepoint():
    """The vectorised lookup gives fontTools' own per-character answer (Scripts.txt): every code point of
    the BMP up to CJK, then every 97th (Scripts.txt's long names, "Canadian_Aboriginal")."""
    names = script_names()
    ours = codepoint_scripts(np.arange(0x110000))
    sample = np.r_[np.arange(0, 0x3400), np.arange(0x3400, 0x110000, 97)]
    long_name = {
        code: ft_unicodedata.script_name(code).replace(" ", "_")
        for code in set(map(ft_unicodedata.script, map(chr, sample)))
    }
    expected = [long_name[ft_unicodedata.script(chr(c))] for c in sample]
    assert [names[i] for i in ours[sample]] == expected


@pytest.mark.parametrize(
    ("char", "script"),
    [
        ("a", "Latin"),
        ("א", "Hebrew"),
        ("ş", "Latin"),
        ("ж", "Cyrillic"),
        ("5", "Common"),
        (",", "Common"),
        ("▁", "Common"),
        ("\u0301", "Inherited"),
        ("\u05b8", "Hebrew"),
        ("中", "Han"),
        ("ー", "Common"),
    ],
)
def test_char_script(char, script):
    assert char_script(char) == script


@pytest.mark.parametrize(
    ("piece", "script", "position"),
    [
        ("▁שלום", "Hebrew", "initial"),
        ("ים", "Hebrew", "medial"),
        ("▁Merhaba", "Latin", "initial"),
        ("ları", "Latin", "medial"),
        ("▁123", "Common", "initial"),  # digits are Common
        ("2020", "Common", "medial"),
        (",", "Common", "medial"),  # punctuation is Common
        ("▁.", "Common", "initial"),
        ("ab5א", "Latin", "medial"),  # majority: 2 Latin vs 1 Common vs 1 Hebrew
        ("▁5a", "Common", "initial"),  # tie Common/Latin -> the earliest character's script
        ("a5", "Latin", "medial"),  # tie -> earliest
        ("אa", "Hebrew", "medial"),  # tie -> earliest
        ("aא", "Latin", "medial"),
        ("5אa", "Common", "medial"),  # three-way tie -> earliest
        ("▁", "Common", "initial"),  # just "▁": the script of "▁" itself (documented)
        ("▁▁", "Common", "initial"),  # one ▁ stripped, the other is a Common character
        ("▁▁a", "Common", "initial"),  # only ONE leading ▁ stripped: "▁a" ties Common/Latin -> Common
        ("שָׁלוֹם", "Hebrew", "medial"),  # Hebrew points are Hebrew script
        ("e\u0301\u0301", "Inherited", "medial"),  # combining marks count as Inherited
    ],
)
def test_token_category_follows_spec(piece, script, position):
    assert category_of(piece) == script
    assert category_of(piece, position=True) == f"{script}_{position}"


def _reference_category(piece: str) -> str:
    """SPEC §3 written out the slow, obvious way."""
    text = piece[1:] if piece.startswith("▁") else piece
    if not text:
        return "Common"
    scripts = [char_script(c) for c in text]
    counts = Counter(scripts)
    top = max(counts.values())
    return next(s for s in scripts if counts[s] == top)


def test_vectorised_categories_equal_the_reference_on_the_xlmr_vocabulary(base_model_full):
    """All 250,002 pieces of XLM-R's vocabulary: vectorised == per-piece reference, in well under 2 s."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_model_full)
    pieces = tok.convert_ids_to_tokens(list(range(len(tok))))
    start = time.perf_counter()
    codes, labels = categorise(pieces, position=True)
    seconds = time.perf_counter() - start
    assert seconds < 2.0, f"categorising {len(pieces)} pieces took {seconds:.2f} s"
    got = [labels[c] for c in codes]
    ref = [f"{_reference_category(p)}_{'initial' if p.startswith('▁') else 'medial'}" for p in pieces]
    assert got == ref
    scripts = Counter(g.rsplit("_", 1)[0] for g in got)
    assert len(scripts) > 30 and scripts.most_common(1)[0][0] in ("Latin", "Common")


def test_the_papers_unicode_15_table():
    """paper_compat reads Unicode 15.0 (the authors' Scripts-15.0.0.txt): a character added since is Unknown
    there; everything else keeps its script. The shipped delta covers characters the pinned table assigns."""
    from vocabswap.unicode15 import UNICODE_15_0_UNKNOWN
    from vocabswap.unicode_scripts import PAPER_UNICODE_VERSION

    names = script_names()
    everything = np.arange(0x110000)
    now, then = codepoint_scripts(everything), codepoint_scripts(everything, version=PAPER_UNICODE_VERSION)
    changed = np.nonzero(now != then)[0]
    assert len(changed) == sum(b - a + 1 for a, b in UNICODE_15_0_UNKNOWN) == 23_622
    assert {names[c] for c in then[changed]} == {"Unknown"}
    assert "Unknown" not in {names[c] for c in now[changed]}
    # U+05C8 (Hebrew) and U+1C89 (Cyrillic) came after 15.0; U+1E030 (Cyrillic Extended-D) came in 15.0
    for cp, script in ((0x05C8, "Hebrew"), (0x1C89, "Cyrillic"), (0x1E030, "Cyrillic")):
        assert names[codepoint_scripts(np.asarray([cp]))[0]] == script
    assert [names[c] for c in codepoint_scripts(np.asarray([0x05C8, 0x1C89, 0x1E030]), version="15.0.0")] == [
        "Unknown",
        "Unknown",
        "Cyrillic",
    ]
    codes, labels = categorise(["▁\u1c89\u1c89a", "▁ab"], version=PAPER_UNICODE_VERSION)
    assert [labels[c] for c in codes] == ["Unknown", "Latin"]
    with pytest.raises(ValueError, match="not available"):
        codepoint_scripts(np.asarray([65]), version="14.0.0")
