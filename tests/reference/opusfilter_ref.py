"""The paper's cleaning run through OpusFilter itself: the reference that ``clean.py`` must match.

Needs the ``opusfilter`` package (a test dependency). The English step is a separate ``filter`` step with
``filterfalse: true`` (LanguageIDFilter accepts lines whose English probability is above the threshold;
the paper dropped those), so OpusFilter reorders lines inside its chunks there: compare as sets.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vocabswap.data.clean import CleanParams
from vocabswap.data.lid import lid_model_path


@contextlib.contextmanager
def _fasttext_numpy2() -> Iterator[None]:
    """fasttext 0.9.3's ``predict`` calls ``np.array(x, copy=False)``, which NumPy 2 rejects; same result."""
    import fasttext.FastText as ft
    import numpy as np

    original = ft._FastText.predict

    def predict(self, text, k=1, threshold=0.0, on_unicode_error="strict"):
        if isinstance(text, list):
            return original(self, text, k, threshold, on_unicode_error)
        if "\n" in text:
            raise ValueError("predict processes one line at a time (remove '\\n')")
        predictions = self.f.predict(text + "\n", k, threshold, on_unicode_error)
        probs, labels = zip(*predictions, strict=True) if predictions else ([], ())
        return labels, np.asarray(probs)

    ft._FastText.predict = predict
    try:
        yield
    finally:
        ft._FastText.predict = original


def opusfilter_config(inp: str, out: str, params: CleanParams) -> dict[str, Any]:
    """The OpusFilter YAML config (as a dict) equivalent to ``params``; paths relative to the workdir."""
    steps: list[dict[str, Any]] = []
    current = inp
    if params.dedup:
        steps.append(
            {
                "type": "remove_duplicates",
                "parameters": {
                    "inputs": [current],
                    "outputs": ["dedup.txt"],
                    "lowercase": True,
                    "letters_only": True,
                },
            }
        )
        current = "dedup.txt"
    if params.filter_english:
        steps.append(
            {
                "type": "filter",
                "parameters": {
                    "inputs": [current],
                    "outputs": ["not_english.txt"],
                    "filterfalse": True,
                    "filters": [
                        {
                            "LanguageIDFilter": {
                                "languages": ["en"],
                                "id_method": "fasttext",
                                "thresholds": [params.english_threshold],
                                "fasttext_model_path": str(lid_model_path()),
                            }
                        }
                    ],
                },
            }
        )
        current = "not_english.txt"
    steps.append(
        {
            "type": "filter",
            "parameters": {
                "inputs": [current],
                "outputs": [out],
                "filters": [
                    # Only what the paper set; OpusFilter's defaults supply the rest (max 100 words, min 2).
                    {"LengthFilter": {"min_length": params.min_words, "unit": "word"}},
                    {"AverageWordLengthFilter": {"max_length": params.max_avg_word_length}},
                    {"LongWordFilter": {"threshold": params.long_word_threshold}},
                    {"AlphabetRatioFilter": {"threshold": params.alphabet_ratio}},
                ],
            },
        }
    )
    return {"common": {"output_directory": "."}, "steps": steps}


def run_opusfilter(in_path: str | Path, out_path: str | Path, params: CleanParams | None = None) -> None:
    """Clean ``in_path`` with OpusFilter (the paper's chain) into ``out_path``."""
    from opusfilter.opusfilter import OpusFilter

    params = params or CleanParams()
    logging.getLogger("opusfilter").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="opusfilter-") as work:
        work_path = Path(work)
        shutil.copyfile(in_path, work_path / "input.txt")
        config = opusfilter_config("input.txt", "output.txt", params)
        config["common"]["output_directory"] = str(work_path)
        with _fasttext_numpy2():
            OpusFilter(config).execute_steps(overwrite=True)
        shutil.copyfile(work_path / "output.txt", out_path)
