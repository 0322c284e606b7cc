"""Check the paper's findings against a run's exported evidence (docs/showcase/ by default) and print each
with the numbers it rests on, as Markdown. Nothing here is typed in by hand: every figure is read from the
tables (results/tables/<experiment>/*.csv) and the LAPT logs that export.py copied.

    python docs/showcase/findings.py [EVIDENCE_DIR] [EXPERIMENT]
"""

from __future__ import annotations

import csv
import json
import math
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
    out += structured_best(table)
    base = table.get(("*", "*"))
    if base:
        out.append(f"- off-the-shelf model: {fmt(base)}")
    full_vocab = table.get(("FULL", "*"))
    if full_vocab:
        out.append(f"- full-vocabulary LAPT-FULL: {fmt(full_vocab)}")
    return [*out, ""]


def structured_best(table: dict[tuple[str, str], tuple[float, float]]) -> list[str]:
    """The paper's "+IDENT and FOCUS best": is each regime's best method one that copies IDENT rows or is
    FOCUS, and which of them are within one std of the best (the tables' bold rule)?"""
    out = []
    for regime in ("FULL", "EMB"):
        cells = {m: v for (r, m), v in table.items() if r == regime and m != "*"}
        if not cells:
            continue
        best = max(cells, key=lambda m: cells[m][0])
        spread = 0.0 if math.isnan(cells[best][1]) else cells[best][1]
        top = [m for m, (mean, _) in cells.items() if mean >= cells[best][0] - spread]
        ident_or_focus = "IDENT" in best.split("+") or "FOCUS" in best
        out.append(f"- LAPT-{regime}: best is +IDENT or FOCUS: **{'yes' if ident_or_focus else 'no'}** "
                   f"({best}; within one std of it: {', '.join(sorted(top))})")  # fmt: skip
    return out


def lapt_findings(evidence: Path, experiment: str) -> list[str]:
    """Per regime, the methods ordered by dev MLM loss at step 0 and at the best checkpoint, and how flat
    each curve is at its end: the share of its whole drop that came in its last quarter of steps."""
    path = evidence / "results/tables" / experiment / "lapt_loss.csv"
    if not path.exists():
        return []
    table = list(csv.DictReader(path.open(encoding="utf-8")))
    out = ["### LAPT dev MLM loss (nats)", ""]
    for regime in ("full", "emb"):
        runs = [r for r in table if r["regime"] == regime and r["vocab"] != "base"]
        for column, label in (("initial_dev_loss", "step 0"), ("best_dev_loss", "best checkpoint")):
            ranked = sorted(runs, key=lambda r: float(r[column]))
            order = " < ".join(f"{r['method'].upper()} {float(r[column]):.2f}" for r in ranked)
            out.append(f"- LAPT-{regime.upper()}, {label}: {order}")
    out += [f"- {line}" for line in flatness(evidence)]
    return [*out, ""]


def flatness(evidence: Path) -> list[str]:
    """Per LAPT run, the share of its dev-loss drop (step 0 to the last step) made in its last quarter."""
    shares = {}
    for log_path in sorted((evidence / "results/models").rglob("lapt_log.json")):
        curve = json.loads(log_path.read_text(encoding="utf-8"))["dev_curve"]
        late = [p["dev_loss"] for p in curve if p["step"] >= 0.75 * curve[-1]["step"]]
        drop = curve[0]["dev_loss"] - curve[-1]["dev_loss"]
        if drop > 0 and len(late) > 1:
            shares[log_path.parent.relative_to(evidence / "results/models")] = (late[0] - late[-1]) / drop
    if not shares:
        return []
    listed = ", ".join(f"{name} {share:.0%}" for name, share in shares.items())
    return [f"share of each run's dev-loss drop that came in its last quarter of steps: {listed}"]


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
    lines += lapt_findings(evidence, experiment)
    lines += flops_finding(evidence)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
