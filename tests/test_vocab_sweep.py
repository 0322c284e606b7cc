"""Vocabulary size as a grid dimension: config/sweep.yaml stays paper.yaml with a size list, the sizes
multiply the plan exactly, a size the text cannot support fails before any job, and the per-size
statistics (IDENT overlap, FOCUS coverage, parameters, FLOPs per token) on the real Hebrew text."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vocabswap.config import BASE_VOCAB, ConfigError, Grid, load_config, validate_config
from vocabswap.data.packaged import packaged_vocab_bound
from vocabswap.flops import MLMFlopModel

ROOT = Path(__file__).resolve().parents[1]
PAPER, SWEEP, DEMO = (ROOT / "config" / f"{name}.yaml" for name in ("paper", "sweep", "config"))
SWEEP_SIZES = [8192, 16384, 32768, 65536]


def raw(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_sweep_is_the_paper_monolingual_grid_at_four_sizes():
    """Every key of sweep.yaml is paper.yaml's, except the size list and what only the other experiments
    use; a change to paper.yaml that sweep.yaml misses fails here, naming the key."""
    paper, sweep = raw(PAPER), raw(SWEEP)
    assert sweep["tokenizer"]["vocab_size"] == SWEEP_SIZES
    assert set(sweep) == set(paper)
    for key in paper:
        if key in ("languages", "targets", "experiments", "tokenizer", "lapt_overrides"):
            continue
        assert sweep[key] == paper[key], f"sweep.yaml {key} differs from paper.yaml"
    mono = paper["experiments"]["monolingual"]["targets"]
    # The per-run LAPT rules of the monolingual targets (a rule naming only other targets would not validate).
    overrides = [r for r in paper["lapt_overrides"] if set(r.get("targets", mono)) & set(mono)]
    assert sweep["lapt_overrides"] == overrides
    assert list(sweep["experiments"]) == ["monolingual"]
    assert sweep["experiments"]["monolingual"]["targets"] == mono
    assert sweep["targets"] == {t: paper["targets"][t] for t in mono}
    langs = {lang for t in mono for lang in paper["targets"][t]["languages"]}
    assert sweep["languages"] == {k: v for k, v in paper["languages"].items() if k in langs}
    assert {**sweep["tokenizer"], "vocab_size": paper["tokenizer"]["vocab_size"]} == paper["tokenizer"]


def job_counts(output: str) -> dict[str, int]:
    import re

    stats = output[output.index("Job stats:") :]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)
        if m.group(1) != "total"
    }


@pytest.mark.workflow
def test_sweep_dry_run_counts_are_the_grid(tmp_path: Path):
    """Job counts of the sweep = sizes × methods × regimes × (language, task) × seeds, plus the
    size-free full-vocabulary and off-the-shelf baselines."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(SWEEP),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    counts = job_counts(run.stdout)
    config = load_config(SWEEP)
    sizes, methods, regimes, seeds = len(SWEEP_SIZES), len(config["methods"]), 2, len(config["seeds"])
    targets = config["experiments"]["monolingual"]["targets"]
    lang_tasks = {
        t: sum(len(config["languages"][lang]["eval"]) for lang in config["targets"][t]["languages"])
        for t in targets
    }
    full_vocab = [t for t in targets if config["targets"][t].get("full_vocab_regimes")]
    expected_finetune = seeds * (
        sizes * methods * regimes * sum(lang_tasks.values()) + sum(lang_tasks[t] for t in full_vocab)
    )
    # By hand: 4 sizes × 7 methods × 2 regimes × 15 (language, task) pairs × 4 seeds, + Erzya, Hebrew and
    # Telugu full-vocabulary LAPT-FULL (2 tasks each) × 4 seeds.
    assert expected_finetune == 4 * 7 * 2 * 15 * 4 + 3 * 2 * 4 == 3384
    assert counts["finetune"] == expected_finetune
    assert counts["lapt"] == sizes * methods * regimes * len(targets) + len(full_vocab) == 451
    assert counts["init_model"] == sizes * methods * len(targets) == 224
    assert counts["train_tokenizer"] == counts["aux_fasttext"] == counts["figure_init"] == 4 * 8
    assert counts["finetune_offtheshelf"] == seeds * sum(lang_tasks.values()) == 60
    assert counts["aggregate"] == counts["figure_flops"] == counts["figure_vocab_size"] == 2
    assert counts["vocab_table"] == 1


