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
    """Move ``n_dev`` random sentences (seeded) from train to a new dev set; both keep file order.

    The sentences are the ones the authors' ``tools/downsample_ud.py --eval_size N`` moved: after
    ``random.seed(seed)`` and ``random.shuffle`` of the train sentences, the last ``n_dev`` of the
    shuffled order become dev (with their r2.12 Erzya file and 300, the train set reproduces the
    majority baselines of the authors' ``erzya_pos_xlmr-ots.out``; North Sami with 256, ``sami_pos``).
    """
    if not 0 < n_dev < len(train):
        raise VocabswapError(f"cannot carve {n_dev} dev sentences from a train set of {len(train)}")
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)  # the same permutation as random.seed(seed); shuffle(sentences)
    chosen = set(order[len(train) - n_dev :])
    return (
        [s for i, s in enumerate(train) if i not in chosen],
        [s for i, s in enumerate(train) if i in chosen],
    )


@dataclass(frozen=True)
class WikiannSplit:
    """The paper's WikiAnn protocol (Appendix A; ``tools/preprocess_wikiann_data.py`` of the authors'
    repository); the numbers are config/paper.yaml defaults."""

    train: float = 0.85  # documentation only: train is what test and dev leave
    dev: float = 0.05
    test: float = 0.10
    min_dev: int = 256
    min_test: int = 512
    min_sentences: int = 1792  # below this a language is test-only (512 + 256 + 1024 train)

    def fractions(self, n: int) -> tuple[float, float]:
        """The two ``test_size`` arguments of the paper's ``train_test_split`` calls: test out of all,
        then dev out of what is left (``ds / (1 - ts)``), with the same float arithmetic."""
        ts = max(self.test, self.min_test / n)
        ds = max(self.dev, self.min_dev / n)
        return ts, ds / (1 - ts)

    def sizes(self, n: int) -> dict[str, int]:
        """Sentence counts of train/dev/test for a language with ``n`` sentences.

        test = ceil(max(10%, 512/n) · n), dev = ceil(max(5%, 256/n) / (1 − ts) · (n − test)) (scikit-learn's
        rounding of a float ``test_size``), train gets the rest (about 85%). Below ``min_sentences`` a
        language is test-only.
        """
        if n < self.min_sentences:
            return {"train": 0, "dev": 0, "test": n}
        ts, dev_share = self.fractions(n)
        test = math.ceil(ts * n)
        dev = math.ceil(dev_share * (n - test))
        return {"train": n - test - dev, "dev": dev, "test": test}


def random_split(
    items: Sequence[T], *, seed: int = 1, protocol: WikiannSplit | None = None
) -> dict[str, list[T]]:
    """The paper's re-split exactly: scikit-learn ``train_test_split(items, test_size=ts,
    random_state=seed)``, then the same on the remainder for dev (each split in the permutation's order)."""
    from sklearn.model_selection import train_test_split

    protocol = protocol or WikiannSplit()
    items = list(items)
    if len(items) < protocol.min_sentences:
        return {"train": [], "dev": [], "test": items}
    ts, dev_share = protocol.fractions(len(items))
    rest, test = train_test_split(items, test_size=ts, random_state=seed)
    train, dev = train_test_split(rest, test_size=dev_share, random_state=seed)
    return {"train": train, "dev": dev, "test": test}


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
