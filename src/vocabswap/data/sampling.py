"""Multilingual α-sampling (SPEC §3, paper Section 4): each output line picks language l with probability
q_l ∝ p_l^α (p_l = l's share of all lines), then a uniformly random line of l, with replacement.

Streaming: one pass counts each input's lines (capped at ``cap_bytes`` per language, the paper's ~2 GB),
the per-language counts k_l come from one multinomial draw, each language's k_l line numbers are drawn
and sorted, and a second pass copies exactly those lines into a temporary file. The output interleaves
them in a random order through memory-mapped offsets. Memory is O(output lines), never O(input).

Sizes (:func:`plan_sampling`, :func:`sample_target`): a multilingual target's samples are sized to their
use. The LAPT sample is a file holding what the target's LAPT jobs read, ``lapt.steps × lapt.batch_size /
sampling.lapt_passes`` lines (the paper: 100,000 × 200 = 20M lines, one pass). It is materialised rather
than streamed into LAPT: every method and regime of the target reads the same sequences, LAPT's packing
cache and resume logic key on one input file, and the file is no larger than what LAPT reads anyway. The
dev sample holds ``dev_lines`` (drawn with replacement, as the authors' tool drew its 100,000; with
``dev_within_inputs`` at most the dev inputs' lines together); the tokenizer sample holds at most as many
lines as its inputs together, and at most what the tokenizer trainer takes whole
(``tokenizer.max_text_bytes``; above it the trainer keeps only a ~250 MB subset). A sample that draws a
language's lines more than ``max_repeat`` times on average warns in the log and in the composition.
"""

from __future__ import annotations

import logging
import math
import mmap
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vocabswap.atomic import atomic_path, write_json
from vocabswap.data.lines import byte_lines
from vocabswap.errors import InputError, VocabswapError
from vocabswap.training_config import check_seed

log = logging.getLogger(__name__)

_BLOCK = 1 << 16  # output slots written per block
SPLITS = ("train", "dev", "tokenizer")
# A bound on one sample: 25x the paper's largest (20M LAPT lines); its draw needs 8 bytes a line at once.
MAX_SAMPLE_LINES = 500_000_000
BYTES_SIGMAS = 4.0  # a sample sized to a byte limit stays below it but with odds of ~3e-5


@dataclass(frozen=True)
class InputStats:
    """Lines and bytes (with newlines) of one language's input within its cap; ``sq_bytes`` is the sum of
    the squared line sizes (for the spread of a sample's size)."""

    path: Path
    lines: int
    bytes: int
    sq_bytes: int


def sampling_probabilities(counts: Mapping[str, int], alpha: float) -> dict[str, float]:
    """q_l ∝ p_l^α with p_l = n_l / Σ n."""
    if not 0 < alpha <= 1:
        raise VocabswapError(f"alpha must be in (0, 1], got {alpha}")
    total = sum(counts.values())
    p = np.array([counts[k] / total for k in counts], dtype=np.float64)
    q = p**alpha
    q /= q.sum()
    return dict(zip(counts, q.tolist(), strict=True))


def count_lines(path: str | Path, cap_bytes: int | None = None) -> int:
    """Number of non-empty lines within the first ``cap_bytes`` bytes (streaming)."""
    return sum(1 for _ in byte_lines(Path(path), cap_bytes))


def input_stats(inputs: Mapping[str, str | Path], cap_bytes: int | None = None) -> dict[str, InputStats]:
    """Lines and bytes of every language's input (one streaming pass each); an error names the file."""
    if not inputs:
        raise VocabswapError("no input languages")
    if len(inputs) > 255:
        raise VocabswapError("at most 255 languages can be sampled together")
    stats = {}
    for lang, p in inputs.items():
        path = Path(p)
        if not path.is_file():
            raise InputError(path, None, f"input corpus of {lang} not found")
        lines = size = sq = 0
        for line in byte_lines(path, cap_bytes):
            lines, size, sq = lines + 1, size + len(line) + 1, sq + (len(line) + 1) ** 2
        if lines == 0:
            raise InputError(path, None, f"input corpus of {lang} has no lines")
        stats[lang] = InputStats(path, lines, size, sq)
    return stats


