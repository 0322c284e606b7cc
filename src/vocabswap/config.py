"""Loading, validating and slicing a workflow config (config/config.yaml, config/paper.yaml).

`load_config` validates against config/schema.yaml before anything runs and fails with one line naming the
key; `Grid` answers what the workflow plans (targets, models, fine-tuning cells, table contents) and which
slice of the config each job reads, so that a job's params change only when its own settings change.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vocabswap.errors import VocabswapError
from vocabswap.registry import (
    FULL_VOCAB,
    OFF_THE_SHELF,
    TASKS,
    UnknownMethodError,
    canonical_name,
    uses_focus,
)

# Keys of an eval set that choose which LAPT models its task is fine-tuned on (not data settings).
ROW_SELECTION = ("methods", "regimes")

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


class ConfigError(VocabswapError):
    """A config that fails the schema or a cross-reference check; the message names the key."""


def canonical_method(name: str, key: str = "methods") -> str:
    """`ident+script+posn` -> `script+posn+ident` (the registry's grammar); ConfigError naming `key`."""
    try:
        return canonical_name(name)
    except UnknownMethodError as err:
        raise ConfigError(f"config: {key}: {err}") from None


def _key_path(path: Iterator[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_schema(path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ConfigError(f"schema: only local $ref supported, got {ref!r}")
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def fill_defaults(instance: dict[str, Any], schema: Mapping[str, Any], root: Mapping[str, Any]) -> None:
    """Set schema defaults on `instance` through `properties` (never into maps of overrides)."""
    schema = _resolve(schema, root)
    for key, sub in schema.get("properties", {}).items():
        sub = _resolve(sub, root)
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if isinstance(instance.get(key), dict) and "properties" in sub:
            fill_defaults(instance[key], sub, root)


def strict_validator(schema: Mapping[str, Any]) -> Any:
    """A JSON-schema validator whose ``integer`` is no float (``300.0`` would fail later, in a job) and
    whose ``number`` is finite (YAML's ``.nan`` and ``.inf`` are refused)."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine_many(
        {
            "integer": lambda _, x: isinstance(x, int) and not isinstance(x, bool),
            "number": lambda _, x: (
                isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            ),
        }
    )
    return jsonschema.validators.extend(base, type_checker=checker)(schema)


def validate_config(config: dict[str, Any], schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate `config` in place (schema, then cross-references), fill defaults, canonicalise methods."""
    schema = schema if schema is not None else load_schema()
    validator = strict_validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        # The deepest error is the most specific one (anyOf/oneOf report a summary at the parent).
        err = max(errors, key=lambda e: len(e.absolute_path))
        where = _key_path(err.absolute_path)
        if err.validator == "additionalProperties":
            raise ConfigError(f"config: {where}: {err.message} (see config/schema.yaml for the valid keys)")
        raise ConfigError(f"config: {where}: {err.message}")
    fill_defaults(config, schema, schema)
    _check_references(config)
    _check_source_names(config)
    return config


def _check_references(config: dict[str, Any]) -> None:
    languages = config["languages"]
    config["methods"] = [canonical_method(m, f"methods[{i}]") for i, m in enumerate(config["methods"])]
    if len(set(config["methods"])) != len(config["methods"]):
        raise ConfigError("config: methods: two names denote the same method (order of parts is free)")
    for name, target in config["targets"].items():
        for lang in target["languages"]:
            if lang not in languages:
                raise ConfigError(
                    f"config: targets.{name}.languages: {lang!r} is not defined under languages"
                )
        if "methods" in target:
            target["methods"] = [
                canonical_method(m, f"targets.{name}.methods[{i}]") for i, m in enumerate(target["methods"])
            ]
    _check_task_rows(config)
    in_experiment: set[str] = set()
    for name, exp in config["experiments"].items():
        seen: dict[str, str] = {}
        for target in exp["targets"]:
            if target not in config["targets"]:
                raise ConfigError(
                    f"config: experiments.{name}.targets: {target!r} is not defined under targets"
                )
            for lang in config["targets"][target]["languages"]:
                if lang in seen:
                    raise ConfigError(
                        f"config: experiments.{name}.targets: language {lang!r} is in both "
                        f"{seen[lang]!r} and {target!r}; one table column per language"
                    )
                seen[lang] = target
            in_experiment.add(target)
    orphans = sorted(set(config["targets"]) - in_experiment)
    if orphans:
        raise ConfigError(f"config: targets.{orphans[0]}: not in any experiment, so no table would show it")


def _check_task_rows(config: dict[str, Any]) -> None:
    """Canonicalise each evaluation set's `methods` (the row selection of its task): a method name or
    `fullvocab`, naming the key of a bad one."""
    for lang, spec in config["languages"].items():
        for task, eval_set in spec["eval"].items():
            if "methods" in eval_set:
                key = f"languages.{lang}.eval.{task}.methods"
                eval_set["methods"] = [
                    m if m == FULL_VOCAB else canonical_method(m, f"{key}[{i}]")
                    for i, m in enumerate(eval_set["methods"])
                ]


def _check_source_names(config: Mapping[str, Any]) -> None:
    """Every ``packaged:NAME`` base model, corpus and evaluation source names a packaged item (with the
    right task and language), and ud:/wikiann: sources serve their task: checked before any job runs."""
    from vocabswap.base_model import PACKAGED_PREFIX, packaged_model_names
    from vocabswap.data.packaged import PACKAGED, canonical_name

    base = str(config["base_model"])
    if base.startswith(PACKAGED_PREFIX) and base[len(PACKAGED_PREFIX) :] not in packaged_model_names():
        known = ", ".join(PACKAGED_PREFIX + k for k in packaged_model_names())
        raise ConfigError(f"config: base_model: unknown packaged model {base!r}; known: {known}")
    for lang, spec in config["languages"].items():
        where = {f"languages.{lang}.corpus.{k}": (v, None) for k, v in spec["corpus"].items()}
        where.update({f"languages.{lang}.eval.{t}.source": (e["source"], t) for t, e in spec["eval"].items()})
        for key, (source, task) in where.items():
            kind, _, name = str(source).partition(":")
            serves = {"ud": "pos", "wikiann": "ner"}.get(kind)
            if task is not None and serves is not None and task != serves:
                raise ConfigError(f"config: {key}: {kind}: sources give {serves} data only, not {task}")
            if kind != "packaged":
                continue
            info = PACKAGED.get(canonical_name(name))
            if info is None:
                known = ", ".join(f"packaged:{k}" for k in sorted(PACKAGED))
                raise ConfigError(f"config: {key}: unknown packaged source {source!r}; known: {known}")
            if task is not None and task not in info["tasks"]:
                raise ConfigError(f"config: {key}: {source} has no {task} data")
            if info["lang"] != lang:
                raise ConfigError(f"config: {key}: {source} is {info['lang']} data, not {lang}")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `base` with `override`'s keys replaced recursively."""
    out = copy.deepcopy(dict(base))
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"line {key_node.start_mark.line + 1}: the key {key!r} is given twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> Any:
    """A YAML config file; ConfigError naming the file (and line) when it does not parse or repeats a key."""
    path = Path(path)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}); a config is a YAML file") from None


def load_config(path: str | Path, *overlays: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Read a YAML config, merge overlays (files or dicts) over it, validate; ConfigError names the key."""
    config = read_yaml(path) or {}
    for overlay in overlays:
        if not isinstance(overlay, Mapping):
            overlay = read_yaml(overlay) or {}
        config = deep_merge(config, overlay)
    return validate_config(config)


BASE_VOCAB = "base"  # the size wildcard of the full-vocabulary LAPT runs: the base model's own vocabulary


def as_sizes(value: int | Sequence[int]) -> list[int]:
    """A `vocab_size` setting (one size or a list) as a list."""
    return [value] if isinstance(value, int) else list(value)


@dataclass(frozen=True)
class Cell:
    """One fine-tuning run: a model (target, vocabulary size, regime, method; or the off-the-shelf base) on
    a language/task. `size` is a vocabulary size, BASE_VOCAB for the full-vocabulary baseline, "" off the
    shelf."""

    lang: str
    task: str
    seed: int
    target: str = OFF_THE_SHELF
    regime: str = ""
    method: str = ""
    size: int | str = ""

    @property
    def wildcards(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v != ""}


class Grid:
    """What a validated config plans, and the config slice each job reads."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = config

    # --- the plan -------------------------------------------------------------------------------------
    @property
    def targets(self) -> list[str]:
        return list(self.config["targets"])

    @property
    def languages(self) -> list[str]:
        """Languages some target uses (in config order)."""
        used = {lang for t in self.config["targets"].values() for lang in t["languages"]}
        return [lang for lang in self.config["languages"] if lang in used]

    def target_languages(self, target: str) -> list[str]:
        return list(self.config["targets"][target]["languages"])

    def is_multilingual(self, target: str) -> bool:
        return len(self.config["targets"][target]["languages"]) > 1

    def methods(self, target: str) -> list[str]:
        return list(self.config["targets"][target].get("methods", self.config["methods"]))

    def regimes(self, target: str) -> list[str]:
        return list(self.config["targets"][target].get("regimes", self.config["regimes"]))

    def full_vocab_regimes(self, target: str) -> list[str]:
        return list(self.config["targets"][target].get("full_vocab_regimes", []))

    def vocab_sizes(self, target: str, experiment: str | None = None) -> list[int]:
        """A target's vocabulary sizes, ascending: its own `tokenizer.vocab_size`, else that of `experiment`
        (or, with None, of every experiment holding the target), else the global one."""
        own = self.config["targets"][target].get("tokenizer", {}).get("vocab_size")
        if own is not None:
            return sorted(as_sizes(own))
        default = self.config["tokenizer"]["vocab_size"]
        experiments = self.config["experiments"]
        names = (
            [experiment]
            if experiment is not None
            else [e for e in experiments if target in experiments[e]["targets"]]
        )
        sizes = {s for e in names for s in as_sizes(experiments[e].get("vocab_size", default))}
        return sorted(sizes or as_sizes(default))

    def experiment_sizes(self, experiment: str) -> list[int]:
        targets = self.config["experiments"][experiment]["targets"]
        return sorted({s for t in targets for s in self.vocab_sizes(t, experiment)})

    def tokenizer_settings(self, target: str, size: int) -> dict[str, Any]:
        """The tokenizer slice of one size: adding or removing another size leaves it unchanged."""
        return {**self.section("tokenizer", target=target), "vocab_size": int(size)}

    def lapt_models(self, target: str, experiment: str | None = None) -> list[tuple[int | str, str, str]]:
        """(size, regime, method) of every LAPT run of a target, the full-vocabulary baselines first."""
        runs: list[tuple[int | str, str, str]] = [
            (BASE_VOCAB, r, FULL_VOCAB) for r in self.full_vocab_regimes(target)
        ]
        runs += [
            (size, r, m)
            for size in self.vocab_sizes(target, experiment)
            for r in self.regimes(target)
            for m in self.methods(target)
        ]
        return runs

    def check_vocab_sizes(self, text_bound: Callable[[str], int | None]) -> None:
        """Refuse before any job a size above what a target's text is known to support: `text_bound`
        gives the most pieces a corpus source's whole text supports (None: unknown until trained on)."""
        for target in self.targets:
            sources = [
                self.config["languages"][lang]["corpus"][s]
                for lang in self.target_languages(target)
                for s in self.corpus_sources(lang)
            ]
            bound = text_bound(sources[0]) if len(sources) == 1 else None
            too_big = [s for s in self.vocab_sizes(target) if bound is not None and s > bound]
            if too_big:
                raise ConfigError(
                    f"config: targets.{target}: vocabulary size {too_big[0]} is larger than the text of "
                    f"{sources[0]} supports (at most {bound} pieces); use a smaller tokenizer.vocab_size"
                )

    def corpus_sources(self, lang: str) -> list[str]:
        return list(self.config["languages"][lang]["corpus"])

    def tasks(self, lang: str) -> list[str]:
        evals = self.config["languages"][lang]["eval"]
        return [t for t in TASKS if t in self.config["tasks"] and t in evals]

    def eval_sets(self) -> list[tuple[str, str]]:
        return [(lang, task) for lang in self.languages for task in self.tasks(lang)]

    def cells(self, target: str | None = None, experiment: str | None = None) -> list[Cell]:
        """Fine-tuning runs: of one target's LAPT models (at `experiment`'s sizes, or all of the target's),
        or (target None) the off-the-shelf base model."""
        seeds = self.config["seeds"]
        if target is None:
            return [Cell(lang, task, seed) for lang, task in self.eval_sets() for seed in seeds]
        return [
            Cell(lang, task, seed, target, regime, method, size)
            for size, regime, method in self.lapt_models(target, experiment)
            for lang in self.target_languages(target)
            for task in self.tasks(lang)
            if self.fine_tunes(lang, task, regime, method)
            for seed in seeds
        ]

    def fine_tunes(self, lang: str, task: str, regime: str, method: str) -> bool:
        """Whether `task` of `lang` is fine-tuned on this LAPT model (its eval set's `methods`/`regimes`)."""
        eval_set = self.config["languages"][lang]["eval"][task]
        return method in eval_set.get("methods", [method]) and regime in eval_set.get("regimes", [regime])

    def all_cells(self) -> list[Cell]:
        return self.cells(None) + [c for t in self.targets for c in self.cells(t)]

    def experiment_tasks(self, experiment: str) -> list[str]:
        langs = self.experiment_languages(experiment)
        return [t for t in TASKS if any(t in self.tasks(lang) for lang in langs)]

    def experiment_languages(self, experiment: str) -> list[str]:
        targets = self.config["experiments"][experiment]["targets"]
        return [lang for t in targets for lang in self.target_languages(t)]

    def experiment_cells(self, experiment: str, task: str) -> list[Cell]:
        """Every result a table needs: off-the-shelf rows for its languages, then each target's runs."""
        langs = set(self.experiment_languages(experiment))
        out = [c for c in self.cells(None) if c.task == task and c.lang in langs]
        for target in self.config["experiments"][experiment]["targets"]:
            out += [c for c in self.cells(target, experiment) if c.task == task]
        return out

    # --- config slices (params) -------------------------------------------------------------------------
    def section(self, name: str, *, target: str | None = None, lang: str | None = None) -> dict[str, Any]:
        """A global section with the target's or language's overrides merged over it."""
        base = self.config.get(name, {})
        if target is not None:
            return deep_merge(base, self.config["targets"][target].get(name))
        if lang is not None:
            return deep_merge(base, self.config["languages"][lang].get(name))
        return copy.deepcopy(dict(base))

    def finetune_settings(self, lang: str, task: str, model: str | None = None) -> dict[str, Any]:
        """The fine-tuning slice of one (language, task); ``model`` ``offtheshelf`` or ``fullvocab`` gets
        the authors' baseline batches (``finetune_baselines``) under paper_compat."""
        settings = self.section("finetune", lang=lang)
        if self.config["paper_compat"] and model in ("offtheshelf", "fullvocab"):
            settings.update(self.config["finetune_baselines"])
        settings["patience"] = settings["patience"][task]
        if isinstance(settings["max_epochs"], dict):  # per task (paper: POS 64, NER 32)
            settings["max_epochs"] = settings["max_epochs"][task]
        settings["paper_compat"] = self.config["paper_compat"]
        settings["precision"] = self.config["precision"]
        return settings

    def eval_settings(self, lang: str, task: str) -> dict[str, Any]:
        """The evaluation set's data settings; its `methods`/`regimes` pick fine-tuning runs, not data."""
        eval_set = self.config["languages"][lang]["eval"][task]
        data = {k: v for k, v in eval_set.items() if k not in ROW_SELECTION}
        return copy.deepcopy({**data, **self.config["eval_data"]})

    def init_reads_aux(self, method: str) -> bool:
        """Whether the init job of `method` reads the auxiliary fastText model (the method uses FOCUS)."""
        return uses_focus(method)

    def init_settings(self, target: str, method: str) -> dict[str, Any]:
        """The init slice of one method: FOCUS settings only where the method uses FOCUS."""
        settings = self.section("init", target=target)
        if not self.init_reads_aux(method):
            del settings["focus"]
        settings["seed"] = self.config["init_seed"]
        settings["paper_compat"] = self.config["paper_compat"]
        return settings

    def table_settings(self, experiment: str, task: str) -> dict[str, Any]:
        """What a results table of one task reads: the `tables` section, its title, languages and seeds."""
        return {
            **copy.deepcopy(self.config["tables"]),
            "title": self.config["experiments"][experiment].get("title", experiment),
            "task": task,
            "languages": self.experiment_languages(experiment),
            "seeds": list(self.config["seeds"]),
            "population_std": self.config["paper_compat"],
        }

    def resources(self, stage: str) -> dict[str, int]:
        res = self.config["resources"]
        return dict(res.get(stage, res["default"]))
