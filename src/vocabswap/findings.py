"""The paper's findings as checks over a run's per-seed results, each answered ``holds``, ``does not hold``
or ``not resolved at this noise``.

A comparison "A beats B" pairs the two by fine-tuning seed and takes the 95 % t-interval of the mean
per-seed difference A − B: above 0 it holds, below 0 it does not, otherwise it is not resolved (with 2
seeds the interval is ±12.7 standard errors, with 4 seeds ±3.2). "Best" is the tables' own rule
(:class:`vocabswap.tables.Stat`: the highest mean − std).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from vocabswap.errors import VocabswapError
from vocabswap.registry import FULL_VOCAB, OFF_THE_SHELF
from vocabswap.tables import Stat

HOLDS, FAILS, UNRESOLVED = "holds", "does not hold", "not resolved at this noise"
Key = tuple[str, str]  # (regime, method); the off-the-shelf model is (OFF_THE_SHELF, OFF_THE_SHELF)
Scores = Mapping[Key, Mapping[int, float]]


@dataclass(frozen=True)
class Verdict:
    claim: str
    verdict: str
    detail: str


@dataclass(frozen=True)
class Paired:
    """The mean per-seed difference A − B over ``n`` shared seeds and its 95 % t-interval."""

    n: int
    mean: float
    low: float
    high: float

    @property
    def verdict(self) -> str:
        return HOLDS if self.low > 0 else FAILS if self.high < 0 else UNRESOLVED

    def __str__(self) -> str:
        return f"{self.mean:+.2f} [{self.low:+.2f}, {self.high:+.2f}], {self.n} seeds"


def paired(a: Mapping[int, float], b: Mapping[int, float], confidence: float = 0.95) -> Paired:
    """A − B paired by seed; fewer than 2 shared seeds give an unbounded interval."""
    from scipy.stats import t

    seeds = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in seeds]
    if len(diffs) < 2:
        mean = diffs[0] if diffs else math.nan
        return Paired(len(diffs), mean, -math.inf, math.inf)
    mean = statistics.mean(diffs)
    half = (
        float(t.ppf((1 + confidence) / 2, len(diffs) - 1)) * statistics.stdev(diffs) / math.sqrt(len(diffs))
    )
    return Paired(len(diffs), mean, mean - half, mean + half)


def combine(verdicts: Iterable[str]) -> str:
    """All hold: holds; any fails: does not hold; otherwise not resolved."""
    verdicts = list(verdicts)
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    return FAILS if FAILS in verdicts else UNRESOLVED


def seed_scores(results: Iterable[Mapping], task: str, lang: str, target: str) -> dict[Key, dict[int, float]]:
    """(regime, method) -> {seed: score in points} of one target's models on one language and task, from
    result JSONs (their ``cell``); the off-the-shelf model under (OFF_THE_SHELF, OFF_THE_SHELF)."""
    out: dict[Key, dict[int, float]] = defaultdict(dict)
    for result in results:
        cell = result["cell"]
        if cell["task"] != task or cell["lang"] != lang or cell["target"] not in (target, OFF_THE_SHELF):
            continue
        key = (cell["regime"], cell["method"]) if cell["target"] != OFF_THE_SHELF else (OFF_THE_SHELF,) * 2
        out[key][int(cell["seed"])] = 100 * result["score"]
    return out


def stat(scores: Mapping[int, float]) -> Stat:
    values = list(scores.values())
    std = statistics.stdev(values) if len(values) > 1 else None
    return Stat(mean=statistics.mean(values), std=std, n=len(values), expected=len(values))


def best(scores: Scores, keys: Sequence[Key]) -> Key:
    """The tables' best of ``keys``: the highest mean − std."""
    if not keys:
        raise VocabswapError("no results to pick a best from")
    return max(keys, key=lambda k: stat(scores[k]).lower)


def methods_of(scores: Scores, regime: str) -> list[Key]:
    return [k for k in scores if k[0] == regime and k[1] != FULL_VOCAB]


def _each(claim: str, pairs: Mapping[str, Paired]) -> Verdict:
    detail = "; ".join(f"{name}: {p}" for name, p in pairs.items())
    return Verdict(claim, combine(p.verdict for p in pairs.values()), detail)


def random_worst(scores: Scores, regime: str) -> Verdict:
    """Every other method beats RANDOM in this regime."""
    others = [k for k in methods_of(scores, regime) if k[1] != "random"]
    pairs = {k[1]: paired(scores[k], scores[(regime, "random")]) for k in others}
    return _each(f"LAPT-{regime.upper()}: RANDOM is worst", pairs)


def full_beats_emb(scores: Scores) -> Verdict:
    """LAPT-FULL beats LAPT-EMB for every method that has both."""
    methods = sorted({m for r, m in methods_of(scores, "full")} & {m for r, m in methods_of(scores, "emb")})
    if not methods:
        return Verdict("LAPT-FULL ≥ LAPT-EMB", UNRESOLVED, "no method has results in both regimes")
    return _each(
        "LAPT-FULL ≥ LAPT-EMB", {m: paired(scores[("full", m)], scores[("emb", m)]) for m in methods}
    )


