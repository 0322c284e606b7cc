"""The config slices the rules hand to jobs come from Grid: each job reads only its own settings."""

from __future__ import annotations

from pathlib import Path

from vocabswap.config import Grid, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_init_settings_hold_focus_only_for_focus_methods():
    grid = Grid(load_config(ROOT / "config" / "config.yaml"))
    assert grid.init_reads_aux("focus+ident") and not grid.init_reads_aux("script+ident")
    assert "focus" in grid.init_settings("he", "focus+ident")
    settings = grid.init_settings("he", "script")
    assert "focus" not in settings and {"seed", "paper_compat"} <= set(settings)


def test_eval_and_table_settings():
    config = load_config(ROOT / "config" / "showcase.yaml")
    grid = Grid(config)
    for lang, task in grid.eval_sets():
        assert not {"methods", "regimes"} & set(grid.eval_settings(lang, task))
    exp = next(iter(config["experiments"]))
    table = grid.table_settings(exp, "pos")
    assert table["task"] == "pos" and table["seeds"] == config["seeds"]
    assert table["languages"] == grid.experiment_languages(exp)
    assert table["population_std"] == config["paper_compat"]
