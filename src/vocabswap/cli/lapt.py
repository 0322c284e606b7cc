"""``vocabswap lapt``: continued masked-LM training with the paper's freeze schedule (SPEC §3, §4)."""

from __future__ import annotations

import argparse
import json
import os

from vocabswap.errors import VocabswapError, require_input_files

DEFAULTS_NOTE = "defaults are the paper's (Table 6, Section 4)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lapt",
        help="language-adaptive pre-training (masked LM) of a model directory",
        description=(
            "Continue masked-LM training of MODEL on the target-language text and write the best-dev-loss "
            "checkpoint as a Hugging Face directory (with its tokenizer, lapt_log.json and "
            f"training_log.jsonl). Resumable: state is kept in OUT.state (or --state-dir); {DEFAULTS_NOTE}. "
            "Multi-GPU/-process: torchrun --nproc_per_node N -m vocabswap.cli lapt ..."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="input model directory (AutoModelForMaskedLM + tokenizer)")
    p.add_argument("--train", required=True, help="training text, one sentence per line")
    p.add_argument("--dev", required=True, help="dev text, one sentence per line")
    p.add_argument(
        "--regime",
        required=True,
        choices=("full", "emb"),
        help="full: blocks frozen for the first --freeze-fraction of steps; emb: frozen throughout",
    )
    p.add_argument("--out", required=True, help="output model directory (written atomically at the end)")
    p.add_argument("--steps", type=int, default=100_000, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=200, help="sequences per optimizer step (all processes)")
    p.add_argument(
        "--micro-batch-size",
        type=int,
        default=8,
        help="sequences per forward pass in one process (gradient accumulation up to the batch)",
    )
    p.add_argument("--eval-every", type=int, default=1000, help="steps between dev evaluations/checkpoints")
    p.add_argument("--lr", type=float, default=1e-5, help="peak learning rate, decayed linearly to 0")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument(
        "--nan-max-grad-norm",
        type=float,
        default=0.5,
        help="max grad norm after a non-finite loss forced a restart",
    )
    p.add_argument("--max-restarts", type=int, default=3)
    p.add_argument(
        "--max-length", type=int, default=256, help="tokens per sequence, <s> and </s> included"
    )
    p.add_argument(
        "--sequences",
        choices=("lines", "packed"),
        default="lines",
        help="lines: one line = one sequence, cut at --max-length, padded per micro-batch (the paper's "
        "code); packed: concatenated lines cut into full --max-length blocks",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=None,
        help="stop after this many dev evaluations without a lower dev loss (default: never stop early)",
    )
    p.add_argument("--mlm-probability", type=float, default=0.15)
    p.add_argument("--freeze-fraction", type=float, default=0.1, help="regime full: share of frozen steps")
    p.add_argument(
        "--head",
        choices=("masked", "all"),
        default="masked",
        help="MLM head on masked positions only (same loss, fewer FLOPs) or on all positions",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--log-every", type=int, default=100, help="steps between training-log records")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--no-bf16", dest="bf16", action="store_false", help="fp32 on GPU (CPU is always fp32)")
    p.add_argument("--state-dir", help="resumable state directory (default: OUT.state); outside OUT")
    p.add_argument("--keep-state", action="store_true", help="keep the state directory after success")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out if it holds an earlier vocabswap output (other directories are never replaced)",
    )
    # Test hooks, hidden from --help.
    p.add_argument("--debug-nan-at-step", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--debug-step-sleep", type=float, default=0.0, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from vocabswap.atomic import check_output_dir
    from vocabswap.lapt import LaptConfig, run_lapt

    check_output_dir(args.out, overwrite=args.overwrite)
    require_input_files(args.train, args.dev)
    if args.freeze_fraction < 0 or args.freeze_fraction > 1:
        raise VocabswapError(f"--freeze-fraction must be in [0, 1], got {args.freeze_fraction}")
    config = LaptConfig(
        regime=args.regime,
        steps=args.steps,
        batch_size=args.batch_size,
        micro_batch_size=args.micro_batch_size,
        eval_every=args.eval_every,
        lr=args.lr,
        weight_decay=args.weight_decay,
        max_grad_norm=args.max_grad_norm,
        nan_max_grad_norm=args.nan_max_grad_norm,
        max_restarts=args.max_restarts,
        max_length=args.max_length,
        sequences=args.sequences,
        patience=args.patience,
        mlm_probability=args.mlm_probability,
        freeze_fraction=args.freeze_fraction,
        seed=args.seed,
        head=args.head,
        log_every=args.log_every,
        device=args.device,
        bf16=args.bf16,
        keep_state=args.keep_state,
        debug_nan_at_step=args.debug_nan_at_step,
        debug_step_sleep=args.debug_step_sleep,
    )
    summary = run_lapt(args.model, args.train, args.dev, args.out, config, state_dir=args.state_dir)
    brief = {k: summary[k] for k in ("out", "steps", "best_step", "best_dev_loss", "tokens_seen")}
    brief["flops"] = {k: summary["flops"][k] for k in ("executed", "paper")}
    brief["restarts"] = len(summary["restarts"])
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(brief))
