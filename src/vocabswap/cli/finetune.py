"""``vocabswap finetune``: one seed of POS or NER fine-tuning, written as a result JSON (SPEC §3, §4)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a model directory on POS or NER for one seed; write the result JSON",
        description=(
            "Fine-tune MODEL (the whole encoder plus a linear layer over mean-pooled sub-words) on the "
            "train.tsv of DATA, select the best dev epoch, and write its test score, the dev curve and the "
            "exact settings to OUT (JSON, atomically). Defaults are the paper's (Table 7, Appendix B)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="model directory (Hugging Face, with its tokenizer)")
    p.add_argument("--task", required=True, choices=("pos", "ner"))
    p.add_argument("--data", required=True, help="evaluation data dir: train.tsv, dev.tsv, test.tsv")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="result JSON")
    p.add_argument("--lr", type=float, default=5e-6, help="Adam learning rate (constant)")
    p.add_argument("--batch-size", type=int, default=72, help="sequences per step")
    p.add_argument(
        "--max-length",
        type=int,
        default=256,
        help="sub-words per sequence incl. specials; longer sentences are split into windows of whole words",
    )
    p.add_argument(
        "--max-epochs", type=int, default=None, help="default 64 for pos, 32 for ner (the paper's configs)"
    )
    p.add_argument("--eval-every", type=int, default=2, help="epochs between dev evaluations")
    p.add_argument(
        "--patience",
        type=int,
        default=None,
        help="epochs without dev gain before stopping (default 8 for pos, 4 for ner)",
    )
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument(
        "--train-cap", type=int, default=32_768, help="at most N training sentences, a random subset per seed"
    )
    p.add_argument("--dropout", type=float, default=0.0, help="before the linear layer (the paper's: none)")
    p.add_argument(
        "--paper-compat",
        action="store_true",
        help=(
            "the paper code's quirks: double softmax, batch-concatenated seqeval scoring, no attention "
            "mask, and its early stopping (patience in evaluations, ties improve)"
        ),
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--no-bf16", dest="bf16", action="store_false", help="fp32 on GPU (CPU is always fp32)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from vocabswap.atomic import check_output_file
    from vocabswap.finetune import FinetuneConfig, run_finetune

    check_output_file(args.out)
    if args.task == "ner":
        check_bio_dir(Path(args.data))
    config = FinetuneConfig(
        task=args.task,
        seed=args.seed,
        lr=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        max_epochs=args.max_epochs,
        eval_every=args.eval_every,
        patience=args.patience,
        max_grad_norm=args.max_grad_norm,
        train_cap=args.train_cap,
        dropout=args.dropout,
        paper_compat=args.paper_compat,
        device=args.device,
        bf16=args.bf16,
    )
    result = run_finetune(args.model, args.data, args.out, config)
    keys = ("task", "metric", "score", "best_epoch", "epochs_run", "seed", "unseen_labels")
    print(json.dumps({k: result[k] for k in keys}))


def check_bio_dir(data_dir: Path) -> None:
    """Every tag sequence in the train/dev/test.tsv of ``data_dir`` is BIO (O, B-X, I-X continuing X)."""
    from vocabswap.data.ner import TagError, validate_bio
    from vocabswap.data.tagged import read_tagged
    from vocabswap.errors import InputError

    for split in ("train", "dev", "test"):
        path = data_dir / f"{split}.tsv"
        if not path.is_file():
            continue  # the fine-tuning names a missing split itself
        for i, (_, tags) in enumerate(read_tagged(path), 1):
            try:
                validate_bio(tags)
            except TagError as err:
                raise InputError(path, None, f"sentence {i}: {err}; --task ner needs BIO tags") from None
