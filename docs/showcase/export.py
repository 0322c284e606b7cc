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


def run_record(run: Path) -> dict[str, str]:
    """The run's commit and, from its newest Snakemake log, the log's name, the steps done and the elapsed
    wall time that Snakemake printed at its end."""
    commit = subprocess.run(["git", "-C", str(run), "rev-parse", "HEAD"], capture_output=True, text=True)
    record = {"commit": commit.stdout.strip()}
    logs = sorted((run / ".snakemake/log").glob("*.snakemake.log"))
    if logs:
        text = logs[-1].read_text(encoding="utf-8")
        record["snakemake_log"] = logs[-1].name
        patterns = {"steps": r"(\d+ of \d+ steps \(\d+%\) done)", "elapsed": r"Elapsed time: (\S+)"}
        for key, pattern in patterns.items():
            found = re.findall(pattern, text)
            record[key] = found[-1] if found else "not found"
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
