"""Evaluation splits (SPEC §3): UD's standard splits, a dev set carved from train where a treebank has
none (Erzya: 300 sentences), and WikiAnn's random 85/5/10 re-split with minimum sizes."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from vocabswap.errors import VocabswapError

T = TypeVar("T")


def carve_dev(train: Sequence[T], n_dev: int, *, seed: int = 1) -> tuple[list[T], list[T]]:
    """Move ``n_dev`` random sentences (seeded) from train to a new dev set; both keep file order."""
    if not 0 < n_dev < len(train):
        raise VocabswapError(f"cannot carve {n_dev} dev sentences from a train set of {len(train)}")
    chosen = set(random.Random(seed).sample(range(len(train)), n_dev))
    return (
        [s for i, s in enumerate(train) if i not in chosen],
        [s for i, s in enumerate(train) if i in chosen],
    )


@dataclass(frozen=True)
class WikiannSplit:
    """The paper's WikiAnn protocol (Appendix A); the numbers are config/paper.yaml defaults."""

    train: float = 0.85
    dev: float = 0.05
    test: float = 0.10
    min_dev: int = 256
    min_test: int = 512
    min_sentences: int = 1792  # below this a language is test-only (512 + 256 + 1024 train)

    def sizes(self, n: int) -> dict[str, int]:
        """Sentence counts of train/dev/test for a language with ``n`` sentences.

        test = max(ceil(10% of n), 512) and dev = max(ceil(5% of n), 256); train gets the rest
        (about 85%). A language with fewer than ``min_sentences`` is test-only.
        """
        if n < self.min_sentences:
            return {"train": 0, "dev": 0, "test": n}
        test = max(math.ceil(self.test * n), self.min_test)
        dev = max(math.ceil(self.dev * n), self.min_dev)
        return {"train": n - test - dev, "dev": dev, "test": test}


def random_split(
    items: Sequence[T], *, seed: int = 1, protocol: WikiannSplit | None = None
) -> dict[str, list[T]]:
    """Shuffle with ``random.Random(seed)`` and cut into test, dev, train (in that order of the shuffle)."""
    protocol = protocol or WikiannSplit()
    sizes = protocol.sizes(len(items))
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    test = order[: sizes["test"]]
    dev = order[sizes["test"] : sizes["test"] + sizes["dev"]]
    train = order[sizes["test"] + sizes["dev"] :]
    return {
        "train": [items[i] for i in train],
        "dev": [items[i] for i in dev],
        "test": [items[i] for i in test],
    }


def split_lines(
    in_path: str | Path,
    *,
    train: str | Path,
    dev: str | Path,
    dev_lines: int,
    seed: int = 1,
) -> dict[str, int]:
    """Hold out ``dev_lines`` random lines (seeded) of a cleaned corpus as the LAPT dev set; streaming.

    Both outputs keep the corpus order and are written atomically. Returns the line counts.
    """
    import numpy as np

    from vocabswap.atomic import atomic_path
    from vocabswap.errors import InputError

    in_path = Path(in_path)
    if not in_path.is_file():
        raise InputError(in_path, None, "corpus not found")
    with open(in_path, "rb") as f:
        n = sum(1 for _ in f)
    if n == 0:
        raise InputError(in_path, None, "empty corpus")
    if not 0 < dev_lines < n:
        raise VocabswapError(f"{in_path}: cannot hold out {dev_lines} dev lines from {n} lines")
    is_dev = np.zeros(n, dtype=bool)
    is_dev[np.random.default_rng(seed).choice(n, size=dev_lines, replace=False)] = True
    with (
        atomic_path(train) as t_tmp,
        atomic_path(dev) as d_tmp,
        open(t_tmp, "wb") as t_out,
        open(d_tmp, "wb") as d_out,
        open(in_path, "rb") as f,
    ):
        for i, line in enumerate(f):
            if not line.endswith(b"\n"):
                line += b"\n"
            (d_out if is_dev[i] else t_out).write(line)
    return {"train": n - dev_lines, "dev": dev_lines}
