"""Write docs/showcase/README.md from the exported evidence: the run's record and per-rule times, the task
tables, the LAPT tables and curves, the learning-rate check and every finding's verdict (findings.py).
Only the prose of `reading.md` (the numbers read against the paper) is written by hand; every number
elsewhere in the README is read from a file that export.py copied, so a re-export rewrites it.

    python docs/showcase/make_readme.py [EVIDENCE_DIR]   # EVIDENCE_DIR defaults to this folder
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

from vocabswap.atomic import atomic_open

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import findings  # noqa: E402 - the sibling script, as its own module

INTRO = """# Showcase: the paper's comparison on the offline model

Written by `docs/showcase/make_readme.py` from the evidence in this folder (edit `reading.md`, the only
hand-written part, then re-run it).

`config/showcase.yaml`: Hebrew (UD Hebrew-HTB text and POS, NEMO NER), multilingual-e5-small (the packaged
stand-in for XLM-R base: XLM-R's 250k vocabulary, hidden 384), five methods (RANDOM, SCRIPT+POSN+IDENT,
FOCUS+IDENT, FVT, MEAN) × LAPT-FULL and LAPT-EMB, the off-the-shelf and full-vocabulary baselines; POS
fine-tuning of every row on 600 training sentences for one epoch, evaluated on the full dev and test splits
(500 / 716 sentences); NER for two epochs on the off-the-shelf, RANDOM and FOCUS+IDENT rows (LAPT-FULL); the
paper's 4 seeds. The learning-rate check (experiment `lrcheck`, target `he-lr4`): LAPT-FULL of RANDOM and
FOCUS+IDENT at a quarter of the showcase's rate, fine-tuned the same way. `precision: auto`: bf16 autocast
on a CPU with bf16 units, fp32 elsewhere (every LAPT log and result JSON records it; the run's precision is
below). The config's header gives the sizing and every scaled-down setting has the paper's value beside it.

Reproduce it (the second line on a GPU cluster: the same config, one `--profile` away; set
`resources.lapt/finetune gpu: 1` there), then export, check and rewrite this page:

    .venv/bin/snakemake --profile profiles/local --configfile config/showcase.yaml
    .venv/bin/snakemake --profile profiles/slurm --configfile config/showcase.yaml
    python docs/showcase/export.py . docs/showcase && python docs/showcase/make_readme.py
"""

PROVENANCE = """## Provenance

`MANIFEST.json` lists the sha256 of every exported file; `tests/test_showcase_evidence.py` checks them,
rebuilds the POS and NER tables and the LAPT-loss table from the committed result JSONs and logs with the
showcase config's settings, and checks that this page is what `make_readme.py` writes. Each result JSON
under `results/finetune/` holds its score, dev curve, settings, precision, the LAPT cost of its model and a
`provenance` block (rule, wildcards, config slice, input digests, git commit); `vocabswap trace
docs/showcase/results/finetune/...json` walks any of them back to its sources. Every LAPT log holds its
whole dev curve, FLOPs and tokens seen; `benchmarks.csv` is every job's wall and CPU seconds. The head
calibration experiment of issue 11.5 (measured, not adopted) is in `head_calibration/README.md`.
"""


def precisions(evidence: Path) -> dict[str, int]:
    """How many LAPT runs and fine-tuning results ran in each precision (their settings record it)."""
    counts: dict[str, int] = defaultdict(int)
    paths = [*evidence.glob("results/finetune/**/*.json"), *evidence.glob("results/models/**/lapt_log.json")]
    for path in paths:
        record = json.loads(path.read_text(encoding="utf-8"))
        counts[record.get("precision") or record["settings"].get("precision", "fp32")] += 1
    return dict(sorted(counts.items()))


def commits_line(run: dict) -> str:
    """The commit the run was exported at, and the commits its jobs' provenance records name."""
    jobs = run.get("job_commits", {})
    if set(jobs) <= {run["commit"]}:
        return f"Commit `{run['commit']}`"
    named = ", ".join(f"`{commit[:7]}` ({n} jobs)" for commit, n in jobs.items())
    return f"Commit `{run['commit']}`; the jobs' provenance names {named}"


