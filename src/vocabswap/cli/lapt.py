"""``vocabswap lapt``: continued masked-LM or next-token training, the paper's freeze schedule (SPEC §3)."""

from __future__ import annotations

import argparse
import json
import os

from vocabswap.cli.options import add_config_options, config_from_args
from vocabswap.errors import VocabswapError, require_input_files
from vocabswap.training_config import ON_CHANGE, LaptConfig

DEFAULTS_NOTE = "defaults are the paper's (Table 6, Section 4)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lapt",
        help="language-adaptive pre-training (masked LM or causal LM) of a model directory",
        description=(
            "Continue the training of MODEL on the target-language text (masked LM: its masked-LM "
            "objective; causal LM: next token, with dev bits per byte) and write the best-dev-loss "
            "checkpoint as a Hugging Face directory (with its tokenizer, lapt_log.json and "
            f"training_log.jsonl). Resumable: state is kept in OUT.state (or --state-dir); {DEFAULTS_NOTE}. "
            "Multi-GPU/-process: torchrun --nproc_per_node N -m vocabswap.cli lapt ..."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--model", required=True, help="input model directory (a masked LM or a causal LM + tokenizer)"
    )
    p.add_argument("--train", required=True, help="training text, one sentence per line")
    p.add_argument("--dev", required=True, help="dev text, one sentence per line")
    p.add_argument("--out", required=True, help="output model directory (written atomically at the end)")
    add_config_options(p, LaptConfig, required=("regime",))  # the settings, defaults and help: LaptConfig
    p.add_argument("--state-dir", help="resumable state directory (default: OUT.state); outside OUT")
    p.add_argument(
        "--on-state-change",
        choices=ON_CHANGE,
        default="refuse",
        help="when the state directory was written for another model, other texts or other settings: "
        "refuse (one line), or restart afresh",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out if it holds an earlier vocabswap output (other directories are never replaced)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from vocabswap.atomic import check_output_dir
    from vocabswap.lapt import run_lapt

    check_output_dir(args.out, overwrite=args.overwrite)
    require_input_files(args.train, args.dev)
    if args.freeze_fraction < 0 or args.freeze_fraction > 1:
        raise VocabswapError(f"--freeze-fraction must be in [0, 1], got {args.freeze_fraction}")
    config = config_from_args(LaptConfig, args)
    summary = run_lapt(
        args.model,
        args.train,
        args.dev,
        args.out,
        config,
        state_dir=args.state_dir,
        on_change=args.on_state_change,
        overwrite=args.overwrite,
    )
    brief = {k: summary[k] for k in ("out", "steps", "best_step", "best_dev_loss", "tokens_seen")}
    brief["flops"] = {k: summary["flops"][k] for k in ("executed", "paper")}
    if "best_dev_bpb" in summary:
        brief["best_dev_bpb"] = summary["best_dev_bpb"]
    brief["restarts"] = len(summary["restarts"])
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(brief))
