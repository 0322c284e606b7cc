"""Check the paper's findings against a run's exported evidence (docs/showcase/ by default) and print each
verdict with the numbers it rests on, as Markdown. Nothing here is typed in by hand: the checks
(vocabswap.findings) read the per-seed result JSONs and the LAPT logs that export.py copied, compare
methods by paired per-seed differences and pick "best" by the tables' rule (highest mean − std).

    python docs/showcase/findings.py [EVIDENCE_DIR] [EXPERIMENT] [LANGUAGE]
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from vocabswap.findings import flattened, flops_per_token, flops_ratio, lr_check, seed_scores, task_verdicts

HERE = Path(__file__).resolve().parent


def task_findings(evidence: Path, task: str, lang: str, target: str) -> list[str]:
    """Each score-based finding of one task: the claim, its verdict and the paired differences; and the
    learning-rate check where target ``<target>-lr4`` (LAPT-FULL at a quarter of the rate) has results."""
    paths = sorted((evidence / "results/finetune").rglob("*.json"))
    results = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    scores = seed_scores(results, task, lang, target)
    if not scores:
        return []
    verdicts = task_verdicts(scores)
    lower = {k: v for k, v in seed_scores(results, task, lang, f"{target}-lr4").items() if k[0] == "full"}
    verdicts += lr_check(scores, lower)
    out = [f"### {task.upper()}", ""] + [f"- {v.claim}: **{v.verdict}** ({v.detail})" for v in verdicts]
    return [*out, ""]


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
    curves = {name: log["dev_curve"] for name, log in lapt_logs(evidence).items()}
    flat = [name for name, curve in curves.items() if flattened(curve)]
    return [
        f"share of each run's dev-loss drop that came in its last quarter of steps: {listed}",
        f"flattened (best checkpoint before the last evaluation, or under 1 % gained in the last quarter): "
        f"{len(flat)} of {len(curves)} runs ({', '.join(flat) or 'none'})",
    ]


def lapt_logs(evidence: Path) -> dict[str, dict]:
    root = evidence / "results/models"
    return {
        str(p.parent.relative_to(root)): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(root.rglob("lapt_log.json"))
    }


def flops_finding(evidence: Path) -> list[str]:
    """LAPT FLOPs per training token, the full-vocabulary run against the reduced-vocabulary runs."""
    per_token = flops_per_token(lapt_logs(evidence))
    full = [name for name in per_token if "/vbase/" in f"/{name}/"]
    if not full:
        return []
    v = flops_ratio(per_token, full[0])
    return ["### LAPT cost", "", f"- {v.claim}: **{v.verdict}** ({v.detail})", ""]


def main() -> None:
    evidence = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    experiment = sys.argv[2] if len(sys.argv) > 2 else "showcase"
    lang = sys.argv[3] if len(sys.argv) > 3 else "he"
    lines = []
    for task in ("pos", "ner"):
        lines += task_findings(evidence, task, lang, target=lang)
    lines += lapt_findings(evidence, experiment)
    lines += flops_finding(evidence)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
