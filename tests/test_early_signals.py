"""Early signals: rank agreement, the authors' log format (a sample recorded from the output/ folder of
cmdowney88/EmbeddingStructure, never their data files), and the committed showcase evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vocabswap.early_signals import (
    agreement,
    emb_vs_full,
    evidence_signals,
    parse_log,
    parse_run_name,
    read_author_logs,
    summarise,
)
from vocabswap.errors import VocabswapError

SHOWCASE = Path(__file__).resolve().parents[1] / "docs" / "showcase"

# Names from the listing of their output/ (monolingual/, multilingual/, uralic/), one per model kind.
LISTING = {
    "he_pos_xlmr-ots.out": None,
    "he_pos_xlmr-cpt-full.out": None,  # the full-vocabulary baseline
    "he_pos_xlmr-cpt-full_emb-32k.out": ("he", "pos", "full", "random"),
    "he_pos_xlmr-cpt_emb-32k-focus.out": ("he", "pos", "emb", "focus+ident"),
    "erzya_ner_xlmr-cpt-full_emb-32k-script+pos+ident.out": ("erzya", "ner", "full", "script+posn+ident"),
    "multi_mrl_ner_xlmr-cpt_emb-32k-script+pos.out": ("multi_mrl", "ner", "emb", "script+posn"),
    "uralic_mrl_pos_xlmr-cpt_emb-32k-script+ident.out": ("uralic_mrl", "pos", "emb", "script+ident"),
}
# The format of one log (multilingual logs repeat the block per language; some runs print "score:").
SAMPLE = """Config file: configs/erzya_pos_xlmr-cpt-full_emb-32k-f.yml
Pytorch version: 1.13.1
########
Beginning POS evaluation for myv
majority label baseline: 24.14
per word majority baseline: 55.97
random seed: 1
num epochs: 64
accuracy: 77.05
----
random seed: 2
num epochs: 64
accuracy: 77.53
----
all trials finished
mean accuracy: 77.29
standard deviation: 0.34
########
Beginning NER evaluation for et
random seed: 1
num epochs: 32
f1: 85.26
----
random seed: 2
num epochs: 30
score: 84.69
"""


@pytest.mark.parametrize(("name", "expected"), LISTING.items())
def test_run_names_of_the_listing(name, expected) -> None:
    assert parse_run_name(name) == expected


@pytest.mark.parametrize("name", ["he_pos_xlmr-cpt_emb-32k-magic.out", "he_dep_xlmr-ots.out", "notes.txt"])
def test_unknown_run_names_are_one_clear_error(name) -> None:
    with pytest.raises(VocabswapError, match=name.replace("+", r"\+")):
        parse_run_name(name)


def test_log_blocks_give_per_seed_scores_and_stray_scores_fail() -> None:
    assert parse_log(SAMPLE, "x") == {
        ("myv", "pos"): {1: 77.05, 2: 77.53},
        ("et", "ner"): {1: 85.26, 2: 84.69},
    }
    with pytest.raises(VocabswapError, match=r"x\.out:2: score 'accuracy: 1.0' outside a seed's block"):
        parse_log("########\naccuracy: 1.0\n", "x.out")


def test_agreement_perfect_reversed_and_top1() -> None:
    final = {"a": 3.0, "b": 2.0, "c": 1.0, "d": 0.0}
    same = agreement({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}, final, lower_is_better=True)
    assert (same.n, same.spearman, same.kendall, same.top1) == (
        4,
        pytest.approx(1.0),
        pytest.approx(1.0),
        True,
    )
    rev = agreement({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}, final, lower_is_better=False)
    assert rev.spearman == pytest.approx(-1.0) and rev.kendall == pytest.approx(-1.0) and not rev.top1
    swap = agreement({"a": 2.0, "b": 3.0, "c": 1.0, "d": 0.0}, final, lower_is_better=False)
    assert swap.spearman == pytest.approx(0.8) and swap.kendall == pytest.approx(2 / 3) and not swap.top1
    with pytest.raises(VocabswapError, match="at least 3 methods"):
        agreement({"a": 1.0, "b": 2.0}, final, lower_is_better=False)


def test_emb_vs_full_over_log_files(tmp_path: Path) -> None:
    scores = {"": (50.0, 60.0), "ident": (70.0, 75.0), "script": (65.0, 74.0), "focus": (80.0, 79.0)}
    for suffix, (emb, full) in scores.items():
        method = f"-{suffix}" if suffix else ""
        for regime, value in (("cpt", emb), ("cpt-full", full)):
            text = f"Beginning POS evaluation for he\nrandom seed: 1\naccuracy: {value}\n"
            (tmp_path / f"he_pos_xlmr-{regime}_emb-32k{method}.out").write_text(
                text + "random seed: 2\naccuracy: 0\n"
            )
    (tmp_path / "he_pos_xlmr-ots.out").write_text(
        "Beginning POS evaluation for he\nrandom seed: 1\naccuracy: 99\n"
    )
    cells = read_author_logs(sorted(tmp_path.iterdir()))
    assert cells[("he", "he", "pos")]["emb"]["focus+ident"] == 40.0  # mean of the two seeds
    (a,) = emb_vs_full(cells).values()
    assert a.n == 4 and a.top1 and a.spearman == pytest.approx(1.0)
    assert summarise([a])["top1"] == 1


def test_showcase_signals_recompute_from_the_committed_evidence() -> None:
    rows = evidence_signals(SHOWCASE, "he", "4000", "pos")
    names = [(r["signal"], r["final"]) for r in rows]
    assert ("step-0 dev loss", "LAPT-FULL POS") in names and (
        "LAPT-EMB POS ranking",
        "LAPT-FULL POS",
    ) in names
    step0 = next(r["agreement"] for r in rows if r["signal"] == "step-0 dev loss")
    # the step-0 losses recomputed by hand from two of the logs: FOCUS+IDENT starts below RANDOM
    logs = SHOWCASE / "results" / "models" / "he" / "v4000" / "lapt-full"
    loss = {
        m: json.loads((logs / m / "lapt_log.json").read_text())["dev_curve"][0]["dev_loss"]
        for m in ("random", "focus+ident")
    }
    assert loss["focus+ident"] < loss["random"] and -1.0 <= step0.spearman <= 1.0
    assert step0.n == len(list(logs.iterdir()))  # every LAPT-FULL method of the run
