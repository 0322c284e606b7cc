"""LAPT curves: the dev-loss table (step 0 vs best checkpoint) and figure read from `lapt_log.json` files."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from vocabswap.errors import InputError, VocabswapError
from vocabswap.lapt_curves import COLUMNS, curves_figure, read_curve, table_rows, write_loss_table


def write_log(path: Path, curve: list[tuple[int, float]], best: tuple[int, float]) -> Path:
    """A LAPT output directory whose lapt_log.json has the keys `vocabswap lapt` writes."""
    path.mkdir(parents=True)
    log = {
        "dev_curve": [{"step": s, "dev_loss": x, "tokens_seen": 10 * s} for s, x in curve],
        "best_step": best[0],
        "best_dev_loss": best[1],
        "steps": curve[-1][0],
    }
    (path / "lapt_log.json").write_text(json.dumps(log), encoding="utf-8")
    return path


@pytest.fixture
def runs(tmp_path: Path) -> list:
    spec = [
        ("emb", "random", [(0, 69.8), (8, 50.1), (16, 38.2)], (16, 38.2)),
        ("full", "script+posn+ident", [(0, 8.6), (8, 7.1), (16, 6.9)], (16, 6.9)),
        ("full", "random", [(0, 69.8), (8, 45.0), (16, 36.0)], (16, 36.0)),
        ("full", "fullvocab", [(0, 13.4), (8, 7.0), (16, 7.2)], (8, 7.0)),
        ("full", "mean", [(8, 9.0), (16, 7.8)], (16, 7.8)),  # resumed log without its step-0 evaluation
    ]
    out = []
    for regime, method, curve, best in spec:
        vocab = "base" if method == "fullvocab" else "4000"
        path = write_log(tmp_path / regime / method, curve, best)
        out.append(read_curve(path, target="he", vocab=vocab, regime=regime, method=method))
    return out


def test_table_orders_rows_and_reads_step_zero_and_best(runs):
    rows = table_rows(runs)
    assert all(list(r) == list(COLUMNS) for r in rows)  # encoder logs: no bits-per-byte columns
    order = [(r["regime"], r["method"]) for r in rows]
    # Sizes ascending with the base model's own vocabulary last; LAPT-FULL before LAPT-EMB; the paper's
    # row order within a regime (Table 1), extras after.
    assert order == [
        ("full", "script+posn+ident"),
        ("full", "random"),
        ("full", "mean"),
        ("emb", "random"),
        ("full", "fullvocab"),
    ]
    by = {(r["regime"], r["method"]): r for r in rows}
    assert by["full", "random"]["initial_dev_loss"] == 69.8
    assert by["full", "random"]["best_dev_loss"] == 36.0
    assert by["full", "fullvocab"]["best_step"] == 8  # the best checkpoint, not the last step
    assert by["full", "fullvocab"]["steps"] == 16
    assert math.isnan(by["full", "mean"]["initial_dev_loss"])


def test_table_files_agree(runs, tmp_path: Path):
    out = {fmt: tmp_path / f"lapt_loss.{fmt}" for fmt in ("md", "csv", "tex")}
    write_loss_table(runs, out, "Dev MLM loss, Hebrew")
    md = out["md"].read_text(encoding="utf-8")
    assert "| he | 4000 | full | random | 69.80 | 36.00 | 16 | 16 |" in md
    assert "| he | 4000 | full | mean | – | 7.80 | 16 | 16 |" in md
    with open(out["csv"], encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5
    assert rows[0]["method"] == "script+posn+ident" and float(rows[0]["initial_dev_loss"]) == 8.6
    assert next(r for r in rows if r["method"] == "mean")["initial_dev_loss"] == ""
    tex = out["tex"].read_text(encoding="utf-8")
    assert r"script+posn+ident & 8.60 & 6.90 & 16 & 16 \\" in tex
    assert not list(tmp_path.glob(".*"))  # no temporary left beside the outputs


def test_bad_logs_name_the_file(tmp_path: Path):
    keys = {"target": "he", "vocab": "4000", "regime": "full", "method": "random"}
    with pytest.raises(InputError, match=r"nowhere/lapt_log\.json: no LAPT log here"):
        read_curve(tmp_path / "nowhere" / "lapt_log.json", **keys)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "lapt_log.json").write_text('{"dev_curve": [{"step": 0}]', encoding="utf-8")
    with pytest.raises(InputError, match=r"broken/lapt_log\.json: not a LAPT log \(JSONDecodeError"):
        read_curve(broken, **keys)
    (broken / "lapt_log.json").write_text('{"dev_curve": [{"step": 0}]}', encoding="utf-8")
    with pytest.raises(InputError, match=r"not a LAPT log \(KeyError"):
        read_curve(broken, **keys)
    with pytest.raises(VocabswapError, match="no LAPT logs"):
        write_loss_table([], {}, "empty")


def test_figure_has_a_panel_per_regime(runs, tmp_path: Path):
    from PIL import Image

    out = tmp_path / "curves.png"
    curves_figure(runs, out)
    width, height = Image.open(out).size
    # Two panels side by side, (he, full) with the full-vocabulary baseline in it, and (he, emb).
    assert 1.6 * height < width < 2.6 * height


def test_decoder_runs_show_bits_per_byte(tmp_path: Path):
    """Logs with bits per byte (decoder LAPT) add a step-0 and a best bpb column, the init's new-row mass
    and a bpb figure; the best bpb is the one at the best-loss checkpoint, whatever the smallest bpb on
    the curve."""
    from vocabswap.lapt_curves import report_runs

    dirs, keys = [], []
    for method, curve, best in [
        ("mean+ident", [(0, 5.1, 2.1), (4, 4.0, 1.7), (8, 4.1, 1.6)], (4, 4.0, 1.7)),
        ("random", [(0, 60.0, 25.0), (4, 20.0, 8.0), (8, 15.0, 6.0)], (8, 15.0, 6.0)),
    ]:
        path = write_log(tmp_path / method, [(s, x) for s, x, _ in curve], best[:2])
        log = json.loads((path / "lapt_log.json").read_text())
        for point, (_, _, bpb) in zip(log["dev_curve"], curve, strict=True):
            point["dev_bpb"] = bpb
        log["best_dev_bpb"] = best[2]
        log["init_step0"] = {"new_row_mass": 0.05 if method == "mean+ident" else 1.0}
        (path / "lapt_log.json").write_text(json.dumps(log), encoding="utf-8")
        dirs.append(path)
        keys.append(("he", "4000", "full", method))
    out = {fmt: tmp_path / f"lapt_loss.{fmt}" for fmt in ("md", "csv", "tex")}
    rows = report_runs(dirs, keys, out, tmp_path / "curves.png", title="SmolLM2, Hebrew")
    by = {r["method"]: r for r in rows}
    assert (by["mean+ident"]["initial_dev_bpb"], by["mean+ident"]["best_dev_bpb"]) == (2.1, 1.7)
    md = out["md"].read_text(encoding="utf-8")
    assert (
        "| Step-0 bpb | Best bpb | New-row mass at step 0 |" in md
        and "| he | 4000 | full | random | 60.00 | 15.00 | 8 | 8 | 25.00 | 6.00 | 1.00 |" in md
        and "| mean+ident | 5.10 | 4.00 | 4 | 8 | 2.10 | 1.70 | 0.05 |" in md
    )
    assert "bits per byte" in md and (tmp_path / "curves.png").stat().st_size > 0
