"""Early signals: how well cheap measurements rank the re-initialisation methods against their final
fine-tuning scores (Spearman, Kendall's tau-b, top-1 agreement).

Two sources: a run's evidence (LAPT logs and per-seed result JSONs in the workflow's layout: the step-0 dev
loss, the dev loss after the first 10 % of LAPT, LAPT-EMB's ranking against LAPT-FULL's), and the authors'
published per-seed fine-tuning logs (``output/*/<target>_<task>_xlmr-<model>.out`` of
cmdowney88/EmbeddingStructure: LAPT-EMB's ranking against LAPT-FULL's per language x task cell).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from vocabswap.errors import VocabswapError

# The authors' file names: <target>_<task>_xlmr-<model>.out, model = ots | cpt-full (full vocabulary) |
# cpt-full_emb-32k[-m] (LAPT-FULL) | cpt_emb-32k[-m] (LAPT-EMB); no suffix = RANDOM.
LOG_NAME = re.compile(r"(?P<target>.+)_(?P<task>pos|ner)_xlmr-(?P<model>.+)\.out")
MODEL_NAME = re.compile(r"cpt(?P<full>-full)?_emb-32k(?:-(?P<method>.+))?")
AUTHOR_METHODS = {
    None: "random",
    "ident": "ident",
    "script": "script",
    "script+pos": "script+posn",
    "script+ident": "script+ident",
    "script+pos+ident": "script+posn+ident",
    "focus": "focus+ident",
}
BLOCK = re.compile(r"^Beginning (?P<task>POS|NER) evaluation for (?P<lang>\S+)")
SEED = re.compile(r"^random seed: (?P<seed>\d+)")
SCORE = re.compile(r"^(?:accuracy|f1|score): (?P<score>-?[\d.]+)")


@dataclass(frozen=True)
class Agreement:
    """How one signal's ranking of ``n`` methods agrees with the final scores' ranking."""

    n: int
    spearman: float
    kendall: float
    top1: bool


def agreement(signal: Mapping[str, float], final: Mapping[str, float], *, lower_is_better: bool) -> Agreement:
    """Rank agreement over the methods both mappings hold (at least 3); ``lower_is_better`` for a loss."""
    from scipy.stats import kendalltau, spearmanr

    methods = sorted(set(signal) & set(final))
    if len(methods) < 3:
        raise VocabswapError(f"rank agreement needs at least 3 methods in common, got {methods}")
    s = [-signal[m] if lower_is_better else signal[m] for m in methods]
    f = [final[m] for m in methods]
    top1 = methods[max(range(len(s)), key=s.__getitem__)] == methods[max(range(len(f)), key=f.__getitem__)]
    return Agreement(len(methods), float(spearmanr(s, f).statistic), float(kendalltau(s, f).statistic), top1)


def parse_run_name(name: str) -> tuple[str, str, str, str] | None:
    """(target, task, regime, method) of an authors' log file name; None for the off-the-shelf and
    full-vocabulary baselines, which have no regime × method."""
    m = LOG_NAME.fullmatch(name)
    if m is None:
        raise VocabswapError(f"{name}: not an authors' log name (<target>_<pos|ner>_xlmr-<model>.out)")
    model = MODEL_NAME.fullmatch(m["model"])
    if model is None:
        if m["model"] in ("ots", "cpt-full"):
            return None
        raise VocabswapError(f"{name}: unknown model {m['model']!r}")
    if model["method"] not in AUTHOR_METHODS:
        raise VocabswapError(f"{name}: unknown method {model['method']!r}")
    regime = "full" if model["full"] else "emb"
    return m["target"], m["task"], regime, AUTHOR_METHODS[model["method"]]


def parse_log(text: str, where: str) -> dict[tuple[str, str], dict[int, float]]:
    """Per-seed scores of every evaluation block of one log: (language, task) -> {seed: score}."""
    out: dict[tuple[str, str], dict[int, float]] = {}
    block, seed = None, None
    for number, line in enumerate(text.splitlines(), 1):
        if m := BLOCK.match(line):
            block, seed = (m["lang"], m["task"].lower()), None
            out[block] = {}
        elif m := SEED.match(line):
            seed = int(m["seed"])
        elif m := SCORE.match(line):
            if block is None or seed is None:
                raise VocabswapError(f"{where}:{number}: score {line!r} outside a seed's block")
            out[block][seed] = float(m["score"])
    return out


def read_author_logs(files: Iterable[Path]) -> dict[tuple[str, str, str], dict[str, dict[str, float]]]:
    """Mean score per (target, language, task) cell, regime and method, from the authors' log files."""
    cells: dict[tuple[str, str, str], dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for path in files:
        run = parse_run_name(path.name)
        if run is None:
            continue
        target, task, regime, method = run
        for (lang, block_task), seeds in parse_log(path.read_text(encoding="utf-8"), str(path)).items():
            if block_task != task:
                raise VocabswapError(f"{path}: a {block_task} block in a {task} log")
            if seeds:
                cells[(target, lang, task)][regime][method] = statistics.mean(seeds.values())
    return cells


def emb_vs_full(cells: Mapping[tuple[str, str, str], Mapping[str, Mapping[str, float]]]) -> dict:
    """LAPT-EMB's ranking of the methods against LAPT-FULL's, per cell that has at least 3 in both."""
    return {
        key: agreement(regimes["emb"], regimes["full"], lower_is_better=False)
        for key, regimes in sorted(cells.items())
        if len(set(regimes.get("emb", {})) & set(regimes.get("full", {}))) >= 3
    }


def summarise(agreements: Iterable[Agreement]) -> dict[str, float]:
    """Mean Spearman and Kendall over cells (a cell of tied scores has none, and is counted apart), and the
    cells whose top-1 methods agree."""
    every = list(agreements)
    rows = [a for a in every if math.isfinite(a.spearman) and math.isfinite(a.kendall)]
    return {
        "cells": len(every),
        "tied_cells": len(every) - len(rows),
        "methods": statistics.mean(a.n for a in rows),
        "spearman": statistics.mean(a.spearman for a in rows),
        "kendall": statistics.mean(a.kendall for a in rows),
        "top1": sum(a.top1 for a in every),
    }


def _mean_scores(evidence: Path, target: str, size: str, task: str) -> dict[str, dict[str, float]]:
    """regime -> method -> mean score over seeds, from the per-seed result JSONs."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for regime_dir in sorted((evidence / "results" / "finetune" / target / f"v{size}").iterdir()):
        for method_dir in sorted(p for p in regime_dir.iterdir() if p.is_dir()):
            seeds = sorted(method_dir.glob(f"*/{task}/seed*.json"))
            if seeds:
                scores = [json.loads(p.read_text(encoding="utf-8"))["score"] for p in seeds]
                out[regime_dir.name][method_dir.name] = 100 * statistics.mean(scores)
    return out


def _early_loss(curve: list[dict], steps: int, fraction: float) -> tuple[int, float]:
    """(step, dev loss) of the first evaluation at or after ``fraction`` of the steps."""
    point = next(p for p in curve if p["step"] >= fraction * steps)
    return point["step"], point["dev_loss"]


def _row(
    signal_name: str,
    final_name: str,
    signal: Mapping[str, float],
    final: Mapping[str, float],
    *,
    lower_is_better: bool,
) -> list[dict]:
    """One table row, or none where fewer than 3 methods have both numbers."""
    if len(set(signal) & set(final)) < 3:
        return []
    return [
        {
            "signal": signal_name,
            "final": final_name,
            "agreement": agreement(signal, final, lower_is_better=lower_is_better),
        }
    ]


def evidence_signals(evidence: Path, target: str, size: str, task: str, fraction: float = 0.1) -> list[dict]:
    """The early-signal rows of one run's evidence: each signal's agreement with each regime's final
    scores, and LAPT-EMB's ranking against LAPT-FULL's (rows with fewer than 3 methods are left out)."""
    final = _mean_scores(evidence, target, size, task)
    rows = []
    for regime in ("full", "emb"):
        model_dir = evidence / "results" / "models" / target / f"v{size}" / f"lapt-{regime}"
        logs = {
            p.parent.name: json.loads(p.read_text(encoding="utf-8"))
            for p in model_dir.glob("*/lapt_log.json")
        }
        if not logs or regime not in final:
            continue
        step0 = {m: log["dev_curve"][0]["dev_loss"] for m, log in logs.items()}
        early = {
            m: _early_loss(log["dev_curve"], log["settings"]["steps"], fraction) for m, log in logs.items()
        }
        at = "/".join(str(s) for s in sorted({step for step, _ in early.values()}))
        steps = "/".join(str(s) for s in sorted({log["settings"]["steps"] for log in logs.values()}))
        final_name = f"LAPT-{regime.upper()} {task.upper()}"
        rows += _row("step-0 dev loss", final_name, step0, final[regime], lower_is_better=True)
        rows += _row(
            f"dev loss at step {at} of {steps} (first evaluation at ≥ {fraction:.0%})",
            final_name,
            {m: v for m, (_, v) in early.items()},
            final[regime],
            lower_is_better=True,
        )
    if "full" in final and "emb" in final:
        name = f"LAPT-EMB {task.upper()} ranking"
        rows += _row(name, f"LAPT-FULL {task.upper()}", final["emb"], final["full"], lower_is_better=False)
    return rows


def markdown_rows(rows: Iterable[dict]) -> list[str]:
    """One Markdown table line per row (signal, final, methods, Spearman, Kendall, top-1)."""
    out = []
    for row in rows:
        a = row["agreement"]
        out.append(
            f"| {row['signal']} | {row['final']} | {a.n} | {a.spearman:+.2f} | {a.kendall:+.2f} | "
            f"{'yes' if a.top1 else 'no'} |"
        )
    return out


def author_tables(cells: Mapping[tuple[str, str, str], Mapping[str, Mapping[str, float]]]) -> list[str]:
    """Markdown: LAPT-EMB's ranking against LAPT-FULL's in the authors' logs, summarised per experiment
    (monolingual targets, ``multi_mrl``, ``uralic_mrl``) and listed per cell."""
    agreements = emb_vs_full(cells)
    groups: dict[str, list[Agreement]] = defaultdict(list)
    for (target, _lang, task), a in agreements.items():
        kind = target if target.endswith("_mrl") else "monolingual"
        groups[f"{kind} {task.upper()}"].append(a)
        groups[kind].append(a)
        groups["all"].append(a)
    out = [
        "| experiment | cells | methods (mean) | Spearman (mean) | Kendall (mean) | top-1 agrees |",
        "|---|---|---|---|---|---|",
    ]
    for name in sorted(groups, key=lambda g: (g != "all", g)):
        s = summarise(groups[name])
        out.append(
            f"| {name} | {s['cells']} | {s['methods']:.1f} | {s['spearman']:+.2f} | "
            f"{s['kendall']:+.2f} | {s['top1']} of {s['cells']} |"
        )
    out += [
        "",
        "| target | language | task | methods | Spearman | Kendall | top-1 agrees |",
        "|---|---|---|---|---|---|---|",
    ]
    for (target, lang, task), a in agreements.items():
        out.append(
            f"| {target} | {lang} | {task.upper()} | {a.n} | {a.spearman:+.2f} | {a.kendall:+.2f} | "
            f"{'yes' if a.top1 else 'no'} |"
        )
    return out