def run_section(evidence: Path) -> list[str]:
    """The run's commit, Snakemake's steps and wall time, and the per-rule sums of every job's benchmark."""
    run = json.loads((evidence / "run.json").read_text(encoding="utf-8"))
    calls = ", ".join(f"{c['steps']} in {c['wall_s']:,.0f} s" for c in run.get("run_calls", []))
    hours, rest = divmod(round(run.get("wall_s", 0)), 3600)
    precision = ", ".join(f"{name} in {n}" for name, n in precisions(evidence).items())
    out = [
        "## The run",
        "",
        f"{commits_line(run)}; Snakemake: {calls or run.get('steps')} "
        f"({hours} h {rest // 60:02d} min of Snakemake; `run.json`). Precision of the LAPT runs and "
        f"fine-tuning results: {precision}. Per rule, from every job's benchmark (`benchmarks.csv`):",
        "",
        "| rule | jobs | wall s (sum) | CPU s (sum) |",
        "|---|---|---|---|",
    ]
    sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for row in csv.DictReader((evidence / "benchmarks.csv").open(encoding="utf-8")):
        for key in (row["rule"], "all"):
            sums[key][0] += 1
            sums[key][1] += float(row["wall_s"])
            sums[key][2] += float(row["cpu_s"])
    ordered = sorted((k for k in sums if k != "all"), key=lambda k: -sums[k][1])
    out += [f"| {k} | {sums[k][0]:.0f} | {sums[k][1]:,.0f} | {sums[k][2]:,.0f} |" for k in [*ordered, "all"]]
    return [*out, ""]


def table_section(evidence: Path, heading: str, rel: str, figure: str | None = None) -> list[str]:
    """A committed Markdown table under ``heading`` (a figure above it), or nothing if the run made none."""
    path = evidence / rel
    if not path.exists():
        return []
    out = [f"## {heading} (`{rel}`)", ""]
    if figure and (evidence / figure).exists():
        out += [f"![{heading}]({figure})", ""]
    return [*out, path.read_text(encoding="utf-8").strip(), ""]


def findings_section(evidence: Path) -> list[str]:
    lines = []
    for task in ("pos", "ner"):
        lines += findings.task_findings(evidence, task, "he", target="he")
    lines += findings.lapt_findings(evidence, "showcase") + findings.flops_finding(evidence)
    head = [
        "## The paper's findings on these numbers",
        "",
        "Computed by `python docs/showcase/findings.py` (library: `vocabswap.findings`) from the",
        'per-seed result JSONs and the LAPT logs. A claim "A beats B" pairs A and B by fine-tuning seed:',
        "it holds when the 95 % t-interval of the mean difference A − B lies above 0, does not hold when it",
        'lies below, and is not resolved at this noise otherwise. "Best" is the tables\' rule, the highest',
        "mean − std. Each line: the verdict, then each difference with its interval.",
        "",
    ]
    return head + [line.replace("### ", "#### ") for line in lines]


def readme(evidence: Path) -> str:
    parts = [INTRO, *run_section(evidence)]
    parts += table_section(evidence, "POS", "results/tables/showcase/pos.md")
    parts += table_section(evidence, "NER", "results/tables/showcase/ner.md")
    curves = "results/figures/showcase/lapt_curves.png"
    parts += table_section(evidence, "LAPT: dev MLM loss", "results/tables/showcase/lapt_loss.md", curves)
    lower = "Learning-rate check at a quarter of the rate"
    parts += table_section(evidence, f"{lower}: POS", "results/tables/lrcheck/pos.md")
    parts += table_section(evidence, f"{lower}: dev MLM loss", "results/tables/lrcheck/lapt_loss.md")
    parts += findings_section(evidence)
    reading = evidence / "reading.md"
    if reading.exists():
        parts += [reading.read_text(encoding="utf-8").strip(), ""]
    parts.append(PROVENANCE)
    return "\n".join(parts).rstrip("\n") + "\n"


def main() -> None:
    evidence = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    with atomic_open(evidence / "README.md") as handle:
        handle.write(readme(evidence))


if __name__ == "__main__":
    main()
