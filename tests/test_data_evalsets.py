"""Packaged sources (SPEC §5), evaluation data dirs, and the paper's split rules (SPEC §3)."""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from vocabswap.data.conllu import UPOS_TAGS
from vocabswap.data.evalsets import build_eval_set, build_eval_set_from_settings
from vocabswap.data.packaged import (
    hebrew_conllu_path,
    hebrew_sentences,
    packaged_raw_text,
    packaged_tagged,
    turkish_sentences,
)
from vocabswap.data.splits import WikiannSplit, carve_dev, random_split, split_lines
from vocabswap.data.tagged import read_tagged
from vocabswap.errors import InputError, VocabswapError


@pytest.fixture(scope="module")
def hebrew_ner() -> dict:
    return packaged_tagged("packaged:ud-hebrew-htb", "ner")


def test_hebrew_pos_and_ner_have_the_source_split(hebrew_ner):
    pos = packaged_tagged("ud-hebrew-htb", "pos")
    assert {k: len(v) for k, v in pos.items()} == {"train": 4937, "dev": 500, "test": 716}
    assert {k: len(v) for k, v in hebrew_ner.items()} == {"train": 4937, "dev": 500, "test": 716}
    for split in pos:  # the same syntactic words in both tasks
        assert [w for w, _ in pos[split]] == [w for w, _ in hebrew_ner[split]]
    assert {t for s in pos.values() for _, tags in s for t in tags} <= UPOS_TAGS
    types = Counter(t[2:] for s in hebrew_ner.values() for _, tags in s for t in tags if t != "O")
    assert sorted(types) == ["ANG", "DUC", "EVE", "FAC", "GPE", "LOC", "ORG", "PER", "WOA"]
    assert all(t[:2] in ("B-", "I-") for s in hebrew_ner.values() for _, tags in s for t in tags if t != "O")


def test_turkish_pos_merges_inflectional_groups():
    data = packaged_tagged("packaged:turkish-treebanks", "pos")
    # the package's own split: sentence i of each file is dev if i % 10 == 8, test if 9
    assert {k: len(v) for k, v in data.items()} == {"train": 3881, "dev": 485, "test": 485}
    tags = Counter(t for s in data.values() for _, ts in s for t in ts)
    assert set(tags) <= UPOS_TAGS and {"CCONJ", "PART"} <= set(tags)
    sents = turkish_sentences()
    for split, ss in sents.items():
        for sent, (words, _) in zip(ss, data[split], strict=True):
            assert "".join(words) == "".join(sent.meta["text"].split())  # words = the surface words
    first = data["train"][1]
    assert first[0][:3] == ["Açıklanmayan", "soruların", "müfredata"] and first[1][0] == "ADJ"


def test_raw_text_is_train_only(tmp_path: Path):
    out = tmp_path / "he.txt"
    assert packaged_raw_text("packaged:ud-hebrew-htb", out) == 4937
    lines = set(out.read_text(encoding="utf-8").splitlines())
    sents = hebrew_sentences()
    held_out = {s.meta["text"] for k in ("dev", "test") for s in sents[k]}
    assert not (lines & held_out - {s.meta["text"] for s in sents["train"]})
    tr = tmp_path / "tr.txt"
    assert packaged_raw_text("turkish-treebanks", tr) == 3881


