"""The paper grid's sources in their real layouts: each UD treebank that config/paper.yaml names is served
from the local HTTP server with its real r2.11 file listing (tests/fixtures/real_layouts/, read from
GitHub snapshots) and built into a POS set with paper.yaml's own settings, offline.

The served files carry real CoNLL-U (sentences of the packaged UD Hebrew-HTB, the one treebank that ships
offline) under each treebank's real file names; their text stands in for layouts, not for languages.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from test_data_download import _Server

from vocabswap.config import Grid, load_config
from vocabswap.data.evalsets import build_eval_set_from_settings
from vocabswap.data.packaged import hebrew_conllu_path
from vocabswap.data.sources import git_blob_sha1

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "real_layouts"
UD_LISTING = json.loads((FIXTURES / "ud_r2.11.json").read_text(encoding="utf-8"))["treebanks"]
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
    """The treebank's real r2.11 listing at the GitHub contents API path, each .conllu file with real
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
        assert release == "2.11" and name in UD_LISTING
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
                got = tmp_path / "downloads" / "ud" / f"{name}@2.11" / f["name"]
                listed = json.loads(server.routes[f"/repos/UniversalDependencies/{name}/contents"])
                assert git_blob_sha1(got) == next(e["sha"] for e in listed if e["name"] == f["name"])
    ru = json.loads((tmp_path / "pos" / "ru" / "meta.json").read_text())
    assert [f["name"] for f in ru["files"]["train"]] == [
        f"ru_syntagrus-ud-train-{p}.conllu" for p in "abc"
    ]  # the three parts, read in name order
    assert ru["sizes"]["train"] == 3 * SENTENCES["train"]
    sme = json.loads((tmp_path / "pos" / "sme" / "meta.json").read_text())
    assert sme["dev_from_train"] == {"sentences": 256, "seed": 1}
