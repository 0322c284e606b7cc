"""The committed showcase evidence (docs/showcase/) is what its run wrote: every file matches the sha256 in
MANIFEST.json, and each task table is exactly what `vocabswap.tables` builds from the committed result JSONs
with the showcase config's table settings. So no number in docs/showcase/ can have been typed in by hand."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from vocabswap.config import Grid, load_config
from vocabswap.tables import build_table, load_results

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "docs" / "showcase"
MANIFEST = json.loads((EVIDENCE / "MANIFEST.json").read_text(encoding="utf-8"))


def test_every_exported_file_matches_its_manifest_digest():
    assert MANIFEST, "MANIFEST.json lists no files"
    for rel, digest in MANIFEST.items():
        path = EVIDENCE / rel
        assert path.is_file(), f"{rel} is in MANIFEST.json but not committed"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{rel} differs from its run's output"


@pytest.mark.parametrize("task", ["pos", "ner"])
def test_task_tables_rebuild_from_the_committed_result_jsons(task):
    settings = Grid(load_config(ROOT / "config" / "showcase.yaml")).table_settings("showcase", task)
    # the showcase experiment's rows: target he and the off-the-shelf model (he-lr4 is the lrcheck table's)
    paths = sorted((EVIDENCE / "results" / "finetune").rglob("*.json"))
    results = [r for r in load_results(paths) if r["cell"]["target"] != "he-lr4"]
    table = build_table(results, **settings)
    committed = EVIDENCE / "results" / "tables" / "showcase"
    assert table.to_csv() == (committed / f"{task}.csv").read_text(encoding="utf-8")
    assert table.to_markdown() == (committed / f"{task}.md").read_text(encoding="utf-8")
    assert table.to_latex() == (committed / f"{task}.tex").read_text(encoding="utf-8")


def test_lapt_loss_table_rewrites_byte_for_byte_from_the_committed_logs(tmp_path):
    """The one table writer gives the LAPT loss table the run wrote (md, csv, tex), from its LAPT logs."""
    from vocabswap.lapt_curves import read_curve, write_loss_table

    models = EVIDENCE / "results" / "models"
    keys = ("target", "vocab", "regime", "method")
    curves = []
    for log in sorted(models.rglob("lapt_log.json")):
        lang, vocab, regime, method = log.parts[-5:-1]  # he/v4000/lapt-full/ident/lapt_log.json
        if lang == "he-lr4":  # the lrcheck experiment's runs, in its own table
            continue
        values = (lang, vocab.removeprefix("v"), regime.removeprefix("lapt-"), method)
        curves.append(read_curve(log, **dict(zip(keys, values, strict=True))))
    config = load_config(ROOT / "config" / "showcase.yaml")
    title = config["experiments"]["showcase"]["title"]
    caption = (
        f"{title}: dev MLM loss (nats) at step 0 (the initialisation alone, before any LAPT) and at the "
        "best checkpoint (the model that is fine-tuned)"
    )
    out = {fmt: tmp_path / f"lapt_loss.{fmt}" for fmt in ("md", "csv", "tex")}
    write_loss_table(curves, out, caption)
    committed = EVIDENCE / "results" / "tables" / "showcase"
    for fmt, path in out.items():
        assert path.read_bytes() == (committed / f"lapt_loss.{fmt}").read_bytes(), fmt


def test_findings_read_the_committed_evidence():
    out = subprocess.run(
        [sys.executable, str(EVIDENCE / "findings.py")], capture_output=True, text=True, check=True
    ).stdout
    assert "### POS" in out and "RANDOM is worst: **" in out and "LAPT-FULL ≥ LAPT-EMB: **" in out
    assert "off-the-shelf beats the best re-initialised model: **" in out and "### LAPT cost" in out


def _script(name: str):
    """docs/showcase/<name>.py, imported from its path (a script, not a package module)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"showcase_{name}", EVIDENCE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PLAN = "Job stats:\njob                count\n---------------  -------\nall                    1\n"


def test_run_record_takes_the_main_snakemake_call_not_a_later_partial_one(tmp_path):
    """export.py's run.json: after the full run, a one-job `--force` rerun is the newest log; the record
    must still be the full run's steps and elapsed time."""
    export = _script("export")
    logs = tmp_path / ".snakemake" / "log"
    logs.mkdir(parents=True)
    full = PLAN + "35 of 70 steps (50%) done\n70 of 70 steps (100%) done\nElapsed time: 2:09:54\n"
    (logs / "2026-11-29T115458.1.snakemake.log").write_text(full, encoding="utf-8")
    (logs / "2026-11-29T142000.2.snakemake.log").write_text(
        "1 of 1 steps (100%) done\nElapsed time: 0:04:46\n", encoding="utf-8"
    )
    (logs / "2026-11-29T150000.3.snakemake.log").write_text("Building DAG of jobs...\n", encoding="utf-8")
    record = export.run_record(tmp_path)
    assert record["calls"] == 3 and record["snakemake_log"] == "2026-11-29T115458.1.snakemake.log"
    assert record["steps"] == "70 of 70 steps (100%) done" and record["elapsed"] == "2:09:54"
    assert record["finished"] and record["wall_s"] == 7794.0 and record["jobs_done"] == 70


