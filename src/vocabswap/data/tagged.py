"""The evaluation-data format: one ``word<TAB>tag`` per line, a blank line between sentences.

``train.tsv``/``dev.tsv``/``test.tsv`` of an evaluation data dir use it for both POS (UPOS tags) and NER
(BIO tags). Words may contain any character except TAB and newline; tags contain no whitespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from vocabswap.atomic import atomic_open
from vocabswap.data.lines import numbered_lines
from vocabswap.errors import InputError

Sentence = tuple[list[str], list[str]]


def read_tagged(path: str | Path) -> list[Sentence]:
    """Read a tagged file into ``[(words, tags), ...]``; malformed lines raise ``InputError(file, line)``."""
    path = Path(path)
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    for lineno, line in numbered_lines(path):
        if not line.strip():
            if words:
                sentences.append((words, tags))
                words, tags = [], []
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise InputError(path, lineno, f"expected 2 tab-separated columns (word, tag), got {len(parts)}")
        word, tag = parts
        if not word:
            raise InputError(path, lineno, "empty word")
        if not tag or any(c.isspace() for c in tag):
            raise InputError(path, lineno, f"invalid tag {tag!r}")
        words.append(word)
        tags.append(tag)
    if words:
        sentences.append((words, tags))
    return sentences


def write_tagged(path: str | Path, sentences: Iterable[tuple[Sequence[str], Sequence[str]]]) -> int:
    """Write sentences atomically; returns how many. Rejects words/tags that would not round-trip."""
    path = Path(path)
    n = 0
    with atomic_open(path) as handle:
        for i, (words, tags) in enumerate(sentences):
            if len(words) != len(tags):
                raise ValueError(f"{path}: sentence {i}: {len(words)} words but {len(tags)} tags")
            if not words:
                raise ValueError(f"{path}: sentence {i} is empty")
            for word, tag in zip(words, tags, strict=True):
                if not word or "\t" in word or "\n" in word or "\r" in word or not word.strip():
                    raise ValueError(f"{path}: sentence {i}: word {word!r} cannot be written")
                if not tag or any(c.isspace() for c in tag):
                    raise ValueError(f"{path}: sentence {i}: tag {tag!r} cannot be written")
                handle.write(f"{word}\t{tag}\n")
            handle.write("\n")
            n += 1
    return n
