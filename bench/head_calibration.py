"""Does calibrating the base model's new MLM head make the initialisation methods' comparison cleaner?

The packaged multilingual-e5-small has no MLM head, so vocabswap adds a random one, and every model's MLM
loss at step 0 is partly that head's. This script measures, on a finished demo run (`snakemake --profile
profiles/local` in RUN): the dev MLM loss of the full-vocabulary base model and of every method's
initialised model, with the demo's head (as is) and after ``calibrate_head`` (tests/reference/)
on the demo's LAPT *train* split (the dev split is what is measured); optionally also after a short LAPT
of each, as the demo runs it. Every loss is measured here with one function and one seeded set of masks per
tokenizer, so the two columns differ only by the head.

    python bench/head_calibration.py RUN OUT [--steps 200] [--lapt-steps 16] [--lapt-methods M ...]

Writes OUT/head_calibration.{json,md} (and the calibrated base model under OUT/base).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from reference.head_calibration import CalibrationConfig, calibrate_head

from vocabswap.mlm import IGNORE_INDEX, MLMMasker, collate, encode_lines, read_lines

METHODS = (
    "random",
    "ident",
    "script",
    "script+posn",
    "script+ident",
    "script+posn+ident",
    "focus+ident",
    "mean",
    "fvt",
)


def dev_loss(model_dir: Path, dev: list[str], max_length: int = 64, seed: int = 1) -> float:
    """Mean MLM cross-entropy (nats) over the dev lines, masks seeded per tokenizer (as LAPT's step 0)."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    corpus = encode_lines(dev, tokenizer, max_length)
    masker = MLMMasker.for_tokenizer(tokenizer)
    generator = torch.Generator().manual_seed(seed)
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(corpus), 16):
            ids, mask = collate(
                corpus.sequences(np.arange(start, min(start + 16, len(corpus)))), tokenizer.pad_token_id
            )
            masked, labels = masker(ids, mask, generator)
            hidden = model.base_model(input_ids=masked, attention_mask=mask).last_hidden_state
            where = labels != IGNORE_INDEX
            logits = model.lm_head(hidden[where])
            total += float(torch.nn.functional.cross_entropy(logits, labels[where], reduction="sum"))
            count += int(where.sum())
    return total / count


def vocabswap(*args: str | Path) -> None:
    cmd = [str(Path(sys.executable).with_name("vocabswap")), *map(str, args)]
    subprocess.run(cmd, check=True, capture_output=True)


def calibrated_base(run: Path, out: Path, steps: int) -> dict:
    """Calibrate the demo's base model into OUT/base (reused, with its record, when already there)."""
    dest, saved = out / "base", out / "calibration.json"
    if saved.exists() and (dest / "model.safetensors").exists():
        return json.loads(saved.read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(run / "resources/base_model")
    model = AutoModelForMaskedLM.from_pretrained(run / "resources/base_model")
    record = calibrate_head(
        model, tokenizer, read_lines(run / "results/corpora/he/train.txt"), CalibrationConfig(steps=steps)
    )
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    saved.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def init_and_lapt(run: Path, base: Path, out: Path, method: str, lapt_steps: int) -> dict[str, float]:
    init = out / "init" / method
    vocabswap(
        "init",
        "--overwrite",
        "--base",
        base,
        "--tokenizer",
        run / "results/tokenizers/he/v4000",
        "--method",
        method,
        "--fasttext-model",
        run / "results/aux/he/v4000/fasttext.bin",
        "--seed",
        1,
        "--out",
        init,
    )
    if not lapt_steps:
        return {}
    lapt = out / "lapt-full" / method
    shutil.rmtree(lapt, ignore_errors=True)
    shutil.rmtree(lapt.with_name(lapt.name + ".state"), ignore_errors=True)
    corpora = run / "results/corpora/he"
    vocabswap(
        "lapt",
        "--model",
        init,
        "--train",
        corpora / "train.txt",
        "--dev",
        corpora / "dev.txt",
        "--regime",
        "full",
        "--out",
        lapt,
        "--steps",
        lapt_steps,
        "--batch-size",
        8,
        "--micro-batch-size",
        8,
        "--max-length",
        64,
        "--lr",
        1e-4,
        "--freeze-fraction",
        0.25,
        "--eval-every",
        8,
        "--log-every",
        4,
        "--seed",
        1,
    )
    log = json.loads((lapt / "lapt_log.json").read_text(encoding="utf-8"))
    return {"lapt_step0": log["dev_curve"][0]["dev_loss"], "lapt_best": log["best_dev_loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished demo run (its working directory)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--steps", type=int, default=200, help="calibration steps of 32 lines")
    parser.add_argument("--lapt-steps", type=int, default=16, help="LAPT-FULL steps per method (0: none)")
    parser.add_argument("--lapt-methods", nargs="*", default=list(METHODS), help="methods that get LAPT")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    dev = read_lines(args.run / "results/corpora/he/dev.txt")
    t0 = time.perf_counter()
    record = calibrated_base(args.run, args.out, args.steps)
    rows = {
        "full vocabulary": {
            "as_is": dev_loss(args.run / "resources/base_model", dev),
            "calibrated": dev_loss(args.out / "base", dev),
        }
    }
    for method in METHODS:
        steps = args.lapt_steps if method in args.lapt_methods else 0
        lapt = init_and_lapt(args.run, args.out / "base", args.out, method, steps)
        demo_log = args.run / f"results/models/he/v4000/lapt-full/{method}/lapt_log.json"
        rows[method] = {
            "as_is": dev_loss(args.run / f"results/models/he/v4000/init/{method}", dev),
            "calibrated": dev_loss(args.out / "init" / method, dev),
            "lapt_best_as_is": json.loads(demo_log.read_text(encoding="utf-8"))["best_dev_loss"],
            **{f"{k}_calibrated": v for k, v in lapt.items()},
        }
        print(method, rows[method], flush=True)
    result = {"calibration": record, "rows": rows, "seconds": round(time.perf_counter() - t0, 1)}
    (args.out / "head_calibration.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        "| model | step 0, head as is | step 0, head calibrated | best LAPT-FULL, as is | calibrated |",
        "|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        cells = [row["as_is"], row["calibrated"], row.get("lapt_best_as_is"), row.get("lapt_best_calibrated")]
        lines.append(f"| {name} | " + " | ".join("" if v is None else f"{v:.2f}" for v in cells) + " |")
    (args.out / "head_calibration.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