def test_run_record_sums_a_run_resumed_across_sessions(tmp_path):
    """A run killed at a session's end (no "Elapsed time") and resumed by a second call: both are the run,
    their wall times add up (the killed one's from its job timestamps), and a later one-job call is not."""
    export = _script("export")
    logs = tmp_path / ".snakemake" / "log"
    logs.mkdir(parents=True)
    killed = PLAN + "[Wed Dec  2 09:00:00 2026]\n40 of 133 steps (30%) done\n[Wed Dec  2 09:30:30 2026]\n"
    (logs / "2026-12-02T090000.1.snakemake.log").write_text(killed, encoding="utf-8")
    resumed = PLAN + "[Thu Dec  3 06:40:00 2026]\n93 of 93 steps (100%) done\nElapsed time: 2:00:00\n"
    (logs / "2026-12-03T064000.2.snakemake.log").write_text(resumed, encoding="utf-8")
    (logs / "2026-12-03T090000.3.snakemake.log").write_text(
        "1 of 1 steps (100%) done\nElapsed time: 0:04:46\n", encoding="utf-8"
    )
    record = export.run_record(tmp_path)
    assert record["finished"] and record["jobs_done"] == 133 and record["wall_s"] == 1830.0 + 7200.0
    assert [c["snakemake_log"] for c in record["run_calls"]] == [
        "2026-12-02T090000.1.snakemake.log",
        "2026-12-03T064000.2.snakemake.log",
    ]
    assert record["snakemake_log"] == "2026-12-02T090000.1.snakemake.log" and record["planned"] == 133


def test_run_record_counts_a_staged_until_call_as_part_of_the_run(tmp_path):
    """A first call with `--until lapt` finishes its plan, which lacks the workflow's `all` rule: it is a
    stage, so the run goes on to the whole-workflow call that follows it."""
    export = _script("export")
    logs = tmp_path / ".snakemake" / "log"
    logs.mkdir(parents=True)
    stage = "Job stats:\nlapt                  13\ntotal                 28\n28 of 28 steps (100%) done\n"
    (logs / "2026-12-02T141912.1.snakemake.log").write_text(
        stage + "Elapsed time: 1:40:00\n", encoding="utf-8"
    )
    rest = PLAN + "94 of 94 steps (100%) done\nElapsed time: 1:50:00\n"
    (logs / "2026-12-02T160000.2.snakemake.log").write_text(rest, encoding="utf-8")
    record = export.run_record(tmp_path)
    assert record["finished"] and record["jobs_done"] == 122 and record["wall_s"] == 6000.0 + 6600.0
    assert [c["whole_workflow"] for c in record["run_calls"]] == [False, True]


def test_job_commits_count_each_jobs_provenance(tmp_path):
    export = _script("export")
    for rel, commit in (("a/seed1.json", "c1"), ("a/seed2.json", "c1"), ("m/provenance.json", "c0")):
        path = tmp_path / "results" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        record = (
            {"git_commit": commit}
            if rel.endswith("provenance.json")
            else {"provenance": {"git_commit": commit}}
        )
        path.write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "results" / "a" / "meta.json").write_text(json.dumps({"n": 1}), encoding="utf-8")
    assert export.job_commits(tmp_path) == {"c1": 2, "c0": 1}


def test_export_drops_the_previous_exports_files_only(tmp_path):
    """A re-export deletes what the last one listed (a method the new run left out must not linger), and
    keeps the folder's own files (scripts, the hand-written reading)."""
    export = _script("export")
    old = tmp_path / "results" / "finetune" / "he" / "v4000" / "full" / "ident" / "seed1.json"
    kept = tmp_path / "results" / "notes.txt"
    for path in (old, kept, tmp_path / "reading.md"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    listing = json.dumps({str(old.relative_to(tmp_path)): "0"})
    (tmp_path / "MANIFEST.json").write_text(listing, encoding="utf-8")
    export.drop_previous(tmp_path)
    assert not old.exists() and not (tmp_path / "results" / "finetune").exists()
    assert kept.exists() and (tmp_path / "reading.md").exists()


def test_make_readme_writes_every_number_from_the_evidence():
    """make_readme.py's page: the committed tables verbatim, the per-rule times summed from benchmarks.csv
    and every verdict line as findings.py prints it."""
    page = _script("make_readme").readme(EVIDENCE)
    pos = (EVIDENCE / "results/tables/showcase/pos.md").read_text(encoding="utf-8").strip()
    assert pos in page and "## The run" in page and "#### POS" in page and "reading.md" in page
    jobs = list(csv.DictReader((EVIDENCE / "benchmarks.csv").open(encoding="utf-8")))
    cpu = sum(float(job["cpu_s"]) for job in jobs)
    assert f"| all | {len(jobs)} | " in page and f" | {cpu:,.0f} |" in page
    verdicts = subprocess.run(
        [sys.executable, str(EVIDENCE / "findings.py")], capture_output=True, text=True, check=True
    ).stdout
    lines = [line for line in verdicts.splitlines() if line.startswith("- ")]
    assert lines and all(line in page for line in lines)
