"""Causal LAPT step time on a decoder: `vocabswap lapt`'s own loop (run_lapt), bf16 autocast and fp32.

    python bench/decoder_lapt_step.py --model DIR --text TRAIN.txt [--steps 6] [--batch 8] [--length 64]

DIR is an initialised decoder (`vocabswap init --base SMOLLM2 --tokenizer T --method mean+ident`, T a
4,000-id Hebrew BPE from `train-tokenizer --like`). Sequences are packed, so every step sees exactly
batch x length tokens; the blocks train from step 0 (LAPT-FULL after unfreezing). A step's time is the
difference of consecutive `seconds` in training_log.jsonl (no evaluation falls between them); the first
step is reported apart. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
from pathlib import Path


def measure(model: Path, train: Path, dev: Path, precision: str, args: argparse.Namespace) -> dict:
    import torch

    from vocabswap.lapt import LaptConfig, run_lapt

    config = LaptConfig(
        regime="full", steps=args.steps, freeze_fraction=0.0, eval_every=args.steps, batch_size=args.batch,
        micro_batch_size=args.batch, max_length=args.length, sequences="packed", log_every=1,
        precision=precision,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        summary = run_lapt(model, train, dev, Path(tmp) / "out", config)
        records = (Path(tmp) / "out" / "training_log.jsonl").read_text().splitlines()
    seconds = [r["seconds"] for r in map(json.loads, records) if "loss" in r]
    steps = [b - a for a, b in itertools.pairwise(seconds)]
    return {
        "precision": summary["precision"],
        "threads": torch.get_num_threads(),
        "first_step_s": seconds[0],
        "median_step_s": round(statistics.median(steps), 3),
        "min_step_s": round(min(steps), 3),
        "max_step_s": round(max(steps), 3),
        "tokens_per_step": summary["tokens_per_step"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--text", type=Path, required=True, help="training text; its last 20 lines are dev")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=64)
    args = parser.parse_args()
    lines = [x for x in args.text.read_text(encoding="utf-8").splitlines() if x.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        train, dev = Path(tmp) / "train.txt", Path(tmp) / "dev.txt"
        train.write_text("\n".join(lines[:-20]) + "\n", encoding="utf-8")
        dev.write_text("\n".join(lines[-20:]) + "\n", encoding="utf-8")
        for precision in ("bf16", "fp32"):
            print(json.dumps(measure(args.model, train, dev, precision, args)), flush=True)


if __name__ == "__main__":
    main()
