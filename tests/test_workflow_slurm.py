"""The reduced demo through a real Slurm cluster with profiles/slurm (plus the test overlay profile): every
job runs under sbatch and its provenance records the Slurm job id. `.ci/run` (tests/run.sh as root with CI
set, or VOCABSWAP_SLURM_TEST=1) starts a one-node cluster on 127.0.0.1 first (tests/slurm/up.sh)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from _workflow import ROOT, read_json, reduced_config, seed_base_model, snakemake, write_config

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def cluster_is_up() -> str | None:
    """None when an idle Slurm node answers, else why the test cannot run."""
    if not shutil.which("sbatch") or not shutil.which("sinfo"):
        return "no Slurm client (sbatch, sinfo); `.ci/run` sets up a one-node cluster (tests/slurm/up.sh)"
    try:
        states = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError) as err:
        return f"sinfo failed: {err}"
    if "idle" not in states.split() and "mixed" not in states.split():
        return "no idle Slurm node; start one with `bash tests/slurm/up.sh` (root) or run `.ci/run`"
    return None


@pytest.mark.skipif(cluster_is_up() is not None, reason=str(cluster_is_up()))
def test_reduced_demo_through_slurm(tmp_path: Path, base_model_enpt: Path):
    seed_base_model(tmp_path, base_model_enpt)
    config = reduced_config(regimes=["full"], seeds=[1])
    config["languages"]["he"]["eval"].pop("ner")
    config["targets"]["he"]["full_vocab_regimes"] = []
    config_path = write_config(tmp_path / "config.yaml", config)
    run = snakemake(
        tmp_path,
        "--profile",
        str(ROOT / "profiles" / "slurm"),
        "--workflow-profile",
        str(ROOT / "tests" / "slurm" / "profile"),
        "--configfile",
        str(config_path),
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    ids = set()
    for path in [
        tmp_path / "results/models/he/v800/lapt-full/script+posn+ident/provenance.json",
        tmp_path / "results/models/he/v800/init/script+posn+ident/provenance.json",
        tmp_path / "results/tokenizers/he/v800/provenance.json",
    ]:
        ids.add(read_json(path)["slurm_job_id"])
    for result in [
        tmp_path / "results/finetune/he/v800/full/script+posn+ident/he/pos/seed1.json",
        tmp_path / "results/finetune/offtheshelf/he/pos/seed1.json",
    ]:
        ids.add(read_json(result)["provenance"]["slurm_job_id"])
    assert None not in ids and all(i.isdigit() for i in ids)
    assert len(ids) == 5, "each job ran as its own Slurm job"
    assert (tmp_path / "results/tables/monolingual/pos.md").is_file()
