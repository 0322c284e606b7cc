"""``vocabswap train-tokenizer``: a SentencePiece unigram tokenizer, or one of BASE's kind (``--like``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vocabswap.cli.options import add_output_options, seed_arg


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train-tokenizer",
        help="train a SentencePiece unigram tokenizer (XLM-R id layout) as an HF tokenizer directory",
        description=(
            "Train a SentencePiece unigram model (nmt_nfkc normalisation) on the given corpora and save it "
            "as a Hugging Face tokenizer directory in XLM-R's id layout: <s> 0, <pad> 1, </s> 2, <unk> 3, "
            "pieces, <mask> last; the tokenizer has VOCAB_SIZE + 2 ids. Text above 1 GB is subsampled to "
            "~250 MB with the seed. With --like BASE the tokenizer is of BASE's kind: SentencePiece "
            "unigram as above for XLM-R-family bases; for a byte-level BPE base (SmolLM2) a byte-level BPE "
            "with BASE's pre-tokenizer, normaliser, special tokens (first, at BASE's ids and roles) and "
            "chat template, VOCAB_SIZE ids in all."
        ),
    )
    parser.add_argument("--corpus", required=True, nargs="+", type=Path, metavar="F", help="UTF-8 text files")
    parser.add_argument(
        "--vocab-size",
        required=True,
        type=int,
        metavar="N",
        help="SentencePiece pieces including <unk> <s> </s> (the paper: 32768); for a byte-level BPE "
        "(--like a decoder) every id: specials, 256 bytes and the merges",
    )
    parser.add_argument(
        "--like",
        type=Path,
        metavar="BASE",
        help="base model (or tokenizer) directory whose tokenizer kind to train (default: SentencePiece)",
    )
    parser.add_argument("--seed", type=seed_arg, default=1, metavar="S", help="random seed (default 1)")
    parser.add_argument(
        "--character-coverage",
        type=float,
        default=0.999,
        metavar="C",
        help="SentencePiece character coverage (default 0.999, the paper's; SentencePiece only)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="SentencePiece training threads (default 1; results depend on it; SentencePiece only)",
    )
    add_output_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> None:
    from vocabswap.atomic import check_output_dir
    from vocabswap.tokenizer import train_tokenizer
    from vocabswap.tokenizer_like import train_tokenizer_like

    check_output_dir(args.out, overwrite=args.overwrite)
    options = {"seed": args.seed, "character_coverage": args.character_coverage, "num_threads": args.threads}
    if args.like is None:
        train_tokenizer(args.corpus, args.vocab_size, args.out, overwrite=args.overwrite, **options)
    else:
        train_tokenizer_like(
            args.corpus, args.vocab_size, args.out, like=args.like, overwrite=args.overwrite, **options
        )
