"""Length-grouped training batches against plain shuffled ones, as whole fine-tuning runs: the seconds of
each run and whether the scores stay sound.

For each seed, one run with ``group_by_length: 1`` (the reference: the authors' plain shuffled batches)
and one with the default (16), alternating, with the showcase's fine-tuning settings (600 training
sentences, batch 16, windows of 128 ids, one epoch, lr 1e-4) on UD Hebrew-HTB POS, full dev and test
splits, and the real multilingual-e5-small unless --model names a model directory. Prints each run's
seconds and test accuracy, the time ratio, and the paired test differences (grouped − shuffled).

    .venv/bin/python bench/finetune_grouping.py --threads 1 --seeds 1 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from finetune_speed import model_and_pos_data  # this folder's sibling bench (run as a script)

from vocabswap.finetune import FinetuneConfig, run_finetune

SHOWCASE = dict(lr=1e-4, batch_size=16, max_length=128, max_epochs=1, eval_every=1, patience=1, train_cap=600)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, help="a model directory (default: packaged multilingual-e5-small)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model, data = model_and_pos_data(args.model, Path(tmp))
        seconds: dict[int, list[float]] = {1: [], 16: []}
        scores: dict[int, list[float]] = {1: [], 16: []}
        for seed in args.seeds:
            for group in (1, 16):
                config = FinetuneConfig(
                    task="pos", seed=seed, precision=args.precision, group_by_length=group, **SHOWCASE
                )
                started = time.perf_counter()
                result = run_finetune(model, data, Path(tmp) / f"s{seed}g{group}.json", config)
                seconds[group].append(time.perf_counter() - started)
                scores[group].append(100 * result["score"])
                print(
                    f"seed {seed}, group {group:2d}: {seconds[group][-1]:.1f} s, test accuracy "
                    f"{scores[group][-1]:.2f}, precision {result['precision']}"
                )
    shuffled, grouped = statistics.median(seconds[1]), statistics.median(seconds[16])
    diffs = [b - a for a, b in zip(scores[1], scores[16], strict=True)]
    ratio = shuffled / grouped
    print(f"a run: shuffled {shuffled:.1f} s, grouped {grouped:.1f} s (median over seeds): {ratio:.2f}x")
    print("test accuracy, grouped − shuffled, per seed: " + ", ".join(f"{d:+.2f}" for d in diffs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
