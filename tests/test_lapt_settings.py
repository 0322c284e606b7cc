"""Per-run LAPT settings (issue 8.2, 8.3): config/paper.yaml's lapt_overrides reach exactly the jobs the
authors' per-run configs name, the full-vocabulary baseline has its own schedule, and bad rules fail early."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from vocabswap.config import ConfigError, Grid, load_config, validate_config
from vocabswap.lapt_settings import check_overrides, lapt_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def paper() -> dict:
    return load_config(ROOT / "config" / "paper.yaml")


def settings(config: dict, target: str, regime: str, method: str) -> dict:
    section = Grid(config).section("lapt", target=target)
    return lapt_settings(section, config.get("lapt_overrides"), target=target, regime=regime, method=method)


# (target, regime, method) -> (max_grad_norm, patience, eval_every, freeze_fraction), as the authors' file
# configs/<he|erzya|sami|te>_cpt[-full][_emb-32k[-method]].yml states it
AUTHORS = {
    ("he", "full", "random"): (1.0, None, 1000, 0.1),  # he_cpt-full_emb-32k.yml
    ("he", "full", "ident"): (0.5, None, 1000, 0.1),  # he_cpt-full_emb-32k-ident.yml
    ("he", "full", "script"): (0.5, None, 1000, 0.1),
    ("he", "full", "script+posn"): (1.0, None, 1000, 0.1),
    ("he", "full", "script+ident"): (1.0, None, 1000, 0.1),
    ("he", "full", "script+posn+ident"): (1.0, None, 1000, 0.1),
    ("he", "full", "focus+ident"): (0.5, None, 1000, 0.1),  # he_cpt-full_emb-32k-focus.yml
    ("he", "emb", "random"): (1.0, None, 1000, 0.1),
    ("he", "emb", "ident"): (0.5, None, 1000, 0.1),
    ("he", "emb", "script"): (0.5, None, 1000, 0.1),
    ("he", "emb", "script+posn"): (0.5, None, 1000, 0.1),
    ("he", "emb", "script+ident"): (0.5, None, 1000, 0.1),
    ("he", "emb", "script+posn+ident"): (1.0, None, 1000, 0.1),
    ("he", "emb", "focus+ident"): (1.0, None, 1000, 0.1),
    ("myv", "full", "random"): (0.5, 25, 1000, 0.1),  # erzya_cpt-full_emb-32k.yml
    ("myv", "full", "focus+ident"): (0.5, 25, 1000, 0.1),
    ("myv", "emb", "random"): (0.5, 25, 1000, 0.1),
    ("myv", "emb", "focus+ident"): (0.5, 25, 1000, 0.1),
    ("sme", "full", "random"): (0.5, 25, 1000, 0.1),  # sami_cpt-full_emb-32k.yml
    ("sme", "emb", "script"): (0.5, 25, 1000, 0.1),
    ("te", "full", "random"): (1.0, None, 1000, 0.1),  # te_cpt-full_emb-32k.yml
    ("te", "full", "focus+ident"): (1.0, None, 1000, 0.1),
    ("et", "full", "random"): (1.0, None, 1000, 0.1),  # et_cpt-full_emb-32k.yml
    ("ru", "full", "random"): (0.5, None, 1000, 0.1),  # ru_cpt-full_emb-32k.yml
    ("ru", "emb", "random"): (0.5, None, 1000, 0.1),
    ("ru", "full", "focus+ident"): (1.0, None, 1000, 0.1),
    ("uralic", "full", "random"): (1.0, None, 5000, 0.1),  # uralic_cpt-full_emb-32k.yml
    ("uralic", "emb", "script"): (1.0, None, 5000, 0.1),
    # the full-vocabulary baseline: he_cpt-full.yml, erzya_cpt-full.yml (never frozen, eval 500, patience 10)
    ("he", "full", "fullvocab"): (1.0, 10, 500, 0.0),
    ("myv", "full", "fullvocab"): (1.0, 10, 500, 0.0),
}


@pytest.mark.parametrize(("run", "expected"), AUTHORS.items(), ids=["-".join(k) for k in AUTHORS])
def test_paper_yaml_gives_each_run_the_authors_settings(paper, run, expected):
    got = settings(paper, *run)
    assert (got["max_grad_norm"], got["patience"], got["eval_every"], got["freeze_fraction"]) == expected
    assert got["sequences"] == "lines" and got["batch_size"] == 200 and got["steps"] == 100_000
    assert got["max_length"] == (512 if run[0] == "uralic" else 256)  # uralic_*: max_seq_len 512


def test_every_planned_lapt_job_gets_valid_settings(paper):
    from vocabswap.lapt import LaptConfig

    grid = Grid(paper)
    for target in grid.targets:
        for run in grid.lapt_models(target):
            regime, method = run[-2], run[-1]
            LaptConfig(regime=regime, **settings(paper, target, regime, method)).validate()


def test_without_overrides_every_job_gets_the_section(paper):
    config = copy.deepcopy(paper)
    del config["lapt_overrides"]
    assert settings(config, "he", "full", "fullvocab") == Grid(config).section("lapt", target="he")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            {"targets": ["xx"], "set": {"patience": 2}},
            "config: lapt_overrides[0].targets[0]: 'xx' is not defined",
        ),
        (
            {"methods": ["mean+script"], "set": {"patience": 2}},
            "config: lapt_overrides[0].methods[0]: unknown",
        ),
    ],
)
def test_bad_override_rules_name_the_key(paper, rule, expected):
    config = copy.deepcopy(paper)
    config["lapt_overrides"] = [rule]
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        check_overrides(config)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"set": {"patience": 0}}, "lapt_overrides[0].set.patience"),
        ({"set": {"nope": 1}}, "lapt_overrides[0].set"),
        ({"regimes": ["half"], "set": {"patience": 2}}, "lapt_overrides[0].regimes[0]"),
        ({"targets": ["he"]}, "'set' is a required property"),
    ],
)
def test_the_schema_checks_the_form_of_a_rule(paper, rule, expected):
    import yaml

    raw = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text(encoding="utf-8"))
    raw["lapt_overrides"] = [rule]
    with pytest.raises(ConfigError) as err:
        validate_config(raw)
    assert expected in str(err.value)
