"""The one table writer: a table is a DataFrame plus caption, written as Markdown, CSV and LaTeX.

Every table of the workflow (the task tables, the LAPT loss table, the vocabulary statistics) is a
:class:`TableText` and goes through :func:`write_table`, a pure function of it (no config, no provenance:
the aggregate step may stamp what it writes). One LaTeX escaping rule (:func:`latex_escape`) serves them all.

A table has a display frame (the cells as shown, plain text; its columns are the headers), optionally
a LaTeX frame (the same cells with LaTeX markup, e.g. bold marks, already escaped where they are text) and
a data frame for the CSV (machine-readable records, e.g. unscaled numbers; the display frame when absent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vocabswap.atomic import atomic_open
from vocabswap.errors import VocabswapError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("md", "csv", "tex")
_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#"}


def latex_escape(text: str) -> str:
    """Plain text -> LaTeX text: backslash, ``&``, ``%``, ``_`` and ``#`` escaped (the characters the
    tables' names, languages and captions can hold; ``$``, ``{`` and ``}`` never occur in them)."""
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


@dataclass(frozen=True)
class TableText:
    """A table ready to write: cells (display, LaTeX, CSV records), caption and layout.

    ``label_columns``: the leading text columns (left-aligned in LaTeX, the rest right-aligned).
    ``groups``: row positions that start a group (a LaTeX ``\\midrule`` before each).
    ``caption_above``: Markdown caption as a bold line above the table instead of a paragraph below.
    ``wide``: LaTeX ``table*`` in ``\\small`` (the task tables) instead of a ``table[t]``.
    """

    frame: pd.DataFrame
    caption: str
    latex: pd.DataFrame | None = None
    data: pd.DataFrame | None = None
    label_columns: int = 1
    groups: Sequence[int] = (0,)
    caption_above: bool = False
    wide: bool = False


def to_markdown(table: TableText) -> str:
    header = [str(c) for c in table.frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in table.frame.itertuples(index=False)]
    if table.caption_above:
        return "\n".join([f"**{table.caption}**", "", *lines]) + "\n"
    return "\n".join(lines) + "\n\n" + table.caption + "\n"


def to_csv(table: TableText) -> str:
    frame = table.frame if table.data is None else table.data
    return frame.to_csv(index=False, lineterminator="\n")


def to_latex(table: TableText) -> str:
    cells = table.frame.map(latex_escape) if table.latex is None else table.latex
    columns = len(table.frame.columns)
    cols = "l" * table.label_columns + "r" * (columns - table.label_columns)
    env, head = ("table*", [r"\small"]) if table.wide else ("table", [])
    out = [rf"\begin{{{env}}}" + ("" if table.wide else "[t]"), r"\centering", *head]
    out += [rf"\begin{{tabular}}{{{cols}}}", r"\toprule"]
    out.append(" & ".join(latex_escape(str(c)) for c in table.frame.columns) + r" \\")
    for position, row in enumerate(cells.itertuples(index=False)):
        if position in table.groups:
            out.append(r"\midrule")
        out.append(" & ".join(map(str, row)) + r" \\")
    out += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{latex_escape(table.caption)}}}",
        rf"\end{{{env}}}",
    ]
    return "\n".join(out) + "\n"


RENDERERS = {"md": to_markdown, "csv": to_csv, "tex": to_latex}


def write_table(table: TableText, paths: Mapping[str, str | Path]) -> dict[str, Path]:
    """Write the formats named in ``paths`` (``md``, ``csv``, ``tex``), each atomically; returns them."""
    unknown = sorted(set(paths) - set(FORMATS))
    if unknown:
        raise VocabswapError(f"unknown table format(s) {unknown}; known: {', '.join(FORMATS)}")
    texts = {fmt: RENDERERS[fmt](table) for fmt in paths}  # render all before writing any
    written = {}
    for fmt, text in texts.items():
        with atomic_open(paths[fmt]) as handle:
            handle.write(text)
        written[fmt] = Path(paths[fmt])
    return written


def stem_paths(stem: str | Path, formats: Sequence[str] = FORMATS) -> dict[str, Path]:
    """STEM.md, STEM.csv, STEM.tex (of ``formats``)."""
    stem = Path(stem)
    return {fmt: stem.with_name(f"{stem.name}.{fmt}") for fmt in formats}
