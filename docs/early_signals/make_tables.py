"""Write docs/early_signals/README.md: how well cheap signals rank the re-initialisation methods against their
final scores, on a run's exported evidence (docs/showcase/ by default) and on the authors' published logs.

    git -C MIRROR archive HEAD output | tar -x -C /tmp/authors   # MIRROR: cmdowney88/EmbeddingStructure
    python docs/early_signals/make_tables.py /tmp/authors/output [EVIDENCE_DIR]

The authors' data is read, never copied here; only the computed tables are written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vocabswap.atomic import atomic_open
from vocabswap.early_signals import author_tables, evidence_signals, markdown_rows, read_author_logs

HERE = Path(__file__).resolve().parent


def main(authors: Path, evidence: Path) -> None:
    run = json.loads((evidence / "run.json").read_text(encoding="utf-8"))
    files = sorted(authors.rglob("*.out"))
    results = (evidence / "results/finetune").rglob("*.json")
    seeds = len({json.loads(p.read_text(encoding="utf-8"))["cell"]["seed"] for p in results})
    commit = run["commit"][:7]
    lines = [
        "# Early signals: do cheap measurements rank the methods as the final scores do?",
        "",
        "Written by `docs/early_signals/make_tables.py` (library: `src/vocabswap/early_signals.py`).",
        "Spearman and Kendall's tau-b between a signal's ranking of the re-initialisation methods and their",
        "mean final score over seeds; top-1: the signal's best method is the final best. A loss ranks",
        "lower = better.",
        "",
        f"## The showcase (docs/{evidence.name}/, Hebrew 4k vocabulary, {seeds} seeds, commit {commit})",
        "",
        "| signal | ranked against | methods | Spearman | Kendall | top-1 agrees |",
        "|---|---|---|---|---|---|",
    ]
    for task in ("pos", "ner"):
        lines += markdown_rows(evidence_signals(evidence, "he", "4000", task))
    lines += [
        "",
        "## The authors' logs: LAPT-EMB's ranking against LAPT-FULL's",
        "",
        f"Per-seed fine-tuning scores of cmdowney88/EmbeddingStructure `output/` ({len(files)} log files):",
        "each language x task cell of each experiment with at least 3 methods in both regimes, the ranking",
        "by mean LAPT-EMB score against the ranking by mean LAPT-FULL score (7 methods, RANDOM to FOCUS).",
        "",
        *author_tables(read_author_logs(files)),
    ]
    with atomic_open(HERE / "README.md") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else HERE.parent / "showcase")
