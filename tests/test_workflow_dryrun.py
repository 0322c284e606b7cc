"""The workflow's plan without running jobs: the paper's full grid, lint/format, and what a change reruns."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from _scratch import module_scratch
from _workflow import ROOT, snakemake

pytestmark = pytest.mark.workflow


def planned_jobs(output: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, wildcards) of every job a dry run lists."""
    jobs = []
    for block in re.split(r"\n(?=\[|rule |localrule )", output):
        m = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        if not m:
            continue
        wc = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        wildcards = dict(kv.split("=", 1) for kv in wc.group(1).split(", ")) if wc else {}
        jobs.append((m.group(1), wildcards))
    return jobs


def job_counts(output: str) -> dict[str, int]:
    stats = output[output.index("Job stats:") :]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)
        if m.group(1) != "total"
    }


def test_paper_grid_dry_run_plans_every_job(tmp_path: Path):
    started = time.perf_counter()
    run = snakemake(tmp_path, "-n", "--configfile", str(ROOT / "config" / "paper.yaml"), timeout=300)
    seconds = time.perf_counter() - started
    assert run.returncode == 0, run.stderr[-3000:]
    counts = job_counts(run.stdout)
    # The grid by hand (SPEC §3, paper Tables 1-4, 8-9): 10 languages (8 monolingual + Finnish, Hungarian);
    # targets: 8 monolingual + multi (8 languages) + uralic (6); 7 methods × 2 regimes per target; full-vocab
    # LAPT for Erzya, Hebrew, Telugu, multi, uralic; POS for all, NER for all but North Sami; 4 seeds.
    lapt = 10 * 7 * 2 + 5
    pos_ner = {"mono": 8 + 7, "multi": 8 + 7, "uralic": 6 + 5}
    finetune = 4 * (
        pos_ner["mono"] * 14
        + 2 * 3  # monolingual methods × regimes, + full vocab of myv/he/te (POS+NER)
        + pos_ner["multi"] * 15  # 14 + the multilingual full-vocab run
        + pos_ner["uralic"] * 15
    )
    expected = {
        "base_model": 1,
        "download_corpus": 8 + 2,  # OSCAR-2201 for all but Erzya and Sami (it has neither); OPUS for both
        "clean_corpus": 10,
        "split_corpus": 10,
        "sample_target": 2,
        "eval_data": 10 + 9,
        "train_tokenizer": 10,
        "aux_fasttext": 10,
        "init_model": 10 * 7,
        "lapt": lapt,
        "finetune": finetune,
        "finetune_offtheshelf": 4 * 19,
        "aggregate": 6,  # 3 experiments × POS/NER = Tables 1-4, 8-9
        "figure_flops": 6,
        "figure_init": 10,
        "figure_base_embeddings": 1,
        "vocab_table": 3,  # one per experiment: IDENT overlap, FOCUS coverage, parameters, FLOPs per size
        "lapt_curves": 3,  # one per experiment: dev loss at step 0 and at the best checkpoint, curves
        "all": 1,
    }
    assert counts == expected
    assert finetune == 2424 and lapt == 145
    assert seconds <= 30, f"dry run of the paper grid took {seconds:.1f} s"