def structured(method: str) -> bool:
    parts = method.split("+")
    return "ident" in parts or "focus" in parts


def ident_focus_best(scores: Scores, regime: str) -> Verdict:
    """The best +IDENT/FOCUS method (tables' rule) beats the best of the others."""
    keys = methods_of(scores, regime)
    top = best(scores, [k for k in keys if structured(k[1])])
    rest = best(scores, [k for k in keys if not structured(k[1])])
    p = paired(scores[top], scores[rest])
    overall = best(scores, keys)
    return Verdict(
        f"LAPT-{regime.upper()}: +IDENT/FOCUS is best",
        p.verdict,
        f"best overall {overall[1]}; {top[1]} − {rest[1]}: {p}",
    )


def baseline_gaps(scores: Scores) -> list[Verdict]:
    """The paper on high-resource languages (Hebrew among them): the off-the-shelf model is slightly better
    than every re-initialised model, and LAPT with the full vocabulary gains a little over them."""
    top = best(scores, methods_of(scores, "full"))
    out = []
    for key, claim in (
        ((OFF_THE_SHELF, OFF_THE_SHELF), "off-the-shelf"),
        (("full", FULL_VOCAB), "full-vocabulary LAPT-FULL"),
    ):
        if key in scores:
            p = paired(scores[key], scores[top])
            out.append(
                Verdict(
                    f"{claim} beats the best re-initialised model",
                    p.verdict,
                    f"{claim} − {top[1]} (LAPT-FULL): {p}",
                )
            )
    return out


def flops_ratio(per_token: Mapping[str, float], full_vocab: str, at_least: float = 2.0) -> Verdict:
    """LAPT with the full vocabulary (run ``full_vocab``) costs at least ``at_least`` times the FLOPs per
    training token of the reduced vocabularies (their mean); the paper: "two to three times more FLOPs"."""
    claim = f"full-vocabulary LAPT costs ≥ {at_least:g}× the FLOPs per token"
    reduced = [v for k, v in per_token.items() if k != full_vocab]
    if full_vocab not in per_token or not reduced:
        return Verdict(claim, UNRESOLVED, "no full-vocabulary and reduced runs to compare")
    ratio = per_token[full_vocab] / statistics.mean(reduced)
    detail = f"{ratio:.2f}× (paper accounting; mean of {len(reduced)} reduced-vocabulary runs)"
    return Verdict(claim, HOLDS if ratio >= at_least else FAILS, detail)


def flops_per_token(logs: Mapping[str, Mapping]) -> dict[str, float]:
    """LAPT FLOPs per training token as the paper counts them, per run, from ``lapt_log.json`` contents."""
    return {
        name: log["flops"]["paper"] / log["tokens_seen"] for name, log in logs.items() if log["tokens_seen"]
    }


def task_verdicts(scores: Scores) -> list[Verdict]:
    """Every score-based finding of one language and task."""
    out = []
    for regime in ("full", "emb"):
        if (regime, "random") in scores:
            out.append(random_worst(scores, regime))
    out.append(full_beats_emb(scores))
    for regime in ("full", "emb"):
        keys = methods_of(scores, regime)
        if any(structured(k[1]) for k in keys) and not all(structured(k[1]) for k in keys):
            out.append(ident_focus_best(scores, regime))
    return out + baseline_gaps(scores)


def lr_check(scores: Scores, lower_lr: Scores) -> list[Verdict]:
    """The learning-rate check of LAPT-FULL < LAPT-EMB: per method run at the lower rate, does LAPT-FULL at
    that rate beat LAPT-FULL at the main rate, and does it beat LAPT-EMB (main rate)?"""
    out = []
    for _, method in sorted(k for k in lower_lr if k[0] == "full" and k[1] != FULL_VOCAB):
        low = lower_lr[("full", method)]
        for other, name in ((("full", method), "LAPT-FULL at the main rate"), (("emb", method), "LAPT-EMB")):
            if other in scores:
                p = paired(low, scores[other])
                out.append(Verdict(f"{method}: LAPT-FULL at the lower rate beats {name}", p.verdict, str(p)))
    return out


def flattened(curve: Sequence[Mapping], max_gain: float = 0.01) -> bool:
    """A dev-loss curve has flattened: its best evaluation is not its last, or its last quarter of steps
    lowered the dev loss by under ``max_gain`` (relative)."""
    losses = [p["dev_loss"] for p in curve if p.get("selectable", True)]  # step 0 is no checkpoint
    if min(range(len(losses)), key=losses.__getitem__) < len(losses) - 1:
        return True
    late = [p["dev_loss"] for p in curve if p["step"] >= 0.75 * curve[-1]["step"]]
    return len(late) > 1 and (late[0] - late[-1]) / late[0] < max_gain
