"""Fine-tuning speed, each change against its reference in the same run:

* the evaluation pass: dev and test windows batched in corpus order (the reference, as evaluation ran
  before) against longest first (`vocabswap.finetune.prediction_order`);
* a training epoch: plain shuffled batches (the reference, `group_by_length: 1`, as training ran before and
  as the authors' code batched) against length groups of 16 batches (`vocabswap.finetune.epoch_batches`),
  over the first --train-sentences training sentences;
* the optimizer step: torch's per-tensor Adam (the reference, as fine-tuning ran on CPUs before) against
  its fused kernel, on the model's own parameters with random gradients, and how far apart the two leave
  the weights after the same steps.

On the real data the showcase evaluates (UD Hebrew-HTB POS, full dev and test splits) with the real
multilingual-e5-small (the off-the-shelf row, its own 250k tokenizer) unless --model names a model
directory (a LAPT output, say). Prints the padding each order adds, the seconds of each pass (repeats
alternate the two orders) and their ratio, and how many words' predicted labels differ; the same for a
training epoch's padding and seconds.

    .venv/bin/python bench/finetune_speed.py --threads 1                # the off-the-shelf model
    .venv/bin/python bench/finetune_speed.py --model results/models/he/v4000/lapt-full/focus+ident
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from vocabswap import finetune
from vocabswap.base_model import materialise_base_model
from vocabswap.data.evalsets import build_eval_set
from vocabswap.device import resolve_precision
from vocabswap.finetune import (
    FinetuneConfig,
    _build_run,
    _prepare,
    _train_epoch,
    epoch_batches,
    prediction_order,
)
from vocabswap.tagging import Windows


def padded_tokens(windows: Windows, order: np.ndarray, batch_size: int) -> tuple[int, int]:
    """(real ids, ids after padding each batch to its longest window) when batching in ``order``."""
    lengths = np.array([len(ids) for ids in windows.input_ids])[order]
    batches = np.split(lengths, range(batch_size, len(order), batch_size))
    return int(lengths.sum()), sum(int(chunk.max()) * len(chunk) for chunk in batches)


def timed_pass(run, windows: Windows, batch_size: int, sort: bool) -> tuple[float, list[np.ndarray]]:
    """One evaluation pass; the reference (``sort`` False) batches in corpus order, as before the change."""
    keep = finetune.prediction_order
    if not sort:
        finetune.prediction_order = lambda w, attend_padding: np.arange(len(w))
    try:
        started = time.perf_counter()
        pred = finetune.predict(run.model, windows, batch_size, run.pad_id, run.device, run.autocast)
        return time.perf_counter() - started, pred
    finally:
        finetune.prediction_order = keep


def evaluation_passes(run, batch_size: int, repeats: int) -> None:
    """Dev and test passes in corpus order (the reference) against longest first, alternating."""
    for split in ("dev", "test"):
        windows = run.windows[split]
        for sort in (False, True):
            order = prediction_order(windows, attend_padding=not sort)
            real, padded = padded_tokens(windows, order, batch_size)
            name = "longest first" if sort else "corpus order"
            ratio = padded / real
            print(f"{split} ({len(windows)} windows), {name}: {padded:,} ids for {real:,}: {ratio:.2f}x")
        times: dict[bool, list[float]] = {False: [], True: []}
        preds = {}
        for _ in range(repeats):
            for sort in (False, True):
                seconds, preds[sort] = timed_pass(run, windows, batch_size, sort)
                times[sort].append(seconds)
        ref, new = statistics.median(times[False]), statistics.median(times[True])
        differ = sum(int((a != b).sum()) for a, b in zip(preds[False], preds[True], strict=True))
        words = sum(len(a) for a in preds[False])
        print(
            f"{split}: corpus order {ref:.2f} s, longest first {new:.2f} s (median of {repeats}): "
            f"{ref / new:.2f}x; labels that differ: {differ} of {words} words"
        )


def training_epochs(run, repeats: int) -> None:
    """Seconds of a training epoch, shuffled batches (group 1) against length groups (16), alternating."""
    lengths = np.array([len(ids) for ids in run.windows["train"].input_ids])
    base = run.config
    times: dict[int, list[float]] = {1: [], 16: []}
    for group in times:
        batches = epoch_batches(lengths, base.batch_size, group, np.random.default_rng(0))
        padded = sum(int(lengths[b].max()) * len(b) for b in batches)
        print(
            f"train ({len(lengths)} windows), group {group}: {padded:,} ids for {int(lengths.sum()):,}: "
            f"{padded / lengths.sum():.2f}x"
        )
    for epoch in range(repeats):
        for group in times:
            run.config = dataclasses.replace(base, group_by_length=group)
            started = time.perf_counter()
            _train_epoch(run, epoch)
            times[group].append(time.perf_counter() - started)
    run.config = base
    ref, new = statistics.median(times[1]), statistics.median(times[16])
    print(
        f"train epoch: shuffled {ref:.2f} s, length groups {new:.2f} s (median of {repeats}): "
        f"{ref / new:.2f}x"
    )


def optimizer_steps(model: torch.nn.Module, steps: int) -> None:
    """Median seconds of an Adam step, per-tensor against fused, and the largest weight difference."""
    params = [p for p in model.parameters() if p.requires_grad]
    start = [p.detach().clone() for p in params]
    gen = torch.Generator().manual_seed(0)
    grads = [[torch.randn(p.shape, generator=gen) * 1e-3 for p in params] for _ in range(steps)]
    times, finals = {}, {}
    for fused in (False, True):
        with torch.no_grad():
            for p, w in zip(params, start, strict=True):
                p.copy_(w)
        optimizer = torch.optim.Adam(params, lr=1e-4, fused=fused)
        seconds = []
        for step in grads:
            for p, g in zip(params, step, strict=True):
                p.grad = g
            started = time.perf_counter()
            optimizer.step()
            seconds.append(time.perf_counter() - started)
        times[fused], finals[fused] = statistics.median(seconds), [p.detach().clone() for p in params]
    gap = max(float((a - b).abs().max()) for a, b in zip(finals[False], finals[True], strict=True))
    n = sum(p.numel() for p in params)
    print(
        f"Adam step over {n:,} parameters: per-tensor {times[False]:.3f} s, fused {times[True]:.3f} s "
        f"(median of {steps}): {times[False] / times[True]:.2f}x; largest weight difference {gap:.1e}"
    )


PARTS = ("eval", "train", "optimizer")


def model_and_pos_data(model: Path | None, tmp: Path) -> tuple[Path, Path]:
    """The model to fine-tune (``model``, else the packaged multilingual-e5-small materialised under ``tmp``)
    and UD Hebrew-HTB POS with its full splits under ``tmp``: what this folder's fine-tuning benches use."""
    model = model or materialise_base_model("packaged:multilingual-e5-small", tmp / "e5")
    build_eval_set("packaged:ud-hebrew-htb", "he", "pos", tmp / "pos")
    return model, tmp / "pos"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, help="a model directory (default: packaged multilingual-e5-small)")
    p.add_argument("--batch-size", type=int, default=16, help="the showcase's fine-tuning batch (16)")
    p.add_argument("--max-length", type=int, default=128, help="the showcase's window length (128)")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--optimizer-steps", type=int, default=10)
    p.add_argument("--train-sentences", type=int, default=600, help="the showcase's train_cap (600)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="which comparisons to run (default: all)",
    )
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model, data = model_and_pos_data(args.model, Path(tmp))
        cfg = FinetuneConfig(
            task="pos",
            seed=1,
            precision=args.precision,
            max_length=args.max_length,
            batch_size=args.batch_size,
            train_cap=args.train_sentences,
        )
        run = _build_run(model, _prepare(model, data, cfg), cfg)
        precision = resolve_precision(cfg.precision, run.device)
        print(f"model {model}; precision {precision}; threads {torch.get_num_threads()}")
        if "eval" in args.parts:
            evaluation_passes(run, args.batch_size, args.repeats)
        if "train" in args.parts:
            training_epochs(run, args.repeats)
        if "optimizer" in args.parts:
            optimizer_steps(run.model, args.optimizer_steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
