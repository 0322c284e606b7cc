"""Copy the evidence of a finished workflow run into this folder: tables, figures, every fine-tuning result
JSON (score, dev curve, settings, provenance), every model's LAPT log, init report and provenance, and one
table of every job's wall time and CPU time from Snakemake's benchmarks; MANIFEST.json lists each file's
sha256 and where it came from.

    python docs/showcase/export.py RUN_DIR [DEST]   # DEST defaults to this file's folder
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

KEEP = (
    "results/tables/**/*",
    "results/figures/**/*.png",
    "results/figures/**/*.tsv",
    "results/finetune/**/*.json",
    "results/models/**/lapt_log.json",
    "results/models/**/init_report.json",
    "results/models/**/provenance.json",
    "results/eval/*/*/meta.json",
    "results/corpora/*/clean.stats.json",
    "resources/base_model/provenance.json",
)


def benchmarks(run: Path, dest: Path) -> None:
    """One CSV row per job: its rule, wildcards path, wall seconds and CPU seconds."""
    with open(dest, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["rule", "job", "wall_s", "cpu_s", "max_rss_mb"])
        for tsv in sorted((run / "benchmarks").rglob("*.tsv")):
            rows = list(csv.DictReader(tsv.open(encoding="utf-8"), delimiter="\t"))
            rule, job = tsv.relative_to(run / "benchmarks").parts[0], tsv.relative_to(run / "benchmarks")
            for row in rows:
                writer.writerow([rule, job.with_suffix(""), row["s"], row["cpu_time"], row["max_rss"]])


STEPS = re.compile(r"\d+ of (\d+) steps \(\d+%\) done")
ELAPSED = re.compile(r"Elapsed time: (\S+)")


def snakemake_call(log: Path) -> dict[str, str | int]:
    """One Snakemake call's record from its log: the log's name, the last "N of M steps" line, M, and the
    elapsed wall time Snakemake printed at its end."""
    text = log.read_text(encoding="utf-8")
    steps, elapsed = list(STEPS.finditer(text)), ELAPSED.findall(text)
    return {
        "snakemake_log": log.name,
        "steps": steps[-1].group(0) if steps else "not found",
        "planned": int(steps[-1].group(1)) if steps else 0,
        "elapsed": elapsed[-1] if elapsed else "not found",
    }


def run_record(run: Path) -> dict[str, str | int]:
    """The run's commit and its main Snakemake call: of the calls logged in ``.snakemake/log``, the one that
    planned the most jobs (the newest among equals), so that a later partial call (a ``--force`` rerun of
    one job, say) does not stand in for the run. ``calls`` says how many were logged."""
    commit = subprocess.run(["git", "-C", str(run), "rev-parse", "HEAD"], capture_output=True, text=True)
    logs = sorted((run / ".snakemake/log").glob("*.snakemake.log"))
    calls = [snakemake_call(log) for log in logs]
    record: dict[str, str | int] = {"commit": commit.stdout.strip(), "calls": len(calls)}
    if calls:
        record.update(max(reversed(calls), key=lambda call: call["planned"]))
    return record


def main() -> None:
    run = Path(sys.argv[1]).resolve()
    dest = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent
    manifest = {}
    for pattern in KEEP:
        for src in sorted(run.glob(pattern)):
            if not src.is_file():
                continue
            rel = src.relative_to(run)
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            manifest[str(rel)] = hashlib.sha256(src.read_bytes()).hexdigest()
    benchmarks(run, dest / "benchmarks.csv")
    record = json.dumps(run_record(run), indent=1) + "\n"
    (dest / "run.json").write_text(record, encoding="utf-8")
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    (dest / "MANIFEST.json").write_text(text, encoding="utf-8")
    print(f"{len(manifest)} files from {run} -> {dest}")


if __name__ == "__main__":
    main()
