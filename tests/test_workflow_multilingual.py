"""A multilingual target end to end (reduced, Hebrew + Turkish from the packaged treebanks): α-sampled text
sized to its use, one tokenizer for both languages, every method's model, per-language fine-tuning and a
table with one column per language plus Avg. Also: the paper grid's multilingual samples keep the paper's
sizes, resolved by the sample_target rule itself."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from _scratch import module_scratch
from _workflow import ROOT, read_json, reduced_config, seed_base_model, snakemake, write_config

pytestmark = pytest.mark.workflow

METHODS = ["random", "script+posn+ident"]
HETR = {
    "languages": {
        "he": {
            "name": "Hebrew",
            "script": "Hebrew",
            "corpus": {"treebank": "packaged:ud-hebrew-htb"},
            "eval": {"pos": {"source": "packaged:ud-hebrew-htb"}},
        },
        "tr": {
            "name": "Turkish",
            "script": "Latin",
            "corpus": {"treebank": "packaged:turkish-treebanks"},
            "eval": {"pos": {"source": "packaged:turkish-treebanks"}},
        },
    },
    "targets": {"hetr": {"languages": ["he", "tr"]}},
    "experiments": {"multilingual": {"title": "Hebrew + Turkish", "targets": ["hetr"]}},
    "methods": METHODS,
    "sampling": {"dev_within_inputs": True},  # the paper's 100,000 dev lines would dwarf 6 LAPT steps
}


def rule_params(rule: str, config: Path, cwd: Path, **wildcards: str) -> dict:
    """The params Snakemake hands one job of `rule` (built by the workflow scripts' own job builder)."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from _job import mock_snakemake; "
        "job = mock_snakemake(sys.argv[2], sys.argv[3:]); print(json.dumps(dict(job.params.items())))"
    )
    args = [str(ROOT / "workflow" / "scripts"), rule, *(f"{k}={v}" for k, v in wildcards.items())]
    run = subprocess.run(
        [sys.executable, "-c", code, *args, "--configfile", str(config)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_paper_grid_samples_keep_the_papers_sizes(tmp_path: Path):
    """config/paper.yaml: the multilingual and Uralic LAPT samples are 100k steps × 200 sequences = 20M
    lines (one pass), the tokenizer samples 5M lines kept whole below 2 GB, α = 0.2, 2 GB per language."""
    paper = ROOT / "config" / "paper.yaml"
    for target, langs in (("multi", 8), ("uralic", 6)):
        params = rule_params("sample_target", paper, tmp_path, target=target)
        plan = params["sampling"]
        assert plan["train_lines"] == 20_000_000 and plan["tokenizer_lines"] == 5_000_000, plan
        assert plan["dev_lines"] == 100_000 and not plan["dev_within_inputs"]
        assert plan["alpha"] == 0.2 and plan["cap_bytes"] == 2_000_000_000
        assert plan["tokenizer_max_bytes"] == 2_000_000_000 and "100000 × 200 / 1" in plan["train_sized_by"]
        assert len(params["languages"]) == langs


@pytest.fixture(scope="module")
def hetr_run(request, tmp_path_factory, base_model_enpt: Path) -> Iterator[Path]:
    with module_scratch(request, tmp_path_factory, "hetr") as work:
        seed_base_model(work, base_model_enpt)
        config = write_config(work / "config.yaml", reduced_config(**HETR))
        started = time.perf_counter()
        # the table (and so every sample, tokenizer, model and fine-tuning it needs); the figures: the demo's
        table = "results/tables/multilingual/pos.md"
        profile = str(ROOT / "profiles" / "local")
        run = snakemake(work, table, "--profile", profile, "--configfile", str(config), timeout=1800)
        seconds = time.perf_counter() - started
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
        size = sum(p.stat().st_size for p in (work / "results").rglob("*") if p.is_file())
        print(f"he+tr reduced run: {seconds:.0f} s, {size / 1e6:.1f} MB under results/")
        yield work


@pytest.mark.slow
def test_samples_are_sized_to_their_use(hetr_run: Path):
    targets = hetr_run / "results/corpora/targets/hetr"
    comp = read_json(targets / "composition.json")
    train, dev, tok = (comp["splits"][s] for s in ("train", "dev", "tokenizer"))
    # LAPT reads 6 steps × 4 sequences: the LAPT sample holds exactly those 24 lines (issue: 50M lines)
    assert train["lines"] == 24 and "6 × 4 / 1" in train["sized_by"]
    # dev and tokenizer samples hold no more lines than their inputs together (issue: 5M tokenizer lines)
    n_train = sum(v["input_lines"] for v in tok["languages"].values())
    assert tok["requested_lines"] == 5_000_000 and tok["lines"] == n_train
    assert "train lines" in tok["sized_by"]
    assert dev["requested_lines"] == 100_000 and dev["lines"] == 2 * 40  # corpus_split.dev_lines: 40 each
    for split, info in comp["splits"].items():
        path = targets / f"{split}.txt"
        assert info["bytes"] == path.stat().st_size and len(path.read_bytes().splitlines()) == info["lines"]
        assert set(info["languages"]) == {"he", "tr"}
    assert comp["bytes"] == sum(s["bytes"] for s in comp["splits"].values()) and comp["seconds"] > 0
    # composition: q ∝ p^0.2 within sampling error, and every drawn line's language is where it claims
    for lang, info in tok["languages"].items():
        sd = np.sqrt(tok["lines"] * info["q"] * (1 - info["q"]))
        assert abs(info["sampled_lines"] - tok["lines"] * info["q"]) < 4 * sd, (lang, info)
        assert info["repeat"] == pytest.approx(info["sampled_lines"] / info["input_lines"])
    hebrew = sum(
        1
        for line in (targets / "tokenizer.txt").read_text(encoding="utf-8").splitlines()
        if any("\u05d0" <= ch <= "\u05ea" for ch in line)
    )
    assert hebrew == tok["languages"]["he"]["sampled_lines"]
    log = (hetr_run / "logs/sample_target/hetr.log").read_text(encoding="utf-8")
    assert "train sample: 24 lines" in log and "repeat per language: he" in log


@pytest.mark.slow
def test_one_tokenizer_every_model_and_a_table_per_language(hetr_run: Path):
    (tokenizer,) = (hetr_run / "results/tokenizers/hetr").glob("v*")
    vocab = json.loads((tokenizer / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    pieces = [piece for piece, _ in vocab]
    assert any("\u05d0" <= ch <= "\u05ea" for p in pieces for ch in p)  # Hebrew letters
    assert any(ch in p for p in pieces for ch in "şğı")  # Turkish letters
    models = hetr_run / "results/models/hetr"
    for method in METHODS:
        for stage in ("init", "lapt-full"):
            (model,) = models.glob(f"v*/{stage}/{method}")
            assert (model / "config.json").is_file() and (model / "tokenizer.json").is_file(), model
    results = sorted((hetr_run / "results/finetune/hetr").glob("v*/full/*/*/pos/seed*.json"))
    cells = {(r.parent.parent.parent.name, r.parent.parent.name, r.stem) for r in results}
    assert cells == {(m, lang, f"seed{s}") for m in METHODS for lang in ("he", "tr") for s in (1, 2)}
    md = (hetr_run / "results/tables/multilingual/pos.md").read_text(encoding="utf-8")
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in md.splitlines() if ln.startswith("|")]
    assert rows[0][-3:] == ["he", "tr", "Avg"]
    body = rows[2:]
    assert {"RANDOM", "SCRIPT+POSN+IDENT"} <= {cell for r in body for cell in r} and len(body) == 3
    # mean ± std over the seeds per language; Avg is the mean of the language means
    assert all("±" in cell for r in body for cell in r[-3:-1]) and all(float(r[-1]) > 0 for r in body), body
