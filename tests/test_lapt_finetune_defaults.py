"""A default is written once: LaptConfig/FinetuneConfig/CleanParams hold it, config/schema.yaml has the same,
and the CLI's options come from the dataclass fields (every option name still in --help)."""

from __future__ import annotations

import dataclasses

import pytest

from vocabswap.cli import build_parser
from vocabswap.config import fill_defaults, load_schema
from vocabswap.data.clean import CleanParams
from vocabswap.training_config import MAX_EPOCHS, PATIENCE, FinetuneConfig, LaptConfig


def schema_defaults(section: str) -> dict:
    schema = load_schema()
    out: dict = {}
    fill_defaults(out, schema["$defs"][section], schema)
    return out


def field_defaults(config_cls: type) -> dict:
    return {f.name: f.default for f in dataclasses.fields(config_cls)}


def test_lapt_config_defaults_equal_the_schema():
    schema, fields = schema_defaults("lapt"), field_defaults(LaptConfig)
    assert schema, "config/schema.yaml: no lapt defaults read"
    for key, value in schema.items():
        assert key in fields, f"schema lapt.{key} is no LaptConfig field"
        assert fields[key] == value, f"lapt.{key}: LaptConfig {fields[key]!r} != schema {value!r}"


def test_clean_params_equal_the_schema():
    schema, fields = schema_defaults("cleaning"), field_defaults(CleanParams)
    assert set(schema) == set(fields), "config/schema.yaml cleaning and CleanParams name different keys"
    for key, value in schema.items():
        assert fields[key] == value, f"cleaning.{key}: CleanParams {fields[key]!r} != schema {value!r}"


def test_finetune_config_defaults_equal_the_schema():
    schema, fields = schema_defaults("finetune"), field_defaults(FinetuneConfig)
    # Per-task values: the dataclass's None means the task's entry of MAX_EPOCHS / PATIENCE.
    per_task = {"max_epochs": MAX_EPOCHS, "patience": PATIENCE}
    assert schema
    for key, value in schema.items():
        assert key in fields, f"schema finetune.{key} is no FinetuneConfig field"
        expected = per_task[key] if key in per_task else fields[key]
        assert value == expected, f"finetune.{key}: FinetuneConfig {expected!r} != schema {value!r}"


LAPT_OPTIONS = [
    "--model",
    "--train",
    "--dev",
    "--regime",
    "--out",
    "--steps",
    "--batch-size",
    "--micro-batch-size",
    "--eval-every",
    "--lr",
    "--weight-decay",
    "--max-grad-norm",
    "--nan-max-grad-norm",
    "--max-restarts",
    "--max-length",
    "--sequences",
    "--patience",
    "--mlm-probability",
    "--freeze-fraction",
    "--head",
    "--seed",
    "--log-every",
    "--device",
    "--precision",
    "--no-bf16",
    "--state-dir",
    "--keep-state",
    "--overwrite",
]
FINETUNE_OPTIONS = [
    "--model",
    "--task",
    "--data",
    "--seed",
    "--out",
    "--lr",
    "--batch-size",
    "--max-length",
    "--max-epochs",
    "--eval-every",
    "--patience",
    "--max-grad-norm",
    "--train-cap",
    "--group-by-length",
    "--dropout",
    "--paper-compat",
    "--device",
    "--precision",
    "--no-bf16",
]


@pytest.mark.parametrize(("command", "options"), [("lapt", LAPT_OPTIONS), ("finetune", FINETUNE_OPTIONS)])
def test_help_lists_every_option(command, options, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    shown = capsys.readouterr().out
    for option in options:
        assert f"{option} " in shown or f"{option}\n" in shown, f"vocabswap {command} --help lacks {option}"
    assert "--debug" not in shown  # test hooks are callbacks of run_lapt, not options


def test_cli_defaults_are_the_dataclass_defaults():
    parse = build_parser().parse_args
    args = parse(["lapt", "--model", "m", "--train", "t", "--dev", "d", "--out", "o", "--regime", "emb"])
    expected = {**field_defaults(LaptConfig), "regime": "emb"}
    assert {k: getattr(args, k) for k in expected} == expected
    args = parse(["finetune", "--model", "m", "--data", "d", "--out", "o", "--task", "ner", "--seed", "3"])
    expected = {**field_defaults(FinetuneConfig), "task": "ner", "seed": 3}
    assert {k: getattr(args, k) for k in expected} == expected
