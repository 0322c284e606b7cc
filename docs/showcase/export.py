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
from datetime import datetime
from pathlib import Path
from typing import Any

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


STEPS = re.compile(r"(\d+) of (\d+) steps \(\d+%\) done")
ELAPSED = re.compile(r"Elapsed time: (\d+):(\d+):(\d+(?:\.\d+)?)")
ALL_RULE = re.compile(r"^all +\d+$", re.M)  # the default target in the plan's job stats (no --until run)
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$", re.M)


def snakemake_call(log: Path) -> dict[str, str | int | float]:
    """One Snakemake call's record from its log: the log's name, the last "N of M steps" line, N and M,
    and its wall time: the elapsed time Snakemake printed at its end, or, for a call that was killed
    (a session's end), the span between its first and last job timestamps."""
    text = log.read_text(encoding="utf-8")
    steps, elapsed = list(STEPS.finditer(text)), ELAPSED.findall(text)
    if elapsed:
        h, m, sec = elapsed[-1]
        wall = 3600 * int(h) + 60 * int(m) + float(sec)
    else:
        stamps = [datetime.strptime(" ".join(x.split()), "%a %b %d %H:%M:%S %Y") for x in STAMP.findall(text)]
        wall = (stamps[-1] - stamps[0]).total_seconds() if stamps else 0.0
    return {
        "snakemake_log": log.name,
        "steps": steps[-1].group(0) if steps else "not found",
        "done": int(steps[-1].group(1)) if steps else 0,
        "planned": int(steps[-1].group(2)) if steps else 0,
        "elapsed": ":".join(elapsed[-1]) if elapsed else "killed before its end",
        "wall_s": round(wall, 1),
        "whole_workflow": bool(ALL_RULE.search(text)),
    }


def run_record(run: Path) -> dict[str, Any]:
    """The run's commit and its Snakemake calls (``.snakemake/log``, oldest first). The run is every call up
    to the first that finished a whole-workflow plan (a run resumed across sessions is several calls, each
    killed but the last; a call with ``--until`` runs only a stage of it); calls after it (a ``--force``
    rerun of one job, say) are not part of it. Its wall time is the sum of its calls that ran jobs; the
    main call is the one that planned the most."""
    commit = subprocess.run(["git", "-C", str(run), "rev-parse", "HEAD"], capture_output=True, text=True)
    calls = [snakemake_call(log) for log in sorted((run / ".snakemake/log").glob("*.snakemake.log"))]
    finished = next(
        (
            i
            for i, c in enumerate(calls)
            if c["whole_workflow"] and c["planned"] and c["done"] == c["planned"]
        ),
        None,
    )
    run_calls = [c for c in calls[: None if finished is None else finished + 1] if c["done"]]
    record: dict[str, Any] = {"commit": commit.stdout.strip(), "calls": len(calls)}
    if run_calls:
        main = max(reversed(run_calls), key=lambda call: call["planned"])
        record.update({k: main[k] for k in ("snakemake_log", "steps", "planned", "elapsed")})
    record.update(
        finished=finished is not None,
        run_calls=[
            {k: c[k] for k in ("snakemake_log", "steps", "wall_s", "whole_workflow")} for c in run_calls
        ],
        jobs_done=sum(int(c["done"]) for c in run_calls),
        wall_s=round(sum(float(c["wall_s"]) for c in run_calls), 1),
    )
    return record


def job_commits(dest: Path) -> dict[str, int]:
    """How many exported jobs' provenance records name each git commit (a run resumed on a later commit,
    or staged with ``--until``, names several: ``git diff`` between them says what changed)."""
    counts: dict[str, int] = {}
    for path in sorted(dest.glob("results/**/*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        provenance = record.get("provenance", record) if isinstance(record, dict) else {}
        if isinstance(provenance, dict) and provenance.get("git_commit"):
            counts[provenance["git_commit"]] = counts.get(provenance["git_commit"], 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def drop_previous(dest: Path) -> None:
    """Delete the files a previous export listed in ``dest``'s MANIFEST.json (a new run may lack some of
    them: a method left out, fewer seeds); nothing else in ``dest`` is touched."""
    listing = dest / "MANIFEST.json"
    if not listing.exists():
        return
    for rel in json.loads(listing.read_text(encoding="utf-8")):
        (dest / rel).unlink(missing_ok=True)
    folders = [p for top in ("results", "resources") for p in (dest / top).rglob("*") if p.is_dir()]
    for folder in sorted(folders, reverse=True):  # deepest first
        if not any(folder.iterdir()):
            folder.rmdir()


def main() -> None:
    run = Path(sys.argv[1]).resolve()
    dest = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent
    drop_previous(dest)
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
    record = json.dumps({**run_record(run), "job_commits": job_commits(dest)}, indent=1) + "\n"
    (dest / "run.json").write_text(record, encoding="utf-8")
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    (dest / "MANIFEST.json").write_text(text, encoding="utf-8")
    print(f"{len(manifest)} files from {run} -> {dest}")


if __name__ == "__main__":
    main()