# --- the grid ---------------------------------------------------------------------------------------------
def demo(**changes) -> dict:
    config = raw(DEMO)
    config["tasks"] = ["pos", "ner"]
    config["languages"]["he"]["eval"]["pos"].pop("regimes", None)
    config["targets"]["tr"] = {"languages": ["tr"]}
    config["languages"]["tr"] = {
        "name": "Turkish",
        "corpus": {"tb": "packaged:turkish-treebanks"},
        "eval": {"pos": {"source": "packaged:turkish-treebanks"}},
    }
    config["experiments"]["monolingual"]["targets"] = ["he", "tr"]
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = copy.deepcopy(value)
    return validate_config(config)


def test_sizes_globally_per_experiment_and_per_target():
    assert Grid(demo()).vocab_sizes("he") == [4000]
    grid = Grid(demo(tokenizer__vocab_size=[8000, 2000]))
    assert grid.vocab_sizes("he") == [2000, 8000] and grid.experiment_sizes("monolingual") == [2000, 8000]
    grid = Grid(
        demo(experiments__monolingual__vocab_size=[1000, 3000], targets__tr__tokenizer={"vocab_size": 500})
    )
    assert grid.vocab_sizes("he") == [1000, 3000] and grid.vocab_sizes("tr") == [500]
    assert grid.experiment_sizes("monolingual") == [500, 1000, 3000]


def test_cells_carry_sizes_and_the_full_vocabulary_runs_once():
    grid = Grid(demo(tokenizer__vocab_size=[2000, 4000], methods=["random", "script"]))
    runs = grid.lapt_models("he")
    assert runs[0] == (BASE_VOCAB, "full", "fullvocab")
    assert runs[1:] == [
        (s, r, m) for s in (2000, 4000) for r in ("full", "emb") for m in ("random", "script")
    ]
    cells = [c for c in grid.experiment_cells("monolingual", "pos") if c.target == "he"]
    assert {c.size for c in cells} == {BASE_VOCAB, 2000, 4000}
    assert cells[0].wildcards["size"] == BASE_VOCAB


def test_a_sizes_tokenizer_settings_do_not_see_the_other_sizes():
    """Adding a size must leave the params of the existing sizes' tokenizer jobs unchanged."""
    one = Grid(demo()).tokenizer_settings("he", 4000)
    two = Grid(demo(tokenizer__vocab_size=[4000, 2000])).tokenizer_settings("he", 4000)
    assert one == two and one["vocab_size"] == 4000


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"tokenizer__vocab_size": [4000, 20000]},
            "config: targets.he: vocabulary size 20000 is larger than "
            "the text of packaged:ud-hebrew-htb supports (at most 13081 pieces)",
        ),
        (
            {"targets__tr__tokenizer": {"vocab_size": 14000}},
            "config: targets.tr: vocabulary size 14000 is "
            "larger than the text of packaged:turkish-treebanks supports (at most 13560 pieces)",
        ),
    ],
)
def test_a_size_above_a_packaged_texts_bound_fails_naming_size_target_and_maximum(changes, expected):
    with pytest.raises(ConfigError) as err:
        Grid(demo(**changes)).check_vocab_sizes(packaged_vocab_bound)
    assert str(err.value).startswith(expected) and "\n" not in str(err.value)


