"""Helpers for the re-initialisation tests: a loaded base model + tokenizer context, cached per process."""

from __future__ import annotations

import functools
import site
from pathlib import Path

import numpy as np

from vocabswap import surgery
from vocabswap.modeldir import load_tokenizer
from vocabswap.reinit import make_context
from vocabswap.reinit.core import Context


@functools.cache
def context(base_dir: Path, tokenizer_dir: Path) -> Context:
    """The reinit context of a real base model and a real tokenizer (loading the 250k base takes seconds,
    so every test module shares one per pair)."""
    model, base_tok = surgery.load_base(base_dir)
    return make_context(model, base_tok, load_tokenizer(tokenizer_dir, xlmr_ids=True))


def turkish_text(dest: Path) -> Path:
    """Raw Turkish text: the `# text =` lines of the Google Turkish web treebank (turkish-treebanks)."""
    lines = []
    for root in site.getsitepackages():
        path = Path(root) / "data" / "web.conllu"
        if path.is_file():
            lines = [
                raw[len("# text = ") :].rstrip("\n")
                for raw in path.open(encoding="utf-8")
                if raw.startswith("# text = ")
            ]
            break
    if not lines:
        raise FileNotFoundError("turkish-treebanks' data/web.conllu is not installed")
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest


def base_category_stats(ctx: Context, codes: np.ndarray, code: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Reference per-dimension mean and unbiased std (float64) of the base rows of one category."""
    rows = ctx.base_emb[ctx.ordinary_base_rows[codes == code]].astype(np.float64)
    return rows.mean(axis=0), rows.std(axis=0, ddof=1), len(rows)


def assert_normal_sample(sample: np.ndarray, mean: np.ndarray, std: np.ndarray, what: str) -> None:
    """``sample`` rows look drawn from N(mean, diag(std^2)): the standardised sample mean of each dimension
    is N(0, 1/n) and the std ratio is 1 +- O(1/sqrt(2n)); the bounds are ~6 sigma over all dimensions."""
    n = len(sample)
    assert n >= 30, f"{what}: too few rows ({n}) to test"
    z = (sample.mean(axis=0) - mean) / (std / np.sqrt(n))
    assert np.abs(z).max() < 6, f"{what}: sample mean off by {np.abs(z).max():.1f} standard errors"
    assert abs(float((z**2).mean()) - 1) < 6 * np.sqrt(2 / len(z)) + 0.05, (
        f"{what}: mean z^2 {(z**2).mean():.2f}"
    )
    ratio = sample.std(axis=0, ddof=1) / std
    assert np.abs(ratio - 1).max() < 6 / np.sqrt(2 * (n - 1)), (
        f"{what}: std ratio {ratio.min():.3f}..{ratio.max():.3f}"
    )
