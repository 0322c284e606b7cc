"""Trace an output's provenance down to its raw sources, and verify every link on the way.

Each output records the sha256 of each input it read (:mod:`vocabswap.provenance`); :func:`trace` follows
those records from any output (a table, a figure, a result JSON, a model directory) to the outputs with no
inputs (the base model, the raw corpora, the evaluation sets), whose records name the URLs and packaged
files they came from. Every link is checked against the file on disk now: ``ok`` (same digest as its
consumer recorded), ``changed``, ``missing``, or ``unrecorded`` (a file with no provenance record). It reads
only the files under the workflow's directory (results/ and resources/), never Snakemake's metadata, so it
works on a copied or archived tree. Paths in the records are relative to the directory the workflow ran in
(the *root*: by default the parent of the ``results``/``resources`` folder the traced path lies in).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocabswap import provenance
from vocabswap.checksums import file_sha256
from vocabswap.errors import VocabswapError

BROKEN = ("changed", "missing", "unrecorded")
TREE_DIRS = ("results", "resources")


@dataclass
class Node:
    """One output: its record (None when it has none) and its digest on disk now (None when absent)."""

    path: str
    record: dict[str, Any] | None
    actual: str | None

    @property
    def inputs(self) -> dict[str, str]:
        return dict((self.record or {}).get("inputs", {}))

    @property
    def own_status(self) -> str:
        """The output against the digest its own record states (result JSONs state none: ``ok``)."""
        if self.actual is None:
            return "missing"
        if self.record is None:
            return "unrecorded"
        stated = self.record.get("output_sha256")
        return "changed" if stated and stated != self.actual else "ok"


@dataclass
class Link:
    """An input as its consumer recorded it, against the file now."""

    consumer: str
    path: str
    recorded: str
    actual: str | None

    @property
    def status(self) -> str:
        if self.actual is None:
            return "missing"
        return "ok" if self.actual == self.recorded else "changed"


@dataclass
class Trace:
    """The provenance DAG under one or more outputs: nodes by path, links consumer → input."""

    root: Path
    tops: list[str]
    nodes: dict[str, Node] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)

    @property
    def broken(self) -> list[str]:
        """One line per broken link or node, naming the file and who used it."""
        lines = [
            f"{link.path}: {link.status} since {link.consumer} used it "
            f"(recorded sha256 {link.recorded[:12]}, now {(link.actual or 'absent')[:12]})"
            for link in self.links
            if link.status != "ok"
        ]
        for node in self.nodes.values():
            status = node.own_status
            if status == "changed":
                lines.append(
                    f"{node.path}: changed since its job wrote it (its record's output_sha256 differs)"
                )
            elif status == "unrecorded":
                lines.append(f"{node.path}: has no provenance record")
            elif status == "missing" and node.path in self.tops:
                lines.append(f"{node.path}: missing")
        return lines

    def depth(self, path: str | None = None, _memo: dict[str, int] | None = None) -> int:
        """Nodes on the longest chain from ``path`` (default: the deepest top) down to a source."""
        memo = {} if _memo is None else _memo
        if path is None:
            return max((self.depth(top, memo) for top in self.tops), default=0)
        if path not in memo:
            node = self.nodes[path]
            memo[path] = 1 + max((self.depth(p, memo) for p in node.inputs if p in self.nodes), default=0)
        return memo[path]

    def link_statuses(self) -> dict[tuple[str, str], str]:
        """(consumer, input) → the link's status."""
        return {(link.consumer, link.path): link.status for link in self.links}


def find_root(path: str | Path) -> Path:
    """The directory the workflow ran in: the parent of the nearest results/ or resources/ above ``path``."""
    absolute = Path(path).resolve()
    for parent in [absolute, *absolute.parents]:
        if parent.name in TREE_DIRS:
            return parent.parent
    return Path.cwd()


