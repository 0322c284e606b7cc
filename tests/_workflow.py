"""Helpers of the workflow tests: a reduced copy of the demo config, and running Snakemake on it."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def demo_config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))


def reduced_config(**overrides: Any) -> dict[str, Any]:
    """The demo, shrunk to run in a few minutes on 2 cores: the 47k-piece base model, one method under
    LAPT-FULL beside the full-vocabulary baseline, 2 seeds, POS and NER, a few steps and sentences."""
    config = demo_config()
    config.update(
        base_model="packaged:multilingual-e5-small-enpt",
        methods=["script+posn+ident"],
        regimes=["full"],
        seeds=[1, 2],
        tasks=["pos", "ner"],
    )
    config["languages"]["he"]["eval"]["pos"].pop("regimes", None)  # every regime's models, as the paper
    config["tokenizer"] = {"vocab_size": 800}
    config["corpus_split"] = {"dev_lines": 40}
    config["eval_data"] = {"max_sentences": 40}
    config["lapt"] = {
        "steps": 6,
        "batch_size": 4,
        "micro_batch_size": 4,
        "max_length": 32,
        "lr": 1e-4,
        "freeze_fraction": 0.5,
        "eval_every": 3,
        "log_every": 1,
    }
    config["finetune"] = {
        "lr": 1e-4,
        "batch_size": 16,
        "max_length": 48,
        "max_epochs": 1,
        "eval_every": 1,
        "train_cap": 32,
    }
    config["figures"] = {"max_points": 1000}
    for key, value in overrides.items():
        config[key] = copy.deepcopy(value)
    return config


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def snakemake(workdir: Path, *args: str, timeout: int = 900, **popen: Any) -> subprocess.CompletedProcess:
    """Run Snakemake on `workdir`. Targets go first in `args`: --configfile takes every value after it."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        *args,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=workdir, **popen)


def run_local(workdir: Path, config: Path, what: str, timeout: int = 1800) -> None:
    """Run the whole workflow of ``config`` on ``workdir`` with the local profile; a failure shows the tail
    of Snakemake's output. Prints the wall time (pytest -s) under ``what``."""
    started = time.perf_counter()
    profile = str(ROOT / "profiles" / "local")
    run = snakemake(workdir, "--profile", profile, "--configfile", str(config), timeout=timeout)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    print(f"{what}: {time.perf_counter() - started:.0f} s")


def seed_base_model(workdir: Path, base_dir: Path, spec: str = "packaged:multilingual-e5-small-enpt") -> None:
    """Put an already materialised base model (of ``spec``) where the workflow expects it (saves a job per
    test), with the provenance record that rule base_model would give it, so that traces reach its source."""
    from vocabswap.provenance import collect, packaged_sources, stamp_dir

    dest = workdir / "resources" / "base_model"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        base_dir, dest, copy_function=os.link if _same_fs(base_dir, dest.parent) else shutil.copy2
    )
    record = collect(rule="base_model", wildcards={}, config={"spec": spec}, inputs=[],
                     sources=packaged_sources(spec))  # fmt: skip
    stamp_dir(dest, record)


def _same_fs(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.stat().st_dev


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
