"""What LAPT did, from each run's ``lapt_log.json``: dev MLM loss curves and the loss table.

The dev MLM loss at step 0 is the initialisation alone, before any training: it is where the methods
differ most (RANDOM's N(0, 1) rows start tens of nats above the structured initialisations). The table
puts it beside the loss at the best checkpoint (the model that is fine-tuned) and the step of that
checkpoint, per target, vocabulary size, regime and method; the figure draws each whole curve, one line
per method, one panel per target × vocabulary size × regime.

A decoder's log also has bits per byte (``dev_bpb``: the dev nats / ln 2 / the UTF-8 bytes the
predictions cover), which, unlike nats per token, compares vocabularies of different sizes: when every
run has it, the table adds a step-0 and a best bits-per-byte column and the figure draws bits per byte;
encoder runs' table and figure are as they were.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vocabswap.errors import InputError, VocabswapError
from vocabswap.registry import FULL_VOCAB, REGIMES, method_order
from vocabswap.table_files import TableText, write_table

COLUMNS = ("target", "vocab", "regime", "method", "initial_dev_loss", "best_dev_loss", "best_step", "steps")
BPB_COLUMNS = ("initial_dev_bpb", "best_dev_bpb", "new_row_mass")


@dataclass(frozen=True)
class Curve:
    """One LAPT run's dev-loss curve and where its best checkpoint sits."""

    target: str
    vocab: str
    regime: str
    method: str
    steps: tuple[int, ...]
    losses: tuple[float, ...]
    best_step: int
    best_loss: float
    bpb: tuple[float, ...] | None = None  # a decoder's dev bits per byte at each step
    best_bpb: float | None = None
    new_row_mass: float | None = None  # a decoder init's new rows' next-token mass on the base's text

    @property
    def initial_bpb(self) -> float:
        """Bits per byte of the untrained initialisation (NaN without a step-0 evaluation or bpb)."""
        return self.bpb[0] if self.bpb and self.steps[0] == 0 else math.nan

    @property
    def initial_loss(self) -> float:
        """The dev loss of the untrained initialisation (NaN if the log has no step-0 evaluation)."""
        return self.losses[0] if self.steps and self.steps[0] == 0 else math.nan

    @property
    def panel(self) -> tuple[str, str, str]:
        return (self.target, self.vocab, self.regime)


def read_curve(path: str | Path, **keys: str) -> Curve:
    """A Curve from a LAPT output directory or its ``lapt_log.json``.

    `keys` name the run: target, vocab (size), regime, method.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "lapt_log.json"
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
        points = sorted((int(p["step"]), float(p["dev_loss"])) for p in log["dev_curve"])
        best_step, best_loss = int(log["best_step"]), float(log["best_dev_loss"])
        bpb = _bpb_points(log)
    except FileNotFoundError:
        raise InputError(path, None, "no LAPT log here (is this a `vocabswap lapt` output?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise InputError(path, None, f"not a LAPT log ({type(err).__name__}: {err})") from None
    return Curve(
        target=keys["target"],
        vocab=str(keys["vocab"]),
        regime=keys["regime"],
        method=keys["method"],
        steps=tuple(s for s, _ in points),
        losses=tuple(x for _, x in points),
        best_step=best_step,
        best_loss=best_loss,
        bpb=None if bpb is None else tuple(x for _, x in bpb),
        best_bpb=None if bpb is None else float(log["best_dev_bpb"]),
        new_row_mass=(log.get("init_step0") or {}).get("new_row_mass"),
    )


def _bpb_points(log: Mapping[str, Any]) -> list[tuple[int, float]] | None:
    """A decoder log's (step, dev bits per byte), sorted by step; None for an encoder's log."""
    if "best_dev_bpb" not in log:
        return None
    return sorted((int(p["step"]), float(p["dev_bpb"])) for p in log["dev_curve"])


def _method_rank(curves: Sequence[Curve]) -> dict[str, int]:
    methods = [m for m in dict.fromkeys(c.method for c in curves) if m != FULL_VOCAB]
    ordered = ([FULL_VOCAB] if any(c.method == FULL_VOCAB for c in curves) else []) + method_order(methods)
    return {m: i for i, m in enumerate(ordered)}


def _vocab_rank(vocab: str) -> tuple[int, int | str]:
    return (0, int(vocab)) if vocab.isdigit() else (1, vocab)


def sort_curves(curves: Iterable[Curve]) -> list[Curve]:
    """Table order: target, vocabulary size (ascending, the base's own last), regime, method (paper rows)."""
    curves = list(curves)
    rank = _method_rank(curves)
    targets = list(dict.fromkeys(c.target for c in curves))
    return sorted(
        curves,
        key=lambda c: (
            targets.index(c.target),
            _vocab_rank(c.vocab),
            REGIMES.index(c.regime) if c.regime in REGIMES else len(REGIMES),
            rank[c.method],
        ),
    )


def with_bpb(curves: Sequence[Curve]) -> bool:
    """Whether every run has bits per byte (decoder runs): then the table and figure show it."""
    return bool(curves) and all(c.bpb is not None for c in curves)


def table_rows(curves: Iterable[Curve]) -> list[dict[str, Any]]:
    """One row per run, in table order, with the columns of COLUMNS (and BPB_COLUMNS for decoder runs)."""
    curves = sort_curves(curves)
    rows = [
        {
            "target": c.target,
            "vocab": c.vocab,
            "regime": c.regime,
            "method": c.method,
            "initial_dev_loss": c.initial_loss,
            "best_dev_loss": c.best_loss,
            "best_step": c.best_step,
            "steps": c.steps[-1] if c.steps else 0,
        }
        for c in curves
    ]
    if with_bpb(curves):
        for row, c in zip(rows, curves, strict=True):
            mass = math.nan if c.new_row_mass is None else c.new_row_mass
            row.update(initial_dev_bpb=c.initial_bpb, best_dev_bpb=c.best_bpb, new_row_mass=mass)
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.2f}"
    return str(value)


