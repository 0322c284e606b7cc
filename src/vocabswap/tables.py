"""Aggregate fine-tuning results into the paper's table shape (Tables 1-4, 8-9).

Rows: the off-the-shelf base model, the full-vocabulary LAPT baselines, then LAPT regime × re-init method
(× vocabulary size, ascending, with a VOCAB column when a table holds several sizes; the CSV always has it).
Columns: languages, then Avg (mean of the row's language means; shown only when every cell is complete).
Cells: mean ± std over seeds. The sample std (÷(N−1)) by default, the population std (÷N) under
paper_compat; the caption says which. A std that would print as less than one unit of the last decimal
gets one decimal more, as the paper prints it (98.2 ± 0.04, not 98.2 ± 0.0). Bold: within each division
(baselines, LAPT-FULL, LAPT-EMB) and column, the best cell (highest mean − std) and every cell whose mean
lies within one std of the best's mean (mean ≥ best mean − best std); the overall best of a column is
underlined. A cell with a seed missing is shown with its seed count and listed in the caption, never
silently averaged, and takes no part in bolding or the Avg.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vocabswap.errors import InputError, VocabswapError
from vocabswap.registry import FULL_VOCAB, OFF_THE_SHELF, REGIMES, TASKS, method_order
from vocabswap.table_files import (
    TableText,
    latex_escape,
    stem_paths,
    to_csv,
    to_latex,
    to_markdown,
    write_table,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RowKey:
    """A table row: division ("baseline" or a regime), the LAPT and REINIT labels, and its sort key."""

    division: str
    lapt: str
    reinit: str
    order: tuple[int, ...]
    vocab: str = ""  # the vocabulary size ("*": the base model's own; "": results without a size)


@dataclass
class Stat:
    mean: float
    std: float | None  # None when a single seed leaves the sample std undefined
    n: int
    expected: int
    missing_seeds: list[int] = field(default_factory=list)
    bold: bool = False
    best: bool = False

    @property
    def complete(self) -> bool:
        return not self.missing_seeds

    @property
    def lower(self) -> float:
        return self.mean - (self.std or 0.0)


@dataclass
class Table:
    title: str
    task: str
    languages: list[str]
    rows: list[RowKey]
    cells: dict[tuple[RowKey, str], Stat]
    avg: dict[RowKey, float | None]
    population_std: bool
    scale: float
    decimals: int
    seeds: list[int]

    # --- text ------------------------------------------------------------------------------------------
    @property
    def std_name(self) -> str:
        if self.population_std:
            return "population std (÷N, as the paper's code; paper_compat)"
        return "sample std (÷(N−1))"

    @property
    def missing(self) -> list[str]:
        return [
            f"{row.lapt} {row.reinit}, {lang}: missing seed(s) {', '.join(map(str, stat.missing_seeds))}"
            for (row, lang), stat in self.cells.items()
            if stat.missing_seeds
        ]

    @property
    def caption(self) -> str:
        metric = "UPOS accuracy" if self.task == "pos" else "entity-level F1 (seqeval)"
        text = (
            f"{self.title}: {metric} ×{self.scale:g}, mean ± {self.std_name} over seeds "
            f"{', '.join(map(str, self.seeds))}. * in both columns: the off-the-shelf base model; "
            "LAPT * : LAPT with the base model's full vocabulary. Bold: within each division and column, "
            "the best result (highest mean − std) and every result whose mean is within one std of the "
            "best's mean; underlined: the column's overall best. Avg: mean of the language means."
        )
        if self.missing:
            text += " Incomplete cells (not averaged over fewer seeds silently; excluded from bold and Avg): "
            text += "; ".join(self.missing) + "."
        return text

    def _fmt(self, value: float) -> str:
        return f"{value * self.scale:.{self.decimals}f}"

    def _fmt_std(self, value: float) -> str:
        """One decimal more below one unit of the last decimal (paper: ``± 0.04`` beside ``98.2``)."""
        scaled = value * self.scale
        small = round(scaled, self.decimals + 1) < 10.0**-self.decimals
        return f"{scaled:.{self.decimals + small}f}"

    def avg_text(self, row: RowKey) -> str:
        value = self.avg.get(row)
        return "-" if value is None else self._fmt(value)

    @property
    def sizes(self) -> list[str]:
        """The vocabulary sizes of the re-initialised rows; a VOCAB column is shown when there are several."""
        return list(dict.fromkeys(r.vocab for r in self.rows if r.division != "baseline"))

    def _labels(self, row: RowKey) -> list[str]:
        return [row.lapt, row.reinit, row.vocab or "-"] if len(self.sizes) > 1 else [row.lapt, row.reinit]

    def text(self) -> TableText:
        """The table as the one writer takes it (display and LaTeX cells, CSV records, caption)."""
        import pandas as pd

        header = [*_header(self), *self.languages, "Avg"]
        shown, latex = [], []
        for row in self.rows:
            md = [cell_text(self, row, lang, MARKDOWN) for lang in self.languages]
            tex = [cell_text(self, row, lang, LATEX) for lang in self.languages]
            shown.append([*self._labels(row), *md, self.avg_text(row)])
            latex.append([*map(latex_escape, self._labels(row)), *tex, self.avg_text(row)])
        divisions = [row.division for row in self.rows]
        return TableText(
            frame=pd.DataFrame(shown, columns=header, dtype=object),
            caption=self.caption,
            latex=pd.DataFrame(latex, columns=header, dtype=object),
            data=pd.DataFrame(list(_csv_records(self)), columns=list(CSV_COLUMNS), dtype=object),
            label_columns=len(_header(self)),
            groups=[i for i, d in enumerate(divisions) if i == 0 or divisions[i - 1] != d],
            wide=True,
        )

    def to_markdown(self) -> str:
        return to_markdown(self.text())

    def to_csv(self) -> str:
        return to_csv(self.text())

    def to_latex(self) -> str:
        return to_latex(self.text())

    def write(self, stem: str | Path) -> dict[str, Path]:
        """Write STEM.md, STEM.csv and STEM.tex atomically."""
        return write_table(self.text(), stem_paths(stem))


# --- cells: one markup rule (a marked cell is wrapped bold, then underlined), two notations ---------------
@dataclass(frozen=True)
class Markup:
    """How a renderer writes a marked cell: bold and underline wrappers, and the ± sign."""

    bold: tuple[str, str] = ("", "")
    under: tuple[str, str] = ("", "")
    pm: str = "±"


MARKDOWN = Markup(bold=("**", "**"), under=("<ins>", "</ins>"))
LATEX = Markup(bold=(r"\textbf{", "}"), under=(r"\underline{", "}"), pm=r"$\pm$")


def cell_text(table: Table, row: RowKey, lang: str, markup: Markup = MARKDOWN) -> str:
    """A cell as ``mean ± std``; an incomplete one with its seed count, never marked."""
    stat = table.cells.get((row, lang))
    if stat is None:
        return "-"
    std = "n/a" if stat.std is None else table._fmt_std(stat.std)
    text = f"{table._fmt(stat.mean)} {markup.pm} {std}"
    if not stat.complete:
        return f"{text} [{stat.n}/{stat.expected} seeds]"
    if stat.bold:
        text = markup.bold[0] + text + markup.bold[1]
    if stat.best:
        text = markup.under[0] + text + markup.under[1]
    return text


def _header(table: Table) -> list[str]:
    return ["LAPT", "REINIT", *(["VOCAB"] if len(table.sizes) > 1 else [])]


CSV_COLUMNS = (
    *("division", "lapt", "reinit", "language", "mean", "std", "n", "expected_n", "missing_seeds"),
    *("bold", "best", "std_kind", "vocab_size"),
)


def _csv_records(table: Table) -> Iterator[tuple[Any, ...]]:
    """One record per cell (unscaled numbers at 6 significant digits), and one per row's Avg."""
    kind = "population" if table.population_std else "sample"
    for row in table.rows:
        labels = (row.division, row.lapt, row.reinit)
        for lang in table.languages:
            stat = table.cells.get((row, lang))
            if stat is not None:
                std = "" if stat.std is None else f"{stat.std * table.scale:.6g}"
                seeds = " ".join(map(str, stat.missing_seeds))
                numbers = (f"{stat.mean * table.scale:.6g}", std, stat.n, stat.expected, seeds)
                yield (*labels, lang, *numbers, int(stat.bold), int(stat.best), kind, row.vocab)
        avg = table.avg.get(row)
        if avg is not None:
            yield (*labels, "Avg", f"{avg * table.scale:.6g}", *[""] * 6, kind, row.vocab)


