"""The table's three renderers share one markup rule: the cells marked bold / underlined are the same in
Markdown, LaTeX and the CSV's flags; the CSV is what csv.writer would write."""

from __future__ import annotations

import csv
import io

from vocabswap.tables import CSV_COLUMNS, LATEX, MARKDOWN, build_table, cell_text


def results() -> list[dict]:
    out = []
    for seed, (a, b, c) in enumerate([(0.90, 0.95, 0.60), (0.92, 0.97, 0.70), (0.94, 0.96, 0.65)], start=1):
        out.append({"cell": {"target": "offtheshelf", "lang": "he", "task": "pos", "seed": seed}, "score": a})
        for method, score in (("script", b), ("random", c)):
            cell = {
                "target": "he",
                "regime": "full",
                "method": method,
                "size": 8000,
                "lang": "he",
                "task": "pos",
                "seed": seed,
            }
            out.append({"cell": cell, "score": score})
    return out


def test_markdown_latex_and_csv_mark_the_same_cells():
    table = build_table(results(), languages=["he"])
    rows = list(csv.DictReader(io.StringIO(table.to_csv())))
    for row in table.rows:
        stat = table.cells[(row, "he")]
        md, tex = cell_text(table, row, "he", MARKDOWN), cell_text(table, row, "he", LATEX)
        assert md.count("**") == 2 * stat.bold and ("<ins>" in md) == stat.best
        assert ("\\textbf{" in tex) == stat.bold and ("\\underline{" in tex) == stat.best
        assert md in table.to_markdown() and tex in table.to_latex()
        (flags,) = [r for r in rows if r["reinit"] == row.reinit and r["language"] == "he"]
        assert (flags["bold"], flags["best"]) == (str(int(stat.bold)), str(int(stat.best)))


def test_csv_is_what_csv_writer_writes():
    text = build_table(results(), languages=["he"]).to_csv()
    parsed = list(csv.reader(io.StringIO(text)))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(parsed)
    assert parsed[0] == list(CSV_COLUMNS) and buf.getvalue() == text
