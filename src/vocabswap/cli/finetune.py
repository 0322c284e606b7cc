"""``vocabswap finetune``: one seed of POS or NER fine-tuning, written as a result JSON (SPEC §3, §4)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vocabswap.cli.options import add_config_options, config_from_args
from vocabswap.training_config import FinetuneConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a model directory on POS or NER for one seed; write the result JSON",
        description=(
            "Fine-tune MODEL (its whole body plus a linear layer over word vectors: an encoder's "
            "mean-pooled sub-words, a decoder's last sub-word) on the train.tsv of DATA, select the best "
            "dev epoch, and write its test score, the dev curve and the exact settings to OUT (JSON, "
            "atomically). Defaults are the paper's (Table 7, Appendix B)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="model directory (Hugging Face, with its tokenizer)")
    p.add_argument("--data", required=True, help="evaluation data dir: train.tsv, dev.tsv, test.tsv")
    p.add_argument("--out", required=True, help="result JSON")
    # The settings, defaults and help: FinetuneConfig.
    add_config_options(p, FinetuneConfig, required=("task", "seed"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from vocabswap.atomic import check_distinct, check_output_file
    from vocabswap.finetune import run_finetune

    inputs = [path for d in (args.data, args.model) if Path(d).is_dir() for path in Path(d).iterdir()]
    check_distinct({"--out": args.out}, inputs)
    check_output_file(args.out)
    if args.task == "ner":
        check_bio_dir(Path(args.data))
    config = config_from_args(FinetuneConfig, args)
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
