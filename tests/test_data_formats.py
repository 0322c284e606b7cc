"""Readers and writers: the two-column tagged format, CoNLL-U, BIO/BIOES NER files."""

from __future__ import annotations

from pathlib import Path

import pytest

from vocabswap.data.conllu import read_conllu
from vocabswap.data.ner import TagError, read_ner, to_bio, validate_bio
from vocabswap.data.tagged import read_tagged, write_tagged
from vocabswap.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def test_tagged_round_trip(tmp_path: Path):
    sents = [(["Burda", "da", "öylemi", "?"], ["PRON", "PART", "VERB", "PUNCT"]), (["אנשים"], ["NOUN"])]
    path = tmp_path / "x.tsv"
    assert write_tagged(path, sents) == 2
    assert (
        path.read_text(encoding="utf-8") == "Burda\tPRON\nda\tPART\nöylemi\tVERB\n?\tPUNCT\n\nאנשים\tNOUN\n\n"
    )
    assert read_tagged(path) == sents
    write_tagged(tmp_path / "empty.tsv", [])
    assert read_tagged(tmp_path / "empty.tsv") == []


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (b"a\tNOUN\nb\tNOUN\textra\n", 2, "expected 2 tab-separated columns"),
        (b"a\tNOUN\n\nb\n", 3, "expected 2 tab-separated columns"),
        (b"a\tNOUN\nb\t\n", 2, "invalid tag"),
        (b"a\tNOUN\n\xff\tNOUN\n", 2, "invalid UTF-8"),
        (b"\tNOUN\n", 1, "empty word"),
    ],
)
def test_tagged_errors_name_file_and_line(tmp_path: Path, content: bytes, line: int, message: str):
    path = tmp_path / "bad.tsv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=rf"bad.tsv:{line}: {message}"):
        read_tagged(path)


def test_write_tagged_rejects_what_would_not_round_trip(tmp_path: Path):
    with pytest.raises(ValueError, match="word"):
        write_tagged(tmp_path / "x.tsv", [(["a\tb"], ["X"])])
    with pytest.raises(ValueError, match="2 words but 1 tags"):
        write_tagged(tmp_path / "x.tsv", [(["a", "b"], ["X"])])
    assert not (tmp_path / "x.tsv").exists()


def test_conllu_skips_multiword_ranges_and_empty_nodes():
    (sent,) = read_conllu(FIXTURES / "mwt_empty_nodes.conllu")
    assert sent.words == ["מ", "תאילנד", "ל", "ישראל"]
    assert sent.upos == ["ADP", "PROPN", "ADP", "PROPN"]
    assert sent.meta["text"] == "מתאילנד לישראל"
    assert [t.misc_dict()["biose"] for t in sent.tokens] == ["O", "S-GPE", "O", "S-GPE"]


@pytest.mark.parametrize(
    ("name", "line", "message"),
    [
        ("bad_columns.conllu", 4, "expected 10 tab-separated columns, got 8"),
        ("bad_id.conllu", 3, "ID 'x2' is not a positive integer"),
        ("bad_upos.conllu", 3, "unknown UPOS tag 'PRT'"),
        ("bad_utf8.conllu", 3, "invalid UTF-8"),
    ],
)
def test_conllu_errors_name_file_and_line(name: str, line: int, message: str):
    with pytest.raises(InputError, match=rf"{name}:{line}: {message}"):
        read_conllu(FIXTURES / name)


def test_conllu_tag_map_and_id_sequence(tmp_path: Path):
    sents = read_conllu(FIXTURES / "bad_upos.conllu", tag_map={"PRT": "PART"})
    assert sents[0].upos == ["PRON", "PART"]
    gap = tmp_path / "gap.conllu"
    gap.write_text("1\ta\ta\tX\t_\t_\t0\troot\t_\t_\n3\tb\tb\tX\t_\t_\t1\tdep\t_\t_\n\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"gap.conllu:2: ID 3 out of sequence"):
        read_conllu(gap)


def test_bioes_to_bio():
    tags = ["B-ORG", "I-ORG", "E-ORG", "O", "S-PER", "S-PER", "B-GPE", "E-GPE"]
    bio = to_bio(tags)
    assert bio == ["B-ORG", "I-ORG", "I-ORG", "O", "B-PER", "B-PER", "B-GPE", "I-GPE"]
    validate_bio(bio)
    assert to_bio(["U-LOC", "B-LOC", "L-LOC"]) == ["B-LOC", "B-LOC", "I-LOC"]
    with pytest.raises(TagError, match="does not continue"):
        to_bio(["O", "I-PER"])
    assert to_bio(["O", "I-PER", "I-PER"], repair=True) == ["O", "B-PER", "I-PER"]
    with pytest.raises(TagError, match="does not continue"):
        validate_bio(["B-PER", "I-LOC"])
    with pytest.raises(TagError, match="invalid NER tag"):
        to_bio(["B_PER"])


def test_read_ner_wikiann_layout(tmp_path: Path):
    path = tmp_path / "wikiann-he.bio"
    path.write_text(
        "he:עשרות O\nhe:אנשים O\nhe:מתאילנד B-GPE\n\nhe:ישראל I-LOC\nhe:היום O\n",
        encoding="utf-8",
    )
    assert read_ner(path) == [
        (["עשרות", "אנשים", "מתאילנד"], ["O", "O", "B-GPE"]),
        (["ישראל", "היום"], ["B-LOC", "O"]),  # an entity opening with I- is repaired
    ]
    bad = tmp_path / "bad.bio"
    bad.write_text("word B-PER\nword2 B+PER\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.bio:2: invalid NER tag"):
        read_ner(bad)