def load_results(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Read result JSONs (each with a `cell` block and a `score`); errors name the file."""
    results = []
    for path in paths:
        try:
            result = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(path, None, f"not a readable result JSON: {err}") from None
        check_result(path, result)
        results.append(result)
    return results


def check_result(path: str | Path, result: Any) -> None:
    """A result as `vocabswap finetune` writes it: its task a known name (it becomes a file name), its
    language a plain name, its seed an integer, its score a finite number (not a boolean)."""
    if not isinstance(result, Mapping) or not isinstance(result.get("cell"), Mapping):
        raise InputError(path, None, "a result JSON needs to be an object with a `cell` object")
    score, cell = result.get("score"), result["cell"]
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise InputError(path, None, f"`score` must be a finite number, got {score!r}")
    if cell.get("task") not in TASKS:
        raise InputError(
            path, None, f"`cell.task` must be one of {', '.join(TASKS)}, got {cell.get('task')!r}"
        )
    lang = cell.get("lang")
    if not isinstance(lang, str) or not lang.strip() or any(c in lang for c in "/\\\n"):
        raise InputError(path, None, f"`cell.lang` must be a language name, got {lang!r}")
    seed = cell.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(path, None, f"`cell.seed` must be an integer >= 0, got {seed!r}")


def _row_key(cell: Mapping[str, Any], methods: Sequence[str]) -> RowKey:
    target, regime, method = cell.get("target", OFF_THE_SHELF), cell.get("regime", ""), cell.get("method", "")
    if target == OFF_THE_SHELF:
        return RowKey("baseline", "*", "*", (0, 0, 0, 0), "*")
    r_index = REGIMES.index(regime) if regime in REGIMES else len(REGIMES)
    if method == FULL_VOCAB:
        return RowKey("baseline", regime.upper(), "*", (0, 1 + r_index, 0, 0), "*")
    size = cell.get("size", "")
    order = (1 + r_index, 0, methods.index(method), size if isinstance(size, int) else 0)
    return RowKey(regime, regime.upper(), method.upper(), order, str(size))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _std(values: Sequence[float], population: bool) -> float | None:
    n = len(values)
    ddof = 0 if population else 1
    if n - ddof <= 0:
        return None
    mean = _mean(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - ddof))


def _scores(results: Sequence[Mapping[str, Any]], methods: Sequence[str]) -> pd.DataFrame:
    """One record per result: row key, language, seed, score (in input order); a repeated seed is an error."""
    import pandas as pd

    frame = pd.DataFrame(
        [
            (_row_key(r["cell"], methods), r["cell"]["lang"], int(r["cell"]["seed"]), float(r["score"]))
            for r in results
        ],
        columns=["row", "lang", "seed", "score"],
    )
    twice = frame[frame.duplicated(["row", "lang", "seed"])]
    if len(twice):
        row, lang, seed = twice.iloc[0][["row", "lang", "seed"]]
        raise VocabswapError(f"two results for {row.lapt} {row.reinit}, {lang}, seed {seed}")
    return frame


def _cells(
    frame: pd.DataFrame, expected: Sequence[int], population_std: bool
) -> dict[tuple[RowKey, str], Stat]:
    """Mean ± std over each cell's seeds (in seed order), keyed (row, language) in the results' order.
    pandas groups, sizes and collects the seeds; the mean and std are ours, because pandas' grouped kernels
    differ in the last bit (measured: ``groupby().std(ddof=1)`` in 9 of the showcase's 17 cells, and mean
    and std in 29% and 45% of 20,000 random 4-seed cells), which could flip a rounding or a bold tie."""
    stats = (
        frame.sort_values("seed", kind="stable")
        .groupby(["row", "lang"], sort=False)
        .agg(
            mean=("score", lambda v: _mean(v.tolist())),
            std=("score", lambda v: _std(v.tolist(), population_std)),
            n=("score", "size"),
            seeds=("seed", frozenset),
        )
    )
    cells = {}
    for key in dict.fromkeys(zip(frame["row"], frame["lang"], strict=True)):
        stat = stats.loc[key]
        cells[key] = Stat(
            mean=float(stat["mean"]),
            std=None if stat["std"] is None or math.isnan(stat["std"]) else float(stat["std"]),
            n=int(stat["n"]),
            expected=len(expected),
            missing_seeds=[s for s in expected if s not in stat["seeds"]],
        )
    return cells


def build_table(
    results: Sequence[Mapping[str, Any]],
    *,
    task: str | None = None,
    title: str = "Results",
    languages: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    population_std: bool = False,
    scale: float = 100.0,
    decimals: int = 1,
) -> Table:
    """One table from result dicts of one task. Expected seeds: `seeds`, else every seed seen anywhere."""
    tasks = {r["cell"]["task"] for r in results}
    if task is None:
        if len(tasks) != 1:
            raise VocabswapError(f"results mix tasks {sorted(tasks)}; build one table per task")
        (task,) = tasks
    results = [r for r in results if r["cell"]["task"] == task]
    if not results:
        raise VocabswapError(f"no results for task {task!r}")
    methods = method_order(sorted({r["cell"].get("method", "") for r in results} - {"", FULL_VOCAB}))
    expected = sorted(seeds) if seeds is not None else sorted({int(r["cell"]["seed"]) for r in results})
    langs = list(languages) if languages is not None else sorted({r["cell"]["lang"] for r in results})
    cells = _cells(_scores(results, methods), expected, population_std)
    rows = sorted({key[0] for key in cells}, key=lambda row: row.order)
    _mark(rows, langs, cells)
    avg = {row: _row_average(row, langs, cells) for row in rows}
    return Table(title, task, langs, rows, cells, avg, population_std, scale, decimals, expected)


def _row_average(row: RowKey, langs: Sequence[str], cells: Mapping[tuple[RowKey, str], Stat]) -> float | None:
    """Mean of the row's language means; None unless every language's cell is complete."""
    stats = [cells.get((row, lang)) for lang in langs]
    if stats and all(s and s.complete for s in stats):
        return sum(s.mean for s in stats) / len(stats)
    return None


def _mark(rows: Sequence[RowKey], langs: Sequence[str], cells: dict[tuple[RowKey, str], Stat]) -> None:
    """Bold within each division and column; underline the column's overall best (see module doc)."""
    for lang in langs:
        column = [cells[(row, lang)] for row in rows if (row, lang) in cells and cells[(row, lang)].complete]
        if not column:
            continue
        max(column, key=lambda s: s.lower).best = True
        for division in dict.fromkeys(row.division for row in rows):
            group = [
                cells[(row, lang)]
                for row in rows
                if row.division == division and (row, lang) in cells and cells[(row, lang)].complete
            ]
            if not group:
                continue
            top = max(group, key=lambda s: s.lower)
            for stat in group:
                stat.bold = stat is top or stat.mean >= top.mean - (top.std or 0.0)


def aggregate(result_paths: Iterable[str | Path], out_dir: str | Path, **options: Any) -> dict[str, Path]:
    """Tables for every task found in the results: OUT_DIR/<task>.{md,csv,tex}."""
    if options.get("decimals", 0) < 0:
        raise VocabswapError(f"--decimals must be at least 0, got {options['decimals']}")
    results = load_results(result_paths)
    if not results:
        raise VocabswapError("no result files given")
    written = {}
    for task in sorted({r["cell"]["task"] for r in results}):
        table = build_table(results, task=task, **options)
        for ext, path in table.write(Path(out_dir) / task).items():
            written[f"{task}.{ext}"] = path
    return written