def test_build_packaged_eval_dir(tmp_path: Path, hebrew_ner):
    meta = build_eval_set("packaged:ud-hebrew-htb", "he", "ner", tmp_path / "he-ner")
    assert meta["sizes"] == {"train": 4937, "dev": 500, "test": 716} and not meta["test_only"]
    assert meta["licence"] == "CC BY-NC-SA 4.0" and len(meta["labels"]) == 19
    assert json.loads((tmp_path / "he-ner" / "meta.json").read_text()) == meta
    assert read_tagged(tmp_path / "he-ner" / "dev.tsv") == hebrew_ner["dev"]
    with pytest.raises(VocabswapError, match="no ner data"):
        build_eval_set("packaged:turkish-treebanks", "tr", "ner", tmp_path / "x")
    with pytest.raises(VocabswapError, match="not tr"):
        build_eval_set("packaged:ud-hebrew-htb", "tr", "pos", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def _write_ud_dir(root: Path, with_dev: bool) -> None:
    """A UD treebank directory made from the real Hebrew file, split by its # set comments."""
    root.mkdir()
    blocks = hebrew_conllu_path().read_text(encoding="utf-8").strip().split("\n\n")
    by_set: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    for b in blocks:
        by_set[b.split("# set = ")[1].split("\n")[0]].append(b)
    for split, bs in by_set.items():
        if split == "dev" and not with_dev:
            continue
        (root / f"he_htb-ud-{split}.conllu").write_text("\n\n".join(bs) + "\n\n", encoding="utf-8")


def test_ud_dir_with_dev_carved_from_train(tmp_path: Path):
    _write_ud_dir(tmp_path / "UD_Hebrew-HTB", with_dev=False)
    meta = build_eval_set(
        "ud:" + str(tmp_path / "UD_Hebrew-HTB"), "he", "pos", tmp_path / "out", dev_from_train=300
    )
    assert meta["sizes"] == {"train": 4637, "dev": 300, "test": 716}
    build_eval_set(
        "ud:" + str(tmp_path / "UD_Hebrew-HTB"), "he", "pos", tmp_path / "out2", dev_from_train=300
    )
    assert (tmp_path / "out" / "dev.tsv").read_bytes() == (tmp_path / "out2" / "dev.tsv").read_bytes()
    with pytest.raises(VocabswapError, match="no dev split; set dev_from_train"):
        build_eval_set("ud:" + str(tmp_path / "UD_Hebrew-HTB"), "he", "pos", tmp_path / "out3")
    _write_ud_dir(tmp_path / "UD_Full", with_dev=True)
    meta = build_eval_set("ud:" + str(tmp_path / "UD_Full"), "he", "pos", tmp_path / "out4")
    assert meta["sizes"] == {"train": 4937, "dev": 500, "test": 716}


def _write_bio(path: Path, sents) -> None:
    path.write_text(
        "".join("".join(f"he:{w} {t}\n" for w, t in zip(ws, ts, strict=True)) + "\n" for ws, ts in sents),
        encoding="utf-8",
    )


def test_wikiann_resplit_and_test_only(tmp_path: Path, hebrew_ner):
    pooled = hebrew_ner["train"] + hebrew_ner["dev"] + hebrew_ner["test"]  # 6,153 sentences
    _write_bio(tmp_path / "wikiann-he.bio", pooled)
    settings = {
        "source": f"wikiann:{tmp_path / 'wikiann-he.bio'}",
        "resplit": True,
        "seed": 1,
        "resplit_fractions": [0.85, 0.05, 0.1],
        "min_dev": 256,
        "min_test": 512,
    }
    meta = build_eval_set_from_settings(settings, "ner", tmp_path / "big")  # the workflow's call
    assert meta["sizes"] == {"train": 6153 - 616 - 308, "dev": 308, "test": 616}
    got = [s for k in ("train", "dev", "test") for s in read_tagged(tmp_path / "big" / f"{k}.tsv")]
    assert sorted(map(str, got)) == sorted(map(str, pooled))
    # the original archive layout: LANG.tar.gz holding wikiann-LANG.bio
    with tarfile.open(tmp_path / "he.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "wikiann-he.bio", arcname="wikiann-he.bio")
    meta2 = build_eval_set(f"wikiann:{tmp_path / 'he.tar.gz'}", "he", "ner", tmp_path / "big2")
    assert meta2["sizes"] == meta["sizes"]
    assert (tmp_path / "big2" / "test.tsv").read_bytes() == (tmp_path / "big" / "test.tsv").read_bytes()
    _write_bio(tmp_path / "small.bio", pooled[:1791])
    meta = build_eval_set(f"wikiann:{tmp_path / 'small.bio'}", "he", "ner", tmp_path / "small")
    assert meta["test_only"] and meta["sizes"] == {"train": 0, "dev": 0, "test": 1791}
    assert read_tagged(tmp_path / "small" / "train.tsv") == []


def test_wikiann_sizes_and_seeding():
    w = WikiannSplit()
    assert w.sizes(1791) == {"train": 0, "dev": 0, "test": 1791}
    assert w.sizes(1792) == {"train": 1024, "dev": 256, "test": 512}
    # the paper's float arithmetic: dev = ceil(0.05 / 0.9 * 18000) = ceil(1000.0000000000001) = 1001
    assert w.sizes(20000) == {"train": 16999, "dev": 1001, "test": 2000}
    items = list(range(5000))
    a, b = random_split(items, seed=1), random_split(items, seed=1)
    for n in (1792, 2000, 5000, 20000):
        assert {k: len(v) for k, v in random_split(list(range(n))).items()} == w.sizes(n)
    assert a == b and random_split(items, seed=2) != a
    assert sorted(a["train"] + a["dev"] + a["test"]) == items
    train, dev = carve_dev(items, 300, seed=1)
    assert len(dev) == 300 and sorted(train + dev) == items and dev == sorted(dev)
    assert carve_dev(items, 300, seed=1) == (train, dev) and carve_dev(items, 300, seed=2)[1] != dev


def test_split_lines(tmp_path: Path):
    src = tmp_path / "c.txt"
    src.write_text("".join(f"line {i}\n" for i in range(1000)), encoding="utf-8")
    assert split_lines(src, train=tmp_path / "t.txt", dev=tmp_path / "d.txt", dev_lines=100, seed=1) == {
        "train": 900,
        "dev": 100,
    }
    t = (tmp_path / "t.txt").read_text().splitlines()
    d = (tmp_path / "d.txt").read_text().splitlines()
    assert sorted(t + d, key=lambda x: int(x.split()[1])) == src.read_text().splitlines()
    with pytest.raises(VocabswapError, match="cannot hold out"):
        split_lines(src, train=tmp_path / "t.txt", dev=tmp_path / "d.txt", dev_lines=1000)


def test_ud_split_in_parts_is_read_in_name_order_and_bad_layouts_fail(tmp_path: Path):
    """UD_Russian-SynTagRus r2.11 ships train as -train-a/-b/-c: read in name order, each part in meta.json;
    a whole file beside parts, or no train at all, is one clear error naming the directory."""
    _write_ud_dir(tmp_path / "UD_Parts", with_dev=True)
    root = tmp_path / "UD_Parts"
    blocks = (root / "he_htb-ud-train.conllu").read_text(encoding="utf-8").strip().split("\n\n")
    (root / "he_htb-ud-train.conllu").unlink()
    third = len(blocks) // 3
    thirds = [blocks[:third], blocks[third : 2 * third], blocks[2 * third :]]
    for part, bs in zip("cab", (thirds[2], thirds[0], thirds[1]), strict=True):  # written out of order
        (root / f"he_htb-ud-train-{part}.conllu").write_text("\n\n".join(bs) + "\n\n", encoding="utf-8")
    meta = build_eval_set("ud:" + str(root), "he", "pos", tmp_path / "out")
    assert [f["name"] for f in meta["files"]["train"]] == [f"he_htb-ud-train-{p}.conllu" for p in "abc"]
    assert meta["sizes"] == {"train": 4937, "dev": 500, "test": 716}
    from vocabswap.data.conllu import read_conllu

    first_of_a = read_conllu(root / "he_htb-ud-train-a.conllu")[0].words
    assert read_tagged(tmp_path / "out" / "train.tsv")[0][0] == first_of_a
    (root / "he_htb-ud-train.conllu").write_text("\n\n".join(blocks[:5]) + "\n\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"UD_Parts: several train files that are not one split's parts"):
        build_eval_set("ud:" + str(root), "he", "pos", tmp_path / "out2")
    for p in root.glob("*-ud-train*.conllu"):
        p.unlink()
    with pytest.raises(InputError, match=r"no \*-ud-train.conllu \(nor its parts\)"):
        build_eval_set("ud:" + str(root), "he", "pos", tmp_path / "out3")
    assert not (tmp_path / "out2").exists() and not (tmp_path / "out3").exists()
