"""The shape of the package: import-graph depth, the largest modules, the longest functions.

    python tools/code_shape.py [--src src/vocabswap] [--top 5]

Import graph: an edge A -> B when module A of the package imports module B of the package. Two graphs:
``module level`` (imports that run when A is imported) and ``all`` (lazy imports inside functions too).
Depth: the number of modules on the longest chain A -> B -> C ... (the all-imports graph may have cycles
through lazy imports; its chains are counted over strongly connected components, each counted once).
"""

from __future__ import annotations

import argparse
import ast
import functools
from pathlib import Path


def module_name(path: Path, src: Path) -> str:
    parts = path.relative_to(src.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(node: ast.Import | ast.ImportFrom, current: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative import
        anchor = current.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def imports(path: Path, current: str, modules: set[str]) -> tuple[set[str], set[str]]:
    """(module-level imports, all imports) of one file, as package module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    top, every = set(), set()
    top_nodes = {id(n) for n in tree.body} | {
        id(n) for stmt in tree.body if isinstance(stmt, ast.If | ast.Try) for n in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        found = {t for t in _targets(node, current, is_package) if t in modules and t != current}
        every |= found
        if id(node) in top_nodes and not _type_checking_only(tree, node):
            top |= found
    return top, every


def _type_checking_only(tree: ast.Module, node: ast.AST) -> bool:
    guards = [s for s in tree.body if isinstance(s, ast.If) and "TYPE_CHECKING" in ast.unparse(s.test)]
    return any(n is node for guard in guards for n in ast.walk(guard))


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest chain of modules (over strongly connected components when there are cycles)."""
    index, low, stack, on_stack, comp = {}, {}, [], set(), {}
    counter = [0]

    def strongconnect(v: str) -> None:  # Tarjan
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp[w] = v
                if w == v:
                    break

    for v in graph:
        if v not in index:
            strongconnect(v)
    members: dict[str, list[str]] = {}
    for v, c in comp.items():
        members.setdefault(c, []).append(v)
    dag = {c: {comp[w] for v in vs for w in graph[v]} - {c} for c, vs in members.items()}

    @functools.cache
    def chain(c: str) -> tuple[str, ...]:
        label = "{" + ", ".join(sorted(members[c])) + "}" if len(members[c]) > 1 else c
        best = max((chain(d) for d in sorted(dag[c])), key=len, default=())
        return (label, *best)

    return list(max((chain(c) for c in sorted(dag)), key=len, default=()))


def functions(path: Path, name: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.end_lineno - node.lineno + 1, f"{name}.{node.name} ({path.name}:{node.lineno})")
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src" / "vocabswap")
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()
    files = {module_name(p, args.src): p for p in sorted(args.src.rglob("*.py"))}
    graphs: dict[str, dict[str, set[str]]] = {"module level": {}, "all": {}}
    for name, path in files.items():
        top, every = imports(path, name, set(files))
        graphs["module level"][name], graphs["all"][name] = top, every
    for kind, graph in graphs.items():
        chain = longest_chain(graph)
        print(f"import depth ({kind} imports): {len(chain)} modules: {' -> '.join(chain)}")
    sizes = sorted(
        ((len(p.read_text(encoding="utf-8").splitlines()), n) for n, p in files.items()), reverse=True
    )
    print(f"modules: {len(files)}, lines: {sum(s for s, _ in sizes)}")
    print("largest modules: " + ", ".join(f"{n} ({s})" for s, n in sizes[: args.top]))
    funcs = sorted((f for n, p in files.items() for f in functions(p, n)), reverse=True)
    print("longest functions: " + ", ".join(f"{label}: {n} lines" for n, label in funcs[: args.top]))


if __name__ == "__main__":
    main()
