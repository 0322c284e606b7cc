"""Check the paper's findings against a run's exported evidence (docs/showcase/ by default) and print each
with the numbers it rests on, as Markdown. Nothing here is typed in by hand: every figure is read from the
tables (results/tables/<experiment>/*.csv) and the LAPT logs that export.py copied.

    python docs/showcase/findings.py [EVIDENCE_DIR] [EXPERIMENT]
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def rows(path: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """(LAPT, REINIT) -> (mean, std) of a task table's language rows (baselines: REINIT '*')."""
    out = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["language"] == "Avg" or not row["mean"]:
                continue
            std = float(row["std"]) if row["std"] else float("nan")
            out[(row["lapt"], row["reinit"])] = (float(row["mean"]), std)
    return out


def fmt(cell: tuple[float, float]) -> str:
    return f"{cell[0]:.1f} ± {cell[1]:.1f}"


def task_findings(task: str, table: dict[tuple[str, str], tuple[float, float]]) -> list[str]:
    out = [f"### {task.upper()}", ""]
    for regime in ("FULL", "EMB"):
        cells = {m: v for (r, m), v in table.items() if r == regime and m != "*"}
        if not cells:
            continue
        worst = min(cells, key=lambda m: cells[m][0])
        best = max(cells, key=lambda m: cells[m][0])
        out.append(f"- LAPT-{regime}: worst {worst} ({fmt(cells[worst])}), best {best} ({fmt(cells[best])}); "
                   f"RANDOM worst: **{'yes' if worst == 'RANDOM' else 'no'}**")  # fmt: skip
    both = [m for (r, m) in table if r == "FULL" and ("EMB", m) in table and m != "*"]
    wins = [m for m in both if table[("FULL", m)][0] >= table[("EMB", m)][0]]
    pairs = ", ".join(f"{m} {table[('FULL', m)][0]:.1f} vs {table[('EMB', m)][0]:.1f}" for m in both)
    out.append(f"- LAPT-FULL ≥ LAPT-EMB for {len(wins)} of {len(both)} methods ({pairs})")
    base = table.get(("*", "*"))
    if base:
        out.append(f"- off-the-shelf model: {fmt(base)}")
    full_vocab = table.get(("FULL", "*"))
    if full_vocab:
        out.append(f"- full-vocabulary LAPT-FULL: {fmt(full_vocab)}")
    return [*out, ""]


def flops_finding(evidence: Path) -> list[str]:
    """LAPT FLOPs per training token, full vocabulary vs each reduced-vocabulary run."""
    logs = {p.parent.relative_to(evidence / "results/models"): json.loads(p.read_text(encoding="utf-8"))
            for p in (evidence / "results/models").rglob("lapt_log.json")}  # fmt: skip
    per_token = {
        str(name): (log["flops"]["paper"] / log["tokens_seen"], log["flops"]["executed"] / log["tokens_seen"])
        for name, log in logs.items() if log["tokens_seen"]
    }  # fmt: skip
    full = [v for k, v in per_token.items() if "/vbase/" in f"/{k}/"]
    reduced = [v for k, v in per_token.items() if "/vbase/" not in f"/{k}/"]
    if not full or not reduced:
        return []
    paper = full[0][0] / (sum(v[0] for v in reduced) / len(reduced))
    executed = full[0][1] / (sum(v[1] for v in reduced) / len(reduced))
    return [
        "### LAPT cost",
        "",
        f"- FLOPs per training token, full vocabulary / reduced vocabulary (mean of {len(reduced)} runs):",
        f"  {paper:.2f}× counted as the paper does (every position through the vocabulary head),",
        f"  {executed:.2f}× as vocabswap executes them (the head on masked positions only)",
        "",
    ]


def main() -> None:
    evidence = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    experiment = sys.argv[2] if len(sys.argv) > 2 else "showcase"
    tables = evidence / "results/tables" / experiment
    lines = []
    for task in ("pos", "ner"):
        if (tables / f"{task}.csv").exists():
            lines += task_findings(task, rows(tables / f"{task}.csv"))
    lines += flops_finding(evidence)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