HEADERS = ("Target", "Vocab", "LAPT", "Method", "Dev loss at step 0", "Best dev loss", "Best step", "Steps")
BPB_HEADERS = ("Step-0 bpb", "Best bpb", "New-row mass at step 0")


def loss_table(rows: Sequence[Mapping[str, Any]], caption: str) -> TableText:
    """The rows as the one writer takes them: losses at 2 decimals shown, unrounded in the CSV."""
    import pandas as pd

    bpb = bool(rows) and all(c in rows[0] for c in BPB_COLUMNS)
    columns, headers = (COLUMNS + BPB_COLUMNS, HEADERS + BPB_HEADERS) if bpb else (COLUMNS, HEADERS)
    shown = [[_fmt(row[c]) for c in columns] for row in rows]
    data = [[("" if _fmt(row[c]) == "–" else row[c]) for c in columns] for row in rows]
    return TableText(
        frame=pd.DataFrame(shown, columns=list(headers), dtype=object),
        caption=caption,
        data=pd.DataFrame(data, columns=list(columns), dtype=object),
        label_columns=4,
        caption_above=True,
    )


def write_loss_table(curves: Iterable[Curve], out: Mapping[str, str | Path], caption: str) -> list[dict]:
    """Write the table to out["md"], out["csv"], out["tex"] (each atomically); returns its rows."""
    rows = table_rows(curves)
    if not rows:
        raise VocabswapError("no LAPT logs to tabulate")
    write_table(loss_table(rows, caption), {fmt: out[fmt] for fmt in ("md", "csv", "tex")})
    return rows


def _label(curve: Curve, several_sizes: bool) -> str:
    if curve.method == FULL_VOCAB:
        return "full vocabulary (baseline)"
    return f"{curve.method} (v{curve.vocab})" if several_sizes else curve.method


def curves_figure(curves: Iterable[Curve], out: str | Path) -> None:
    """Dev MLM loss against LAPT step: a panel per target × regime, a line per method (and vocabulary
    size, when a target has several), the full-vocabulary baseline dashed; ★ marks each best checkpoint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    from vocabswap.figures import save_figure

    curves = sort_curves(curves)
    bpb = with_bpb(curves)
    panels = list(dict.fromkeys((c.target, c.regime) for c in curves))
    sizes = {t: {c.vocab for c in curves if c.target == t and c.method != FULL_VOCAB} for t, _ in panels}
    labels = list(dict.fromkeys(_label(c, len(sizes[c.target]) > 1) for c in curves))
    colours = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    for ax, (target, regime) in zip(axes[0], panels, strict=True):
        for curve in (c for c in curves if (c.target, c.regime) == (target, regime)):
            label = _label(curve, len(sizes[target]) > 1)
            baseline = curve.method == FULL_VOCAB
            style = {"color": "black", "ls": "--"} if baseline else {"color": colours[label]}
            ys, best = (curve.bpb, curve.best_bpb) if bpb else (curve.losses, curve.best_loss)
            ax.plot(curve.steps, ys, marker="o", ms=3, label=label, **style)
            ax.plot([curve.best_step], [best], marker="*", ms=11, color=style["color"])
        ax.set_title(f"{target}: LAPT-{regime.upper()}")
        ax.set_xlabel("LAPT step")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(ScalarFormatter())
        ax.grid(alpha=0.3, which="both")
    ylabel = "dev bits per byte (log scale)" if bpb else "dev MLM loss (nats, log scale)"
    axes[0][0].set_ylabel(ylabel)
    handles = {}
    for ax in axes[0]:
        handles.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    ncol = max(1, min(len(handles), 2 * len(panels)))  # about two legend entries fit under each panel
    rows = math.ceil(len(handles) / ncol)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=ncol, fontsize=8)
    fig.tight_layout(rect=(0, 0.02 + 0.06 * rows, 1, 1))
    save_figure(fig, out)


def report_runs(
    run_dirs: Sequence[str | Path],
    runs: Sequence[Sequence[Any]],
    tables: Mapping[str, str | Path],
    figure: str | Path,
    *,
    title: str,
) -> list[dict[str, Any]]:
    """The table and the figure of an experiment's LAPT runs; `runs[i]` = (target, vocab, regime,
    method) of `run_dirs[i]`. Returns the table rows."""
    if len(run_dirs) != len(runs):
        raise VocabswapError(f"{len(run_dirs)} LAPT outputs but {len(runs)} run keys")
    curves = [
        read_curve(path, target=t, vocab=str(v), regime=r, method=m)
        for path, (t, v, r, m) in zip(run_dirs, runs, strict=True)
    ]
    caption = (
        f"{title}: dev MLM loss (nats) at step 0 (the initialisation alone, before any LAPT) and at the "
        "best checkpoint (the model that is fine-tuned)"
    )
    if with_bpb(curves):
        caption = (
            f"{title}: dev next-token loss (nats per token) and bits per byte (nats / ln 2 / UTF-8 bytes "
            "of the dev text; comparable across vocabularies) at step 0 (the initialisation alone, before "
            "any LAPT) and at the best checkpoint by dev loss (the model that is fine-tuned); new-row "
            "mass: the next-token probability the initialised rows not in the base take on the base's own "
            "tokenisation of the dev text, added to the base's output matrix (init_report.json `step0`; – "
            "where LAPT started from a model without one)"
        )
    rows = write_loss_table(curves, tables, caption)
    curves_figure(curves, figure)
    return rows