def _write_drawn(stats: Mapping[str, InputStats], k: np.ndarray, dest: Path, rng, cap_bytes) -> np.ndarray:
    """Copy each language's k_l drawn lines (sorted line numbers, so one streaming pass) into ``dest``,
    language after language; returns the offsets of the draws (len Σk + 1)."""
    offsets = np.zeros(int(k.sum()) + 1, dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(k)]).astype(np.int64)
    pos = 0
    with open(dest, "wb") as w:
        for li, (lang, st) in enumerate(stats.items()):
            picks = np.sort(rng.integers(0, st.lines, size=int(k[li])))
            j = 0
            if len(picks):
                for idx, line in enumerate(byte_lines(st.path, cap_bytes)):
                    while j < len(picks) and picks[j] == idx:
                        w.write(line + b"\n")
                        pos += len(line) + 1
                        j += 1
                        offsets[base[li] + j] = pos
                    if j == len(picks):
                        break
            if j != len(picks):
                raise InputError(st.path, None, f"the {lang} file changed while it was being sampled")
    return offsets


def _write_interleaved(
    drawn: Path, offsets: np.ndarray, which: np.ndarray, k: np.ndarray, out: Path, rng
) -> int:
    """Write the draws to ``out`` (atomically) in the order of ``which`` (each slot's language); the draws
    were sorted for streaming, so hand them out in a random order (i.i.d. draws in random order are again
    i.i.d. draws). Returns the bytes written."""
    base = np.concatenate([[0], np.cumsum(k)]).astype(np.int64)
    slot = np.empty(len(which), dtype=np.int64)
    for li in range(len(k)):
        slot[which == li] = base[li] + rng.permutation(int(k[li]))
    with (
        open(drawn, "rb") as handle,
        mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm,
        atomic_path(out) as tmp_out,
        open(tmp_out, "wb") as w,
    ):
        for b in range(0, len(slot), _BLOCK):
            idx = slot[b : b + _BLOCK]
            spans = zip(offsets[idx].tolist(), offsets[idx + 1].tolist(), strict=True)
            w.write(b"".join([mm[x:y] for x, y in spans]))
    return int(offsets[-1])


def _sample(
    stats: Mapping[str, InputStats], out: Path, *, alpha: float, lines: int, seed: int, cap_bytes: int | None
) -> tuple[np.ndarray, dict[str, float], int]:
    """Draw ``lines`` α-sampled lines into ``out``; returns (k per language, q, bytes written)."""
    q = sampling_probabilities({lang: st.lines for lang, st in stats.items()}, alpha)
    rng = np.random.default_rng(seed)
    # the language of every output line, i.i.d. from q (uint8: one byte per output line)
    which = rng.choice(len(stats), size=lines, p=[q[lang] for lang in stats]).astype(np.uint8)
    k = np.bincount(which, minlength=len(stats))
    parent = out.parent if out.parent.exists() else None
    with tempfile.TemporaryDirectory(prefix=".sample-", dir=parent) as tmp:
        drawn = Path(tmp) / "drawn.txt"
        offsets = _write_drawn(stats, k, drawn, rng, cap_bytes)
        written = _write_interleaved(drawn, offsets, which, k, out, rng)
    return k, q, written


def _composition(
    stats: Mapping[str, InputStats], k: np.ndarray, q: Mapping[str, float], **fields: Any
) -> dict[str, Any]:
    """The composition record of one sample: settings, sizes, and per language p, q, draws and repeat."""
    total = sum(st.lines for st in stats.values())
    lines = int(k.sum())
    return {
        **fields,
        "lines": lines,
        "languages": {
            lang: {
                "source": str(st.path),
                "input_lines": st.lines,
                "input_bytes": st.bytes,
                "p": st.lines / total,
                "q": q[lang],
                "sampled_lines": int(k[li]),
                "share": int(k[li]) / lines,
                # how often each input line of the language is drawn on average
                "repeat": int(k[li]) / st.lines,
            }
            for li, (lang, st) in enumerate(stats.items())
        },
    }


def repeat_warnings(composition: Mapping[str, Any], max_repeat: float | None, what: str) -> list[str]:
    """One message per language whose lines the sample repeats more than ``max_repeat`` times on average."""
    if max_repeat is None:
        return []
    return [
        f"{what}: {lang} lines are drawn {info['repeat']:.3g} times each on average "
        f"({info['sampled_lines']:,} draws from {info['input_lines']:,} lines; sampling.max_repeat is "
        f"{max_repeat:g})"
        for lang, info in composition["languages"].items()
        if info["repeat"] > max_repeat
    ]


