"""The LAPT settings of one workflow job: the global ``lapt`` section, the target's ``lapt`` block, then every
matching rule of ``lapt_overrides`` in order (a later rule wins).

The paper's per-run configs differ by target, regime and method (the authors' ``configs/*_cpt*.yml``: max
grad norm 0.5 for some re-initialised runs, patience 25 evaluations for Erzya and Sami, the full-vocabulary
baseline's own schedule), so a rule matches on any of ``targets``, ``regimes`` and ``methods`` (the
``fullvocab`` pseudo-method included); a key left out matches everything. Standard library and the config
module only: the Snakefile imports this before any job runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vocabswap.config import ConfigError, canonical_method, deep_merge
from vocabswap.registry import FULL_VOCAB

OVERRIDES_KEY = "lapt_overrides"


def _canonical(method: str, key: str) -> str:
    return method if method == FULL_VOCAB else canonical_method(method, key)


def _rule_methods(rule: Mapping[str, Any], where: str) -> list[str] | None:
    if "methods" not in rule:
        return None
    return [_canonical(m, f"{where}.methods[{j}]") for j, m in enumerate(rule["methods"])]


def check_overrides(config: Mapping[str, Any]) -> None:
    """Cross-reference ``lapt_overrides`` (the schema checks their form): every target named exists and
    every method is a valid name; ConfigError naming the key otherwise."""
    for i, rule in enumerate(config.get(OVERRIDES_KEY) or []):
        where = f"config: {OVERRIDES_KEY}[{i}]"
        for j, target in enumerate(rule.get("targets", [])):
            if target not in config["targets"]:
                raise ConfigError(f"{where}.targets[{j}]: {target!r} is not defined under targets")
        _rule_methods(rule, f"{OVERRIDES_KEY}[{i}]")


def matches(rule: Mapping[str, Any], target: str, regime: str, method: str) -> bool:
    methods = _rule_methods(rule, OVERRIDES_KEY)
    return (
        target in rule.get("targets", [target])
        and regime in rule.get("regimes", [regime])
        and (methods is None or method in methods)
    )


def lapt_settings(
    section: Mapping[str, Any],
    overrides: Sequence[Mapping[str, Any]] | None,
    *,
    target: str,
    regime: str,
    method: str,
) -> dict[str, Any]:
    """``section`` (the global ``lapt`` with the target's block merged) with the matching rules' ``set``
    merged over it in order."""
    out = dict(section)
    for rule in overrides or []:
        if matches(rule, target, regime, method):
            out = deep_merge(out, rule["set"])
    return out


def job_settings(grid: Any, overrides: Sequence[Mapping[str, Any]] | None, wildcards: Any) -> dict[str, Any]:
    """The settings of the LAPT job ``wildcards`` (target, regime, method) of a workflow ``Grid``, with the
    config's top-level ``precision``."""
    settings = lapt_settings(
        grid.section("lapt", target=wildcards.target),
        overrides,
        target=wildcards.target,
        regime=wildcards.regime,
        method=wildcards.method,
    )
    return {**settings, "precision": grid.config["precision"]}