def test_a_size_below_the_minimum_fails_at_validation_naming_the_item():
    with pytest.raises(ConfigError, match=r"^config: tokenizer\.vocab_size\[1\]: 8 is less than the minimum"):
        demo(tokenizer__vocab_size=[4000, 8])
    with pytest.raises(
        ConfigError, match=r"^config: experiments\.monolingual\.vocab_size: \[\] should be non-empty"
    ):
        demo(experiments__monolingual__vocab_size=[])


@pytest.mark.workflow
def test_snakemake_refuses_a_size_above_the_packaged_bound_before_any_job(tmp_path: Path):
    config = raw(DEMO)
    config["tokenizer"]["vocab_size"] = [4000, 20000]
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(path),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode != 0
    assert (
        "vocabulary size 20000 is larger than the text of packaged:ud-hebrew-htb supports (at most "
        "13081 pieces)" in run.stdout + run.stderr
    )
    assert not (tmp_path / "results").exists()


def test_packaged_bound_is_what_sentencepiece_says(hebrew_train_text: Path, tmp_path: Path):
    """The recorded bound is SentencePiece's own maximum for the packaged Hebrew train text."""
    from vocabswap.errors import VocabswapError
    from vocabswap.tokenizer import train_tokenizer

    bound = packaged_vocab_bound("packaged:ud-hebrew-htb")
    with pytest.raises(
        VocabswapError, match=rf"vocabulary size {bound + 1} .*\(at most {bound} for this text\)"
    ):
        train_tokenizer([hebrew_train_text], bound + 1, tmp_path / "tok")


# --- per-size statistics ----------------------------------------------------------------------------------
def test_flops_per_token_grow_with_the_vocabulary():
    from vocabswap.vocab_stats import lapt_flops_per_token

    small, big = (MLMFlopModel(768, 12, 3072, v) for v in (32770, 250002))
    # flops.py's own figures for XLM-R base at L = 256: forward 231 and 564 MFLOP/token (paper accounting,
    # all positions through the head), so training (3 × forward) 693 and 1692.
    assert lapt_flops_per_token(small, 256, 0.15)["paper"] / 3e6 == pytest.approx(231, abs=1)
    assert lapt_flops_per_token(big, 256, 0.15)["paper"] / 3e6 == pytest.approx(564, abs=1)
    assert (
        lapt_flops_per_token(small, 256, 0.15)["executed"] < lapt_flops_per_token(small, 256, 0.15)["paper"]
    )


def test_init_report_records_the_sizes_statistics(base_model_enpt: Path, he_tokenizer: Path, tmp_path: Path):
    """On the real Hebrew tokenizer: the IDENT share counts exactly the rows IDENT copied, the embedding
    parameters are rows × hidden, and the vocabulary table reads them back beside the base row."""
    import json

    from vocabswap.reinit import initialise
    from vocabswap.table_files import to_csv, to_latex, to_markdown
    from vocabswap.vocab_stats import collect_rows, measure_base, record_vocab_stats, vocab_table

    out = tmp_path / "ident"
    report = initialise(base_model_enpt, he_tokenizer, "script+ident", out=out, seed=1)
    stats = record_vocab_stats(out, base_model_enpt, max_length=64, mlm_probability=0.15)
    assert stats.ident == report["counts"]["ident"] > 0 and stats.focus is None
    assert (
        stats.pieces == report["vocab_size"] == 8002 and stats.ordinary == 8002 - report["counts"]["special"]
    )
    assert stats.embedding_parameters == 8002 * 384
    saved = json.loads((out / "init_report.json").read_text(encoding="utf-8"))["vocabulary"]
    assert (
        saved["ident_share"] == pytest.approx(stats.ident / stats.ordinary) and saved["focus_share"] is None
    )
    base = measure_base(base_model_enpt, max_length=64, mlm_probability=0.15)
    assert (
        base.ident_share == 1.0 and base.lapt_flops_per_token["paper"] > stats.lapt_flops_per_token["paper"]
    )
    rows = collect_rows([("he", 8000, "script+ident", out)], {"he": base})
    assert [(r.target, r.size) for r in rows] == [("he", "base"), ("he", 8000)]
    table = vocab_table(rows, "t")
    assert f"| he | 8000 | 8,002 | {100 * stats.ident_share:.1f}% | - | 3,072,768 |" in to_markdown(table)
    assert to_csv(table).splitlines()[2].startswith(f"he,8000,8002,{stats.ordinary},{stats.ident},")
    assert r"he & 8000 & 8,002 & " in to_latex(table) and r"\% & - & 3,072,768 &" in to_latex(table)


