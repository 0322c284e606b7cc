"""Is bf16 autocast numerically sound for LAPT? The same LAPT run (same model, data, seed, batches and masks)
in fp32 and in bf16 autocast: the step-0 dev loss and the dev curve side by side.

    .venv/bin/python bench/precision_curve.py MODEL TRAIN DEV OUT [--steps 64 --eval-every 8 ...]
    .venv/bin/python bench/precision_curve.py MODEL TRAIN DEV OUT --precision fp32   # one half (in parallel)

Each precision writes OUT/<precision>/ (skipped when its lapt_log.json exists); with both present the
comparison is printed and written to OUT/compare.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vocabswap.lapt import LaptConfig, run_lapt


def compare(out: Path) -> dict:
    curves = {p: json.loads((out / p / "lapt_log.json").read_text())["dev_curve"] for p in ("fp32", "bf16")}
    rows = [
        {
            "step": a["step"],
            "fp32": a["dev_loss"],
            "bf16": b["dev_loss"],
            "rel_diff": b["dev_loss"] / a["dev_loss"] - 1,
        }
        for a, b in zip(curves["fp32"], curves["bf16"], strict=True)
    ]
    print(f"{'step':>5} {'fp32':>9} {'bf16':>9} {'bf16/fp32-1':>12}")
    for r in rows:
        print(f"{r['step']:>5} {r['fp32']:>9.4f} {r['bf16']:>9.4f} {r['rel_diff']:>+12.2%}")
    worst = max(rows, key=lambda r: abs(r["rel_diff"]))
    print(f"largest relative difference {worst['rel_diff']:+.2%} at step {worst['step']}")
    result = {"rows": rows, "max_abs_rel_diff": abs(worst["rel_diff"])}
    (out / "compare.json").write_text(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("model", "train", "dev", "out"):
        p.add_argument(name, type=Path)
    p.add_argument("--precision", choices=("fp32", "bf16"), help="run only this one")
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--eval-every", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--regime", choices=("full", "emb"), default="full")
    args = p.parse_args(argv)
    for precision in [args.precision] if args.precision else ["fp32", "bf16"]:
        if (args.out / precision / "lapt_log.json").exists():
            continue
        config = LaptConfig(
            regime=args.regime,
            steps=args.steps,
            eval_every=args.eval_every,
            batch_size=args.batch_size,
            micro_batch_size=args.batch_size,
            max_length=args.max_length,
            lr=args.lr,
            log_every=args.eval_every,
            precision=precision,
        )
        run_lapt(
            args.model,
            args.train,
            args.dev,
            args.out / precision,
            config,
            state_dir=args.out / f"state-{precision}",
        )
    if all((args.out / p / "lapt_log.json").exists() for p in ("fp32", "bf16")):
        compare(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