def test_demo_dry_run_plans_the_demo(tmp_path: Path):
    run = snakemake(tmp_path, "-n", "--configfile", str(ROOT / "config" / "config.yaml"), timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    counts = job_counts(run.stdout)
    assert counts["init_model"] == 9 and counts["lapt"] == 2 * 9 + 1
    # POS only, on the off-the-shelf model and the LAPT-FULL models (9 methods + full vocabulary), 2 seeds
    assert counts["finetune"] == 2 * 10 and counts["finetune_offtheshelf"] == 2


def test_decoder_demo_dry_run_plans_the_encoder_demos_grid(tmp_path: Path):
    """config/decoder.yaml: SmolLM2 through the same rules and keys, the same grid as the encoder demo."""
    run = snakemake(tmp_path, "-n", "--configfile", str(ROOT / "config" / "decoder.yaml"), timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    counts = job_counts(run.stdout)
    assert counts["base_model"] == 1 and counts["train_tokenizer"] == 1 and counts["aux_fasttext"] == 1
    assert counts["init_model"] == 9 and counts["lapt"] == 2 * 9 + 1
    assert counts["finetune"] == 2 * 10 and counts["finetune_offtheshelf"] == 2
    jobs = planned_jobs(run.stdout)
    assert {w["regime"] for r, w in jobs if r == "lapt"} == {"full", "emb"}


def test_lint_is_clean():
    cmd = [sys.executable, "-m", "snakemake", "--lint"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Congratulations, your workflow is in a good condition!" in run.stdout + run.stderr


def test_snakefmt_is_clean():
    snakefmt = Path(sys.executable).with_name("snakefmt")
    run = subprocess.run(
        [str(snakefmt), "--check", "Snakefile", "rules"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


# --- incremental reruns ---------------------------------------------------------------------------------
TWO_LANGUAGES = {
    "tasks": ["pos", "ner"],
    "languages": {
        "he": {
            "name": "Hebrew",
            "corpus": {"treebank": "packaged:ud-hebrew-htb"},
            "eval": {
                "pos": {"source": "packaged:ud-hebrew-htb"},
                "ner": {"source": "packaged:ud-hebrew-htb"},
            },
        },
        "tr": {
            "name": "Turkish",
            "corpus": {"treebank": "packaged:turkish-treebanks"},
            "eval": {"pos": {"source": "packaged:turkish-treebanks"}},
        },
    },
    "targets": {"he": {"languages": ["he"], "full_vocab_regimes": ["full"]}, "tr": {"languages": ["tr"]}},
    "experiments": {"mono": {"targets": ["he", "tr"]}},
}
DIRECTORY_OUTPUTS = re.compile(r"^(resources/base_model|results/(eval|tokenizers|models)/.*)$")


def write_config(path: Path, **changes) -> Path:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    config.update(copy.deepcopy(TWO_LANGUAGES))
    config["methods"] = ["random", "script+posn+ident", "focus+ident"]
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def complete(work: Path, config: Path) -> Path:
    """Make every output of `config` exist and be recorded by Snakemake (created, then `--touch`ed), so
    the rerun logic is tested on the real DAG and metadata without training anything."""
    run = snakemake(work, "--summary", "--configfile", str(config), timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("output_file"))
    for line in lines[start + 1 :]:
        path = line.split("\t")[0]
        if not path:
            continue
        target = work / path
        if DIRECTORY_OUTPUTS.match(path):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
    run = snakemake(work, "--touch", "--cores", "1", "--configfile", str(config), timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return work


@pytest.fixture(scope="module")
def completed_workdir(request, tmp_path_factory) -> Iterator[Path]:
    with module_scratch(request, tmp_path_factory, "rerun") as work:
        yield complete(work, write_config(work / "config.yaml"))


def dry_run(work: Path, config: Path) -> list[tuple[str, dict[str, str]]]:
    run = snakemake(
        work,
        "-n",
        "--rerun-triggers",
        "mtime",
        "params",
        "input",
        "code",
        "--configfile",
        str(config),
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return planned_jobs(run.stdout)


def test_editing_nothing_reruns_nothing(completed_workdir: Path):
    work = completed_workdir
    assert dry_run(work, write_config(work / "same.yaml")) == []


def test_changing_one_language_reruns_only_its_jobs(completed_workdir: Path):
    work = completed_workdir
    jobs = dry_run(work, write_config(work / "tr-cleaning.yaml", languages__tr__cleaning={"min_words": 3}))
    rules = Counter(rule for rule, _ in jobs)
    # Turkish: cleaning, split, tokenizer, 3 inits, fastText, 6 LAPTs, 6 × 1 task × 2 seeds fine-tunings, the
    # init figure; plus the aggregation of the experiment's table and its FLOPs figure.
    assert rules["clean_corpus"] == 1 and rules["lapt"] == 6 and rules["finetune"] == 12
    for rule, wildcards in jobs:
        if rule in {"aggregate", "figure_flops", "vocab_table", "lapt_curves", "all"}:
            continue
        assert wildcards.get("lang", wildcards.get("target")) == "tr", (rule, wildcards)
    assert "finetune_offtheshelf" not in rules and "base_model" not in rules
    # Only the POS table has a Turkish column (Turkish has no NER set): the NER table is left alone.
    assert [w["task"] for r, w in jobs if r in {"aggregate", "figure_flops"}] == ["pos", "pos"]


def test_changing_one_targets_lapt_reruns_its_lapt_and_downstream_only(completed_workdir: Path):
    work = completed_workdir
    jobs = dry_run(work, write_config(work / "he-lapt.yaml", targets__he__lapt={"steps": 30}))
    rules = Counter(rule for rule, _ in jobs)
    assert set(rules) == {"lapt", "finetune", "aggregate", "figure_flops", "lapt_curves", "all"}
    assert rules["lapt"] == 7  # 3 methods × 2 regimes + full vocabulary
    assert all(w["target"] == "he" for r, w in jobs if r in {"lapt", "finetune"})


# --- vocabulary sizes -----------------------------------------------------------------------------------
# Tables and figures of a whole experiment (every size in one file).
SIZE_FREE = {"aggregate", "figure_flops", "figure_vocab_size", "vocab_table", "lapt_curves", "all"}


def test_adding_a_size_reruns_only_that_sizes_jobs(completed_workdir: Path):
    work = completed_workdir
    jobs = dry_run(work, write_config(work / "two-sizes.yaml", tokenizer__vocab_size=[4000, 2000]))
    rules = Counter(rule for rule, _ in jobs)
    # Per target (he, tr) at 2,000: tokenizer, fastText, 3 inits, the init figure, 3 methods × 2 regimes of
    # LAPT; fine-tuning: he 6 × 2 tasks × 2 seeds, tr 6 × 1 × 2. Then the tables and figures re-aggregate.
    assert rules == {
        "train_tokenizer": 2,
        "aux_fasttext": 2,
        "init_model": 6,
        "figure_init": 2,
        "lapt": 12,
        "finetune": 36,
        "aggregate": 2,
        "figure_flops": 2,
        "figure_vocab_size": 2,
        "vocab_table": 1,
        "lapt_curves": 1,
        "all": 1,
    }
    for rule, wildcards in jobs:
        assert rule in SIZE_FREE or wildcards["size"] == "2000", (rule, wildcards)


@pytest.fixture(scope="module")
def two_size_workdir(request, tmp_path_factory) -> Iterator[Path]:
    with module_scratch(request, tmp_path_factory, "sizes") as work:
        yield complete(work, write_config(work / "config.yaml", tokenizer__vocab_size=[2000, 4000]))


def test_removing_a_size_reruns_no_model_job(two_size_workdir: Path):
    """The remaining size's tokenizer, models and fine-tunings stay; only the tables are rebuilt without
    the removed size (its figure of score against size is no longer made)."""
    work = two_size_workdir
    assert dry_run(work, write_config(work / "same.yaml", tokenizer__vocab_size=[4000, 2000])) == []
    jobs = dry_run(work, write_config(work / "one-size.yaml", tokenizer__vocab_size=4000))
    assert {rule for rule, _ in jobs} <= SIZE_FREE - {"figure_vocab_size"}, jobs


def test_experiment_sizes_choose_what_its_tables_show(two_size_workdir: Path):
    """experiments.<e>.vocab_size narrows a sweep for one experiment: nothing retrains."""
    work = two_size_workdir
    config = write_config(
        work / "exp.yaml", tokenizer__vocab_size=[2000, 4000], experiments__mono__vocab_size=[4000]
    )
    assert {rule for rule, _ in dry_run(work, config)} <= SIZE_FREE