@pytest.mark.workflow
@pytest.mark.slow
def test_a_size_the_cleaned_text_cannot_support_fails_at_its_tokenizer_job(tmp_path: Path, base_model_enpt):
    """Not knowable from the config (the bound of the *cleaned* text): the tokenizer job fails with the
    one-line error naming target, size and maximum, before any init job of either size ran."""
    from _workflow import reduced_config, seed_base_model, snakemake, write_config

    seed_base_model(tmp_path, base_model_enpt)
    config = reduced_config(tokenizer={"vocab_size": [400, 12000]}, cleaning={"min_words": 12})
    config["targets"]["he"]["full_vocab_regimes"] = []
    path = write_config(tmp_path / "config.yaml", config)
    inits = [f"results/models/he/v{size}/init/script+posn+ident" for size in (400, 12000)]
    run = snakemake(tmp_path, *inits, "--cores", "1", "--configfile", str(path), timeout=600)
    assert run.returncode != 0
    log = (tmp_path / "logs/train_tokenizer/he/v12000.log").read_text(encoding="utf-8")
    errors = [line for line in log.splitlines() if line.startswith("vocabswap.errors.VocabswapError: ")]
    assert len(errors) == 1, log[-2000:]
    assert errors[0].startswith(
        "vocabswap.errors.VocabswapError: target he: vocabulary size 12000 is larger "
    )
    assert " (at most " in errors[0] and " for this text)" in errors[0]
    assert not (tmp_path / "results/models/he").exists() and not (tmp_path / "logs/init_model").exists()


def test_score_against_size_curves_and_figure(tmp_path: Path):
    """Hand-made results: one line per (regime, method) over sizes, the full-vocabulary run as a level
    (not a point on the size axis), and the mean LAPT FLOPs of each size for the second axis."""
    from vocabswap.figures import size_curves, vocab_size_figure

    def res(size, regime, method, score, flops, seed=1):
        cell = {
            "target": "he",
            "size": size,
            "regime": regime,
            "method": method,
            "lang": "he",
            "task": "pos",
            "seed": seed,
        }
        return {"cell": cell, "score": score, "lapt": {"flops": {"paper": flops, "executed": flops / 2}}}

    results = [
        res(8192, "full", "script", 0.80, 1e15),
        res(8192, "full", "script", 0.90, 1e15, seed=2),
        res(32768, "full", "script", 0.95, 2e15),
        res(8192, "emb", "focus+ident", 0.70, 5e14),
        res(32768, "emb", "focus+ident", 0.75, 1e15),
        res(BASE_VOCAB, "full", "fullvocab", 0.97, 6e15),
        {"cell": {"target": "offtheshelf", "lang": "he", "task": "pos", "seed": 1}, "score": 0.91},
    ]
    curves = size_curves(results)
    assert curves.scores[("full", "script")] == {8192: pytest.approx(0.85), 32768: pytest.approx(0.95)}
    assert curves.scores[("emb", "focus+ident")] == {8192: 0.70, 32768: 0.75}
    assert curves.full_vocab == {"full": 0.97} and curves.off_the_shelf == 0.91
    assert curves.flops == {8192: pytest.approx((1e15 + 1e15 + 5e14) / 3), 32768: pytest.approx(1.5e15)}
    assert curves.full_vocab_flops == 6e15
    vocab_size_figure(results, tmp_path / "size.png", title="t", task="pos")
    assert (tmp_path / "size.png").stat().st_size > 10_000