def sample_multilingual(
    inputs: Mapping[str, str | Path],
    out: str | Path,
    *,
    alpha: float = 0.2,
    lines: int,
    seed: int = 1,
    cap_bytes: int | None = None,
    composition_path: str | Path | None = None,
    max_repeat: float | None = None,
) -> dict[str, Any]:
    """Write ``lines`` α-sampled lines from the languages' files to ``out`` (atomically).

    Returns the composition (also written as JSON to ``composition_path``, by default
    ``<out>.composition.json``): per language the input lines and bytes, p, q, the lines drawn and their
    repeat factor; the bytes written, seconds, and a warning per language repeated over ``max_repeat``.
    """
    if not 1 <= lines <= MAX_SAMPLE_LINES:
        raise VocabswapError(f"lines must be from 1 to {MAX_SAMPLE_LINES:,}, got {lines}")
    check_seed(seed)
    out = Path(out)
    started = time.perf_counter()
    stats = input_stats(inputs, cap_bytes)
    composition = sample_split(
        stats,
        out,
        alpha=alpha,
        lines=lines,
        seed=seed,
        cap_bytes=cap_bytes,
        max_repeat=max_repeat,
        what=out.name,
    )
    composition["seconds"] = round(time.perf_counter() - started, 3)
    write_json(composition_path or out.with_name(out.name + ".composition.json"), composition)
    return composition


def sample_split(
    stats: Mapping[str, InputStats],
    out: Path,
    *,
    alpha: float,
    lines: int,
    seed: int,
    cap_bytes: int | None,
    max_repeat: float | None,
    what: str,
    **fields: Any,
) -> dict[str, Any]:
    """Sample one split from counted inputs; returns its composition record and logs its accounting."""
    started = time.perf_counter()
    k, q, written = _sample(stats, out, alpha=alpha, lines=lines, seed=seed, cap_bytes=cap_bytes)
    comp = _composition(stats, k, q, alpha=alpha, seed=seed, cap_bytes=cap_bytes, **fields)
    comp["bytes"] = written
    comp["seconds"] = round(time.perf_counter() - started, 3)
    comp["warnings"] = repeat_warnings(comp, max_repeat, what)
    repeats = ", ".join(f"{lang} {v['repeat']:.3g}" for lang, v in comp["languages"].items())
    log.info(
        "%s: %d lines, %d bytes to %s in %.1f s; repeat per language: %s",
        what,
        lines,
        written,
        out,
        comp["seconds"],
        repeats,
    )
    for message in comp["warnings"]:
        log.warning(message)
    return comp


# --- a multilingual target's samples, sized to their use ---------------------------------------------------
def lapt_sample_lines(lapt: Mapping[str, Any], passes: float) -> int:
    """Lines of the LAPT sample: the sequences the LAPT jobs read (steps × batch size) over the passes they
    make over the sample (one line per sequence, as the paper's LAPT feeds them)."""
    if passes <= 0:
        raise VocabswapError(f"sampling.lapt_passes must be positive, got {passes}")
    return math.ceil(lapt["steps"] * lapt["batch_size"] / passes)


def plan_sampling(
    sampling: Mapping[str, Any],
    lapt: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    tokenizer: Mapping[str, Any],
) -> dict[str, Any]:
    """The settings a sample_target job reads: the sampling section with ``train_lines`` resolved (null =
    sized to the target's LAPT jobs: ``lapt`` is one job's settings or every job's, and the job reading
    the most sequences sizes it) and the tokenizer trainer's whole-text limit. Only these numbers reach
    the job, so a LAPT change other than its steps or batch size (a new learning rate) resamples nothing."""
    runs = [lapt] if isinstance(lapt, Mapping) else list(lapt)
    if not runs:
        raise VocabswapError("no LAPT settings to size the LAPT sample by")
    run = max(runs, key=lambda r: r["steps"] * r["batch_size"])
    plan = {key: value for key, value in sampling.items() if key != "lapt_passes"}
    if sampling.get("train_lines") is None:
        plan["train_lines"] = lapt_sample_lines(run, sampling["lapt_passes"])
        plan["train_sized_by"] = (
            f"lapt.steps × lapt.batch_size / sampling.lapt_passes = {run['steps']} × {run['batch_size']}"
            f" / {sampling['lapt_passes']:g}"
        )
    else:
        plan["train_sized_by"] = "sampling.train_lines"
    if run.get("sequences") == "packed":
        plan["train_sized_by"] += " (packed: several lines a sequence; LAPT reads the sample repeatedly)"
    plan["tokenizer_max_bytes"] = tokenizer["max_text_bytes"]
    return plan


