"""The paper grid's sources in their real layouts: each UD treebank that config/paper.yaml names is served
from the local HTTP server with its real file listing at the release paper.yaml names
(tests/fixtures/real_layouts/, read from GitHub snapshots) and built into a POS set with paper.yaml's own
settings, offline.

The served files carry real CoNLL-U (sentences of the packaged UD Hebrew-HTB, the one treebank that ships
offline) under each treebank's real file names; their text stands in for layouts, not for languages.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from _data import treebank_texts
from test_data_download import _Server

from vocabswap.config import Grid, load_config
from vocabswap.data.evalsets import build_eval_set_from_settings
from vocabswap.data.packaged import hebrew_conllu_path
from vocabswap.data.sampling import plan_sampling, sample_target
from vocabswap.data.sources import fetch_corpus, git_blob_sha1
from vocabswap.data.splits import split_lines

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "real_layouts"
UD_LISTING = json.loads((FIXTURES / "ud_paper.json").read_text(encoding="utf-8"))["treebanks"]
# sentences served per split part: enough for a 300-sentence dev carved from train
SENTENCES = {"train": 420, "dev": 40, "test": 40}


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def server():
    s = _Server()
    yield s
    s.close()


@pytest.fixture(scope="module")
def paper_grid() -> Grid:
    return Grid(load_config(ROOT / "config" / "paper.yaml"))


@pytest.fixture(scope="module")
def conllu_blocks() -> list[str]:
    return hebrew_conllu_path().read_text(encoding="utf-8").strip().split("\n\n")


def _split_of(name: str) -> str | None:
    for split in SENTENCES:
        if f"-ud-{split}." in name or f"-ud-{split}-" in name:
            return split
    return None


def _serve_treebank(server: _Server, name: str, blocks: list[str]) -> dict[str, int]:
    """The treebank's real listing at the GitHub contents API path, each .conllu file with real
    CoNLL-U content (its object id recomputed for that content); returns the sentences served per split."""
    listing, served, start = [], {"train": 0, "dev": 0, "test": 0}, 0
    for entry in UD_LISTING[name]["files"]:
        item = {"type": entry["type"], "name": entry["name"], "path": entry["name"], "sha": entry["sha"]}
        split = _split_of(entry["name"]) if entry["name"].endswith(".conllu") else None
        if split:
            n = SENTENCES[split]
            data = ("\n\n".join(blocks[start : start + n]) + "\n\n").encode()
            start += n
            served[split] += n
            item["sha"] = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            item["size"] = len(data)
            server.routes[f"/raw/{name}/{entry['name']}"] = data
        item["download_url"] = f"{server.url}/raw/{name}/{entry['name']}" if entry["type"] == "file" else None
        listing.append(item)
    server.routes[f"/repos/UniversalDependencies/{name}/contents"] = json.dumps(listing).encode()
    return served


def test_the_listings_are_the_real_ones():
    """The facts the code must follow, as the snapshots show them."""
    assert len(UD_LISTING) == 10
    ru = [f["name"] for f in UD_LISTING["UD_Russian-SynTagRus"]["files"] if f["name"].endswith(".conllu")]
    assert ru == [
        "ru_syntagrus-ud-dev.conllu",
        "ru_syntagrus-ud-test.conllu",
        "ru_syntagrus-ud-train-a.conllu",
        "ru_syntagrus-ud-train-b.conllu",
        "ru_syntagrus-ud-train-c.conllu",
    ]
    for name in ("UD_Erzya-JR", "UD_North_Sami-Giella"):
        assert not [f for f in UD_LISTING[name]["files"] if "-ud-dev" in f["name"]]


def test_each_paper_pos_set_builds_from_its_real_listing(
    server: _Server, paper_grid: Grid, conllu_blocks: list[str], tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("VOCABSWAP_GITHUB_API_URL", server.url)
    monkeypatch.setenv("VOCABSWAP_DOWNLOADS", str(tmp_path / "downloads"))
    langs = [lang for lang, task in paper_grid.eval_sets() if task == "pos"]
    assert sorted(langs) == ["et", "eu", "fi", "he", "hu", "hy", "myv", "ru", "sme", "te"]
    for lang in langs:
        settings = paper_grid.eval_settings(lang, "pos")
        name, _, release = settings["source"].removeprefix("ud:").partition("@")
        assert name in UD_LISTING and f"r{release}" == UD_LISTING[name]["tag"], lang
        served = _serve_treebank(server, name, conllu_blocks)
        meta = build_eval_set_from_settings(settings, "pos", tmp_path / "pos" / lang, lang=lang)
        real = sorted(f["name"] for f in UD_LISTING[name]["files"] if f["name"].endswith(".conllu"))
        assert sorted(f["name"] for fs in meta["files"].values() for f in fs) == real, lang
        carved = settings.get("dev_from_train") or 0
        assert bool(carved) == (served["dev"] == 0), f"{lang}: dev_from_train iff the treebank has no dev"
        assert meta["sizes"] == {
            "train": served["train"] - carved,
            "dev": served["dev"] or carved,
            "test": served["test"],
        }, lang
        for files in meta["files"].values():
            for f in files:  # what was read is what the listing's object id names
                got = tmp_path / "downloads" / "ud" / f"{name}@{release}" / f["name"]
                listed = json.loads(server.routes[f"/repos/UniversalDependencies/{name}/contents"])
                assert git_blob_sha1(got) == next(e["sha"] for e in listed if e["name"] == f["name"])
    ru = json.loads((tmp_path / "pos" / "ru" / "meta.json").read_text())
    assert [f["name"] for f in ru["files"]["train"]] == [
        f"ru_syntagrus-ud-train-{p}.conllu" for p in "abc"
    ]  # the three parts, read in name order
    assert ru["sizes"]["train"] == 3 * SENTENCES["train"]
    sme = json.loads((tmp_path / "pos" / "sme" / "meta.json").read_text())
    assert sme["dev_from_train"] == {"sentences": 256, "seed": 1}


SOURCES = json.loads((FIXTURES / "sources.json").read_text(encoding="utf-8"))


def _oscar_part(lines: list[str], lang: str) -> bytes:
    """An OSCAR 22.01 part file: gzipped JSON Lines, a document a line (content, warc_headers, metadata)."""
    docs = [lines[i : i + 25] for i in range(0, len(lines), 25)]
    records = [
        {
            "content": "\n".join(doc),
            "warc_headers": {"warc-type": "conversion", "content-length": str(len("\n".join(doc).encode()))},
            "metadata": {"identification": {"label": lang, "prob": 0.99}, "annotation": None},
        }
        for doc in docs
    ]
    return gzip.compress("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode())


def _serve_oscar(server: _Server, code: str, lines: list[str]) -> None:
    assert code in SOURCES["oscar_2201"]["languages"], f"OSCAR-2201 has no {code!r} subcorpus"
    entries = []
    for n, part in enumerate((lines[: len(lines) // 2], lines[len(lines) // 2 :]), 1):
        data = _oscar_part(part, code)
        path = SOURCES["oscar_2201"]["part_path"].format(lang=code, n=n)
        server.routes[f"/datasets/oscar-corpus/OSCAR-2201/resolve/main/{path}"] = data
        digest = hashlib.sha256(data).hexdigest()
        entries.append(
            {
                "type": "file",
                "oid": "0" * 40,
                "size": len(data),
                "path": path,
                "lfs": {"oid": digest, "size": len(data), "pointerSize": 134},
            }
        )
    tree = f"/api/datasets/oscar-corpus/OSCAR-2201/tree/main/compressed/{code}_meta"
    server.routes[tree] = json.dumps(entries).encode()


def _serve_opus(server: _Server, code: str, lines: list[str]) -> None:
    """The OPUS API's answer for one monolingual file (OpusTools' row columns) and the file it names."""
    path = f"/OPUS-LayoutTest/v1/mono/{code}.txt.gz"
    server.routes[path] = gzip.compress(("\n".join(lines) + "\n").encode())
    row = dict.fromkeys(SOURCES["opus_api"]["row_fields"], "")
    row.update(
        corpus="LayoutTest",
        version="v1",
        latest="True",
        preprocessing="mono",
        source=code,
        url=server.url + path,
        id=1,
        size=len(lines),
    )
    server.routes["/opusapi/"] = json.dumps({"corpora": [row]}).encode()


def _fetched_language(server: _Server, paper_grid: Grid, lang: str, lines: list[str], out: Path) -> Path:
    """Each corpus source paper.yaml names for ``lang``, served in its real shape, fetched into one file."""
    parts = []
    for name, source in paper_grid.config["languages"][lang]["corpus"].items():
        kind, _, code = source.partition(":")
        assert kind in ("oscar", "opus"), f"{lang}: {source} has no public layout to serve"
        (_serve_oscar if kind == "oscar" else _serve_opus)(server, code, lines)
        fetch_corpus(source, out.with_suffix(f".{name}.txt"), lang=lang)
        parts.append(out.with_suffix(f".{name}.txt").read_text(encoding="utf-8"))
    out.write_text("".join(parts), encoding="utf-8")
    return out


def test_paper_multilingual_targets_sample_from_their_real_source_shapes(
    server: _Server, paper_grid: Grid, tmp_path: Path, monkeypatch
):
    """The multi and uralic targets: each language's paper.yaml sources (OSCAR-2201 parts through the hub
    tree API, OPUS monolingual files through the OPUS API) fetched, a dev split held out, and the paper's
    α-sampling run with its 100,000-line dev sample (LAPT and tokenizer samples scaled down)."""
    monkeypatch.setenv("VOCABSWAP_HF_URL", server.url)
    monkeypatch.setenv("VOCABSWAP_OPUS_API_URL", server.url + "/opusapi/")
    monkeypatch.setenv("VOCABSWAP_DOWNLOADS", str(tmp_path / "downloads"))
    monkeypatch.setenv("HF_TOKEN", "hf_layout_test")
    texts = treebank_texts()
    for target in ("multi", "uralic"):
        langs = paper_grid.target_languages(target)
        train, dev = {}, {}
        for i, lang in enumerate(langs):
            lines = texts[i * 300 : i * 300 + 200 * (i + 1)]  # different sizes: p differs per language
            raw = _fetched_language(server, paper_grid, lang, lines, tmp_path / target / f"{lang}.txt")
            train[lang], dev[lang] = raw.with_suffix(".train"), raw.with_suffix(".dev")
            split_lines(raw, train=train[lang], dev=dev[lang], dev_lines=40, seed=1)
        sampling = paper_grid.section("sampling", target=target)
        sampling.update(train_lines=2000, tokenizer_lines=3000)
        plan = plan_sampling(
            sampling,
            paper_grid.section("lapt", target=target),
            paper_grid.section("tokenizer", target=target),
        )
        outs = {split: tmp_path / target / f"sample.{split}.txt" for split in ("train", "dev", "tokenizer")}
        comp = sample_target(train, dev, outs, plan, composition_path=tmp_path / target / "composition.json")
        splits = comp["splits"]
        assert splits["dev"]["lines"] == 100_000 and splits["dev"]["sized_by"] == "sampling.dev_lines"
        assert (splits["train"]["lines"], splits["tokenizer"]["lines"]) == (2000, 3000)
        assert set(splits["dev"]["languages"]) == set(langs), target
        q = {lang: v["q"] for lang, v in splits["tokenizer"]["languages"].items()}
        p = {lang: v["p"] for lang, v in splits["tokenizer"]["languages"].items()}
        z = sum(v**0.2 for v in p.values())
        assert all(abs(q[lang] - p[lang] ** 0.2 / z) < 1e-9 for lang in langs)
