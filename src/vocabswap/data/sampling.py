"""Multilingual α-sampling (SPEC §3, paper Section 4): each output line picks language l with probability
q_l ∝ p_l^α (p_l = l's share of all lines), then a uniformly random line of l, with replacement.

Streaming: one pass counts each input's lines (capped at ``cap_bytes`` per language, the paper's ~2 GB),
the per-language counts k_l come from one multinomial draw, each language's k_l line numbers are drawn
and sorted, and a second pass copies exactly those lines into a temporary file. The output interleaves
them in a random order through memory-mapped offsets. Memory is O(output lines), never O(input).
"""

from __future__ import annotations

import mmap
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vocabswap.atomic import atomic_path, write_json
from vocabswap.errors import InputError, VocabswapError

_BLOCK = 1 << 16  # output slots written per block


def sampling_probabilities(counts: Mapping[str, int], alpha: float) -> dict[str, float]:
    """q_l ∝ p_l^α with p_l = n_l / Σ n."""
    if not 0 < alpha <= 1:
        raise VocabswapError(f"alpha must be in (0, 1], got {alpha}")
    total = sum(counts.values())
    p = np.array([counts[k] / total for k in counts], dtype=np.float64)
    q = p**alpha
    q /= q.sum()
    return dict(zip(counts, q.tolist(), strict=True))


def _iter_lines(path: Path, cap_bytes: int | None):
    """Non-empty lines (bytes, without the newline) of ``path`` up to ``cap_bytes`` (whole lines only)."""
    read = 0
    with open(path, "rb") as f:
        for line in f:
            read += len(line)
            if cap_bytes is not None and read > cap_bytes:
                return
            line = line.rstrip(b"\r\n")
            if line:
                yield line


def count_lines(path: str | Path, cap_bytes: int | None = None) -> int:
    """Number of non-empty lines within the first ``cap_bytes`` bytes (streaming)."""
    return sum(1 for _ in _iter_lines(Path(path), cap_bytes))


def sample_multilingual(
    inputs: Mapping[str, str | Path],
    out: str | Path,
    *,
    alpha: float = 0.2,
    lines: int,
    seed: int = 1,
    cap_bytes: int | None = None,
    composition_path: str | Path | None = None,
) -> dict[str, Any]:
    """Write ``lines`` α-sampled lines from the languages' files to ``out`` (atomically).

    Returns the composition (also written as JSON to ``composition_path``, by default
    ``<out>.composition.json``): per language the input lines, p, q and the lines drawn.
    """
    out = Path(out)
    if lines < 1:
        raise VocabswapError(f"lines must be positive, got {lines}")
    if not inputs:
        raise VocabswapError("no input languages")
    paths = {lang: Path(p) for lang, p in inputs.items()}
    counts: dict[str, int] = {}
    for lang, path in paths.items():
        if not path.is_file():
            raise InputError(path, None, f"input corpus of {lang} not found")
        counts[lang] = count_lines(path, cap_bytes)
        if counts[lang] == 0:
            raise InputError(path, None, f"input corpus of {lang} has no lines")
    q = sampling_probabilities(counts, alpha)
    rng = np.random.default_rng(seed)
    langs = list(paths)
    if len(langs) > 255:
        raise VocabswapError("at most 255 languages can be sampled together")
    # the language of every output line, i.i.d. from q (uint8: one byte per output line)
    which = rng.choice(len(langs), size=lines, p=[q[lang] for lang in langs]).astype(np.uint8)
    k = np.bincount(which, minlength=len(langs))
    with tempfile.TemporaryDirectory(
        prefix=".sample-", dir=out.parent if out.parent.exists() else None
    ) as tmp:
        # every language's drawn lines, in line order, one after the other in one file
        drawn = Path(tmp) / "drawn.txt"
        offsets = np.zeros(lines + 1, dtype=np.int64)
        base = np.concatenate([[0], np.cumsum(k)]).astype(np.int64)  # first draw of each language
        pos = 0
        with open(drawn, "wb") as w:
            for li, lang in enumerate(langs):
                picks = np.sort(rng.integers(0, counts[lang], size=int(k[li])))
                j = 0
                if len(picks):
                    for idx, line in enumerate(_iter_lines(paths[lang], cap_bytes)):
                        while j < len(picks) and picks[j] == idx:
                            w.write(line + b"\n")
                            pos += len(line) + 1
                            j += 1
                            offsets[base[li] + j] = pos
                        if j == len(picks):
                            break
                if j != len(picks):
                    raise InputError(paths[lang], None, "the file changed while it was being sampled")
        # each output slot takes one of its language's draws; the draws were sorted for streaming, so
        # hand them out in a random order (i.i.d. draws in random order are again i.i.d. draws)
        slot = np.empty(lines, dtype=np.int64)
        for li in range(len(langs)):
            slot[which == li] = base[li] + rng.permutation(int(k[li]))
        del which
        with (
            open(drawn, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm,
            atomic_path(out) as tmp_out,
            open(tmp_out, "wb") as w,
        ):
            for b in range(0, lines, _BLOCK):
                idx = slot[b : b + _BLOCK]
                starts = offsets[idx].tolist()
                ends = offsets[idx + 1].tolist()
                w.write(b"".join([mm[x:y] for x, y in zip(starts, ends, strict=True)]))
    total = sum(counts.values())
    composition = {
        "alpha": alpha,
        "seed": seed,
        "lines": lines,
        "cap_bytes": cap_bytes,
        "languages": {
            lang: {
                "source": str(paths[lang]),
                "input_lines": counts[lang],
                "p": counts[lang] / total,
                "q": q[lang],
                "sampled_lines": int(k[li]),
                "share": int(k[li]) / lines,
            }
            for li, lang in enumerate(langs)
        },
    }
    write_json(composition_path or out.with_name(out.name + ".composition.json"), composition)
    return composition