def _capped(requested: int, key: str, *caps: tuple[int, str]) -> dict[str, Any]:
    """The smallest of a requested size and its caps, with the rule that set it."""
    lines, sized_by = requested, key
    for cap, why in caps:
        if cap < lines:
            lines, sized_by = max(1, cap), why
    return {"requested": requested, "lines": lines, "sized_by": sized_by}


def lines_within_bytes(stats: Mapping[str, InputStats], alpha: float, limit: int) -> int:
    """The most lines an α-sample of ``stats`` can hold and stay below ``limit`` bytes: N·μ + 4·√N·σ ≤
    limit, with μ and σ² the mean and variance of a sampled line's size."""
    q = sampling_probabilities({lang: st.lines for lang, st in stats.items()}, alpha)
    mean = sum(q[lang] * st.bytes / st.lines for lang, st in stats.items())
    var = max(0.0, sum(q[lang] * st.sq_bytes / st.lines for lang, st in stats.items()) - mean**2)
    b = BYTES_SIGMAS * math.sqrt(var)
    root = (-b + math.sqrt(b * b + 4 * mean * limit)) / (2 * mean)
    return int(root * root)


def sample_sizes(
    plan: Mapping[str, Any], train: Mapping[str, InputStats], dev: Mapping[str, InputStats]
) -> dict[str, dict[str, Any]]:
    """Lines of each split with the rule that set them (see the module docstring)."""
    whole_text = lines_within_bytes(train, plan["alpha"], plan["tokenizer_max_bytes"])
    return {
        "train": {
            "requested": plan["train_lines"],
            "lines": plan["train_lines"],
            "sized_by": plan["train_sized_by"],
        },
        "dev": _capped(
            plan["dev_lines"],
            "sampling.dev_lines",
            *(
                [(sum(st.lines for st in dev.values()), "the languages' dev lines together")]
                if plan["dev_within_inputs"]
                else []
            ),
        ),
        "tokenizer": _capped(
            plan["tokenizer_lines"],
            "sampling.tokenizer_lines",
            (sum(st.lines for st in train.values()), "the languages' train lines together"),
            (whole_text, "tokenizer.max_text_bytes (the trainer's whole-text limit)"),
        ),
    }


def split_seed(seed: int, split: str) -> int:
    """An independent seed per split, so the tokenizer text is not a re-draw of the LAPT text."""
    return int(np.random.SeedSequence([seed, SPLITS.index(split)]).generate_state(1)[0])


def sample_target(
    train: Mapping[str, str | Path],
    dev: Mapping[str, str | Path],
    outputs: Mapping[str, str | Path],
    plan: Mapping[str, Any],
    *,
    composition_path: str | Path,
) -> dict[str, Any]:
    """Write a multilingual target's LAPT (``outputs["train"]``), dev and tokenizer samples, sized by
    :func:`sample_sizes`, and the composition JSON: per split the sizes and why, lines and bytes written,
    seconds, per language p, q, draws and repeat factor; the totals and every repeat warning."""
    started = time.perf_counter()
    stats = {"train": input_stats(train, plan["cap_bytes"]), "dev": input_stats(dev, plan["cap_bytes"])}
    sizes = sample_sizes(plan, stats["train"], stats["dev"])
    splits = {}
    for split in SPLITS:
        splits[split] = sample_split(
            stats["dev" if split == "dev" else "train"],
            Path(outputs[split]),
            alpha=plan["alpha"],
            lines=sizes[split]["lines"],
            seed=split_seed(plan["seed"], split),
            cap_bytes=plan["cap_bytes"],
            max_repeat=plan["max_repeat"],
            what=f"{split} sample",
            requested_lines=sizes[split]["requested"],
            sized_by=sizes[split]["sized_by"],
        )
    composition = {
        "bytes": sum(s["bytes"] for s in splits.values()),
        "seconds": round(time.perf_counter() - started, 3),
        "warnings": [w for s in splits.values() for w in s["warnings"]],
        "splits": splits,
    }
    log.info(
        "sampled %s: %d bytes in all, %.1f s",
        ", ".join(f"{k} {v['lines']:,} lines" for k, v in splits.items()),
        composition["bytes"],
        composition["seconds"],
    )
    write_json(composition_path, composition)
    return composition