def relative(path: str | Path, root: Path) -> str:
    """``path`` as the records name it: relative to the root where it lies under it."""
    absolute = Path(path).resolve()
    try:
        return str(absolute.relative_to(root.resolve()))
    except ValueError:
        return str(path)


def digest_now(path: Path) -> str | None:
    """sha256 of the file, or the directory digest recomputed from its files; None when absent."""
    if path.is_dir():
        return provenance.dir_sha256(path)
    if path.is_file():
        return file_sha256(path)
    return None


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        return provenance.read(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise VocabswapError(f"{path}: unreadable provenance record: {err}") from None


def trace(paths: list[str | Path], root: str | Path | None = None) -> Trace:
    """Follow the provenance records from ``paths`` down to the sources, checking every link."""
    if not paths:
        raise VocabswapError("nothing to trace: give an output path")
    base = Path(root) if root is not None else find_root(paths[0])
    result = Trace(base, [relative(p, base) for p in paths])
    digests: dict[str, str | None] = {}

    def digest(path: str) -> str | None:
        if path not in digests:
            digests[path] = digest_now(base / path)  # a directory is hashed once per trace
        return digests[path]

    pending = list(result.tops)
    while pending:
        path = pending.pop()
        if path in result.nodes:
            continue
        actual = digest(path)
        node = Node(path, _read_record(base / path) if actual is not None else None, actual)
        result.nodes[path] = node
        for child, recorded in node.inputs.items():
            result.links.append(Link(path, child, recorded, digest(child)))
            pending.append(child)
    return result


# --- rendering ----------------------------------------------------------------------------------------------


def _summary(node: Node) -> str:
    record = node.record or {}
    wildcards = " ".join(f"{k}={v}" for k, v in record.get("wildcards", {}).items())
    digest = record.get("config_sha256") or ""
    parts = [record.get("rule", "?"), wildcards, f"config {digest[:12]}" if digest else ""]
    return " ".join(p for p in parts if p)


def _source_text(source: Mapping[str, Any]) -> str:
    if "package" in source:
        return (f"package {source['package']} {source.get('version', '?')}: {source.get('file')} "
                f"sha256 {str(source.get('sha256', ''))[:12]}")  # fmt: skip
    if "url" in source:
        return f"url {source['url']} sha256 {str(source.get('sha256', ''))[:12]}"
    return ", ".join(f"{k} {v}" for k, v in source.items())


def render_text(result: Trace) -> str:
    """The DAG as an indented tree; a node reached a second time is shown once more without its subtree."""
    lines: list[str] = []
    shown: set[str] = set()
    statuses = result.link_statuses()

    def walk(path: str, status: str, prefix: str, last: bool, top: bool) -> None:
        node = result.nodes[path]
        own = node.own_status
        status = own if status == "ok" and own != "ok" else status
        branch = "" if top else ("└── " if last else "├── ")
        sources = (node.record or {}).get("sources", [])
        repeat = path in shown and bool(node.inputs or sources)
        note = " (subtree above)" if repeat else ""
        lines.append(f"{prefix}{branch}{path}  [{_summary(node)}]  {status}{note}")
        if repeat:
            return
        shown.add(path)
        inner = prefix + ("" if top else ("    " if last else "│   "))
        children = list(node.inputs)
        for i, child in enumerate(children):
            walk(child, statuses[(path, child)], inner, i == len(children) - 1 and not sources, False)
        for i, source in enumerate(sources):
            lines.append(
                f"{inner}{'└── ' if i == len(sources) - 1 else '├── '}source: {_source_text(source)}"
            )

    for top in result.tops:
        walk(top, "ok", "", True, True)
    return "\n".join(lines)


def to_json(result: Trace) -> dict[str, Any]:
    """The DAG for tools: nodes (rule, wildcards, config digest, digests, status, sources), links, broken."""
    nodes = {
        path: {
            "rule": (node.record or {}).get("rule"),
            "wildcards": (node.record or {}).get("wildcards"),
            "config_sha256": (node.record or {}).get("config_sha256"),
            "sha256": node.actual,
            "status": node.own_status,
            "sources": (node.record or {}).get("sources", []),
        }
        for path, node in result.nodes.items()
    }
    links = [
        {"consumer": lk.consumer, "input": lk.path, "recorded": lk.recorded, "sha256": lk.actual,
         "status": lk.status}
        for lk in result.links
    ]  # fmt: skip
    return {"root": str(result.root), "tops": result.tops, "nodes": nodes, "links": links,
            "node_count": len(nodes), "depth": result.depth(), "broken": result.broken}  # fmt: skip


def to_dot(result: Trace) -> str:
    """The DAG in Graphviz DOT: an edge input → consumer, red where the link is broken."""
    ids = {path: f"n{i}" for i, path in enumerate(result.nodes)}
    lines = ["digraph provenance {", "  rankdir=BT;", "  node [shape=box, fontsize=10];"]
    for path, node in result.nodes.items():
        label = f"{path}\\n{_summary(node)}".replace('"', '\\"')
        colour = ", color=red" if node.own_status != "ok" else ""
        lines.append(f'  {ids[path]} [label="{label}"{colour}];')
    for link in result.links:
        colour = "" if link.status == "ok" else f' [color=red, label="{link.status}"]'
        lines.append(f"  {ids[link.path]} -> {ids[link.consumer]}{colour};")
    lines.append("}")
    return "\n".join(lines)


# --- table cells --------------------------------------------------------------------------------------------


def _row_words(row: Mapping[str, str]) -> Iterator[list[str]]:
    """The ways a row may be named: LAPT REINIT, and LAPT REINIT VOCAB."""
    words = [row["lapt"].upper(), row["reinit"].upper()]
    yield words
    if row.get("vocab"):
        yield [*words, str(row["vocab"]).upper()]


def find_cell(table: str | Path, row: str, column: str) -> dict[str, Any]:
    """The cell record (per-seed result paths and scores) of ``table`` at ``row`` (its labels as printed,
    e.g. ``FULL FOCUS+IDENT``, with the VOCAB label when the table has several sizes) and ``column``."""
    record = _read_record(Path(table)) if Path(table).is_file() else None
    if record is None or "cells" not in record:
        raise VocabswapError(f"{table}: not a table with a provenance record of its cells")
    wanted = row.upper().split()
    matches = [
        c for c in record["cells"] if c["column"] == column and any(w == wanted for w in _row_words(c["row"]))
    ]
    if len(matches) != 1:
        rows = sorted(
            {" ".join(next(iter(_row_words(c["row"])))) + f" {c['row']['vocab']}" for c in record["cells"]}
        )
        columns = sorted({c["column"] for c in record["cells"]})
        what = "is ambiguous (add the VOCAB label)" if matches else "is not in the table"
        raise VocabswapError(
            f"{table}: cell {row!r} × {column!r} {what}; rows (LAPT REINIT VOCAB): {'; '.join(rows)}; "
            f"columns: {', '.join(columns)}"
        )
    return matches[0]


def trace_cell(
    table: str | Path, row: str, column: str, root: str | Path | None = None
) -> tuple[dict, Trace]:
    """The cell of ``table`` and the trace under each of its result JSONs."""
    cell = find_cell(table, row, column)
    base = Path(root) if root is not None else find_root(table)
    return cell, trace([base / r["path"] for r in cell["results"]], root=base)


def render_cell(cell: Mapping[str, Any], result: Trace) -> str:
    row = cell["row"]
    scores = ", ".join(f"seed {r['seed']}: {r['score']:.4f}" for r in cell["results"])
    head = f"cell {row['lapt']} {row['reinit']} (vocab {row['vocab']}) × {cell['column']} ({cell['task']})"
    return f"{head}: {scores}\n{render_text(result)}"
