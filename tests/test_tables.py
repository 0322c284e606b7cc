"""Aggregation on hand-made result files: means, stds (which one; in the caption), bolding, missing seeds."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from vocabswap.errors import InputError
from vocabswap.tables import build_table, load_results


def result(
    path: Path, score: float, *, lang: str, seed: int, target="he", regime="full", method="script", task="pos"
) -> Path:
    cell = {"target": target, "regime": regime, "method": method, "lang": lang, "task": task, "seed": seed}
    path.write_text(json.dumps({"score": score, "cell": cell}), encoding="utf-8")
    return path


@pytest.fixture
def results(tmp_path: Path) -> list[Path]:
    """Two languages, three seeds; a baseline, two FULL methods and one EMB method; scores chosen by hand."""
    rows = {
        ("offtheshelf", "", ""): {"he": [0.90, 0.92, 0.94], "tr": [0.80, 0.80, 0.80]},
        ("he", "full", "fullvocab"): {"he": [0.95, 0.95, 0.95]},
        ("he", "full", "script"): {"he": [0.96, 0.97, 0.98], "tr": [0.70, 0.72, 0.74]},
        ("he", "full", "focus+ident"): {"he": [0.955, 0.965, 0.975], "tr": [0.65, 0.71, 0.77]},
        ("he", "emb", "random"): {"he": [0.50, 0.60, 0.70], "tr": [0.40, 0.50, 0.60]},
    }
    paths = []
    for (target, regime, method), by_lang in rows.items():
        for lang, scores in by_lang.items():
            t = "offtheshelf" if target == "offtheshelf" else ("tr" if lang == "tr" else target)
            for seed, score in enumerate(scores, start=1):
                name = f"{target}-{regime}-{method}-{lang}-{seed}.json"
                paths.append(
                    result(
                        tmp_path / name, score, lang=lang, seed=seed, target=t, regime=regime, method=method
                    )
                )
    return paths


def stat(table, lapt: str, reinit: str, lang: str):
    (row,) = [r for r in table.rows if r.lapt == lapt and r.reinit == reinit]
    return table.cells[(row, lang)]


def test_means_and_sample_std(results):
    table = build_table(load_results(results), languages=["he", "tr"])
    s = stat(table, "FULL", "SCRIPT", "he")
    assert s.mean == pytest.approx(0.97)
    assert s.std == pytest.approx(0.01)  # sample std of 0.96, 0.97, 0.98: sqrt(0.0002 / 2)
    base = stat(table, "*", "*", "he")
    assert base.mean == pytest.approx(0.92) and base.std == pytest.approx(0.02)
    assert "sample std (÷(N−1))" in table.caption
    assert "97.0 ± 1.0" in table.to_markdown()


def test_small_std_gets_a_second_decimal_as_in_the_paper(tmp_path: Path):
    """Issue 8.11: a std below 0.1 (in printed units) prints with two decimals: 98.2 ± 0.04, not ± 0.0."""
    scores = {"he": [0.9815, 0.9820, 0.9825], "tr": [0.70, 0.72, 0.74]}  # he std 0.0005 -> 0.05 printed
    paths = [
        result(tmp_path / f"{lang}-{seed}.json", score, lang=lang, seed=seed)
        for lang, values in scores.items()
        for seed, score in enumerate(values, start=1)
    ]
    table = build_table(load_results(paths), languages=["he", "tr"])
    md = table.to_markdown()
    assert "98.2 ± 0.05" in md and "72.0 ± 2.0" in md
    assert table._fmt_std(0.00094) == "0.09" and table._fmt_std(0.000996) == "0.1"  # rounds up past 0.1
    assert table._fmt_std(0.0) == "0.00"


def test_population_std_under_paper_compat(results):
    table = build_table(load_results(results), languages=["he", "tr"], population_std=True)
    s = stat(table, "FULL", "SCRIPT", "he")
    assert s.std == pytest.approx(math.sqrt(0.0002 / 3))
    assert "population std (÷N" in table.caption


def test_row_order_baselines_then_regime_by_method(results):
    table = build_table(load_results(results), languages=["he", "tr"])
    labels = [(r.lapt, r.reinit) for r in table.rows]
    assert labels == [
        ("*", "*"),
        ("FULL", "*"),
        ("FULL", "FOCUS+IDENT"),
        ("FULL", "SCRIPT"),
        ("EMB", "RANDOM"),
    ]
    md = table.to_markdown().splitlines()
    assert md[0] == "| LAPT | REINIT | he | tr | Avg |"


def test_bolding_best_is_mean_minus_std_and_within_one_std(results):
    table = build_table(load_results(results), languages=["he", "tr"])
    # FULL division, he: SCRIPT 0.97 ± 0.01 (lower 0.96) beats FOCUS+IDENT 0.965 ± 0.01 (lower 0.955);
    # FOCUS+IDENT's mean 0.965 >= 0.97 - 0.01, so it is bold too.
    assert stat(table, "FULL", "SCRIPT", "he").bold
    assert stat(table, "FULL", "FOCUS+IDENT", "he").bold
    # tr: SCRIPT 0.72 ± 0.02 (lower 0.70) is best although FOCUS+IDENT 0.71 ± 0.06 (lower 0.65) reaches
    # higher; FOCUS+IDENT's mean 0.71 >= 0.72 - 0.02, so it is bold as well.
    assert stat(table, "FULL", "SCRIPT", "tr").bold
    assert stat(table, "FULL", "FOCUS+IDENT", "tr").bold
    # Overall best of the he column (underlined): SCRIPT (lower 0.96) over full vocab (0.95 ± 0).
    assert stat(table, "FULL", "SCRIPT", "he").best
    assert not stat(table, "FULL", "*", "he").best
    # Baseline division: off-the-shelf 0.92 ± 0.02 (lower 0.90) vs full vocab 0.95 ± 0 -> only full vocab.
    assert stat(table, "FULL", "*", "he").bold and not stat(table, "*", "*", "he").bold
    md = table.to_markdown()
    assert "<ins>**97.0 ± 1.0**</ins>" in md
    tex = table.to_latex()
    assert r"\underline{\textbf{97.0 $\pm$ 1.0}}" in tex


def test_bolding_excludes_cells_more_than_one_std_below(tmp_path: Path):
    paths = [
        result(tmp_path / f"a{s}.json", v, lang="he", seed=s, method="script")
        for s, v in ((1, 0.90), (2, 0.92))
    ]
    paths += [
        result(tmp_path / f"b{s}.json", v, lang="he", seed=s, method="ident")
        for s, v in ((1, 0.80), (2, 0.81))
    ]
    table = build_table(load_results(paths))
    assert stat(table, "FULL", "SCRIPT", "he").bold
    assert not stat(table, "FULL", "IDENT", "he").bold


def test_avg_is_mean_of_language_means(results):
    table = build_table(load_results(results), languages=["he", "tr"])
    (row,) = [r for r in table.rows if r.reinit == "SCRIPT"]
    assert table.avg[row] == pytest.approx((0.97 + 0.72) / 2)
    (fullvocab,) = [r for r in table.rows if r.lapt == "FULL" and r.reinit == "*"]
    assert table.avg[fullvocab] is None  # no tr cell: "-" as in the paper


def test_missing_seed_is_reported_not_averaged(results, tmp_path: Path):
    kept = [p for p in results if p.name != "he-full-script-tr-3.json"]
    table = build_table(load_results(kept), languages=["he", "tr"], seeds=[1, 2, 3])
    s = stat(table, "FULL", "SCRIPT", "tr")
    assert s.missing_seeds == [3] and s.n == 2 and not s.bold
    md = table.to_markdown()
    assert "[2/3 seeds]" in md
    assert "FULL SCRIPT, tr: missing seed(s) 3" in table.caption
    (row,) = [r for r in table.rows if r.reinit == "SCRIPT"]
    assert table.avg[row] is None
    csv_text = table.to_csv()
    assert "full,FULL,SCRIPT,tr,71,1.41421,2,3,3,0,0,sample" in csv_text


def test_seeds_inferred_from_all_results_when_not_given(results):
    kept = [p for p in results if p.name != "he-emb-random-he-2.json"]
    table = build_table(load_results(kept), languages=["he", "tr"])
    assert stat(table, "EMB", "RANDOM", "he").missing_seeds == [2]


def test_bad_result_file_names_the_file(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.json"):
        load_results([bad])


def test_cli_aggregate_writes_all_formats(results, tmp_path: Path):
    out = tmp_path / "tables"
    cli = str(Path(sys.executable).with_name("vocabswap"))
    run = subprocess.run(
        [cli, "aggregate", *map(str, results), "--out-dir", str(out)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["pos.csv", "pos.md", "pos.tex"]
    assert "mean ± sample std" in (out / "pos.md").read_text(encoding="utf-8")
