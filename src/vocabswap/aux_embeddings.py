"""Auxiliary token embeddings for FOCUS: a fastText model on the target corpus tokenised by the new tokenizer.

The corpus is tokenised into SentencePiece pieces (``▁`` included, one sentence a line, pieces joined by
spaces), exactly the text deepfocus trains on, so a fastText "word" is a piece of the new vocabulary.
Defaults are deepfocus 1.0.1's (CBOW, dim 100, 3 epochs, min count 10, 10 negatives); the FOCUS paper's
older settings are :meth:`FastTextOptions.paper`. Training is seeded and single-threaded by default,
because fastText's Hogwild updates make multi-threaded training non-deterministic.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vocabswap.atomic import scratch_dir, write_json
from vocabswap.data.lines import text_lines
from vocabswap.errors import InputError, VocabswapError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FastTextOptions:
    """fastText training settings (deepfocus's defaults)."""

    dim: int = 100
    epochs: int = 3
    min_count: int = 10
    model: str = "cbow"  # deepfocus: CBOW "is more closely aligned with masked language modelling"
    neg: int = 10
    lr: float = 0.05  # fastText's starting learning rate (its default, which deepfocus keeps)
    threads: int = 1  # >1 is faster but not reproducible (Hogwild)
    bucket: int = 2_000_000  # fastText's subword hash buckets (its default; the .bin is ~bucket x dim floats)

    @classmethod
    def paper(cls) -> FastTextOptions:
        """The FOCUS version the paper used: dim 300, CBOW, 3 epochs, min count 1."""
        return cls(dim=300, epochs=3, min_count=1, model="cbow")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_corpus_lines(path: str | Path) -> Iterator[str]:
    """Yield the non-blank lines of a UTF-8 text file; raise a one-line error for a missing, empty or
    non-UTF-8 file (naming the line)."""
    path = Path(path)
    if not path.is_file():
        raise VocabswapError(f"auxiliary corpus {path} does not exist")
    yield from text_lines(
        path,
        invalid="not UTF-8 ({reason} at byte {start}); re-encode the auxiliary corpus as UTF-8",
        empty="the auxiliary corpus is empty; FOCUS needs target-language text",
    )


def check_corpus(path: str | Path) -> int:
    """Validate an auxiliary corpus up front (see :func:`read_corpus_lines`); return its line count."""
    return sum(1 for _ in read_corpus_lines(path))


def tokenise_corpus(
    corpus: str | Path, tokenizer: PreTrainedTokenizerBase, out: str | Path, *, batch_lines: int = 2048
) -> int:
    """Write ``corpus`` tokenised into pieces (space-joined, one line per input line) to ``out``."""
    n = 0
    with open(out, "w", encoding="utf-8") as handle:
        for batch in _batches(read_corpus_lines(corpus), batch_lines):
            encodings = tokenizer(batch, add_special_tokens=False)
            for ids in encodings["input_ids"]:
                handle.write(" ".join(tokenizer.convert_ids_to_tokens(ids)) + "\n")
                n += 1
    return n


def _batches(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


NAN_RETRIES = 3  # how many times train_fasttext halves the learning rate after fastText diverges


def train_fasttext(
    corpus: str | Path,
    tokenizer: PreTrainedTokenizerBase,
    *,
    options: FastTextOptions,
    seed: int = 1,
    save_to: str | Path | None = None,
) -> Any:
    """Train a fastText model on ``corpus`` tokenised by ``tokenizer``; optionally save it to ``save_to``
    (a ``.bin``) and its word vectors beside it (the same name with ``.vec``, which FOCUS loads fast).

    fastText stops with "Encountered NaN" when its weights diverge, and whether it does can differ between
    machines (the test suite's settings trained on one and diverged on another). A diverged run is
    retried from scratch with half the learning rate, up to :data:`NAN_RETRIES` times, each retry logged
    as a warning; the rate that trained the model is :func:`trained_lr` (fastText's ``.bin`` does not keep
    it, so ``save_to`` gets a ``.train.json`` beside it that :func:`load_fasttext` reads)."""
    with tempfile.TemporaryDirectory(prefix="vocabswap-fasttext-") as tmp:
        text = Path(tmp) / "tokenised.txt"
        tokenise_corpus(corpus, tokenizer, text)
        model = _train_with_retries(text, corpus, options, seed)
    if save_to is not None:
        model.save_model(str(save_to))
        save_vectors(model, Path(save_to).with_suffix(".vec"))
        write_json(_training_record(save_to), {"lr_trained": model.lr_trained})
    return model


def train_fasttext_on_tokenizer_text(
    corpora: Sequence[str | Path],
    tokenizer: PreTrainedTokenizerBase,
    *,
    options: FastTextOptions,
    limit_bytes: int,
    subset_bytes: int,
    seed: int = 1,
    save_to: str | Path | None = None,
) -> Any:
    """:func:`train_fasttext` on the very lines the tokenizer trained on (the paper's footnote 4: "trained
    on the same set as the vocabulary"): ``corpora``, ``limit_bytes``, ``subset_bytes`` and ``seed`` as
    given to :func:`vocabswap.tokenizer.train_tokenizer` (all of the text below ``limit_bytes``, else the
    same seeded subset)."""
    from vocabswap.tokenizer import write_training_text

    with tempfile.TemporaryDirectory(prefix="vocabswap-fasttext-text-") as tmp:
        text = Path(tmp) / "tokenizer_text.txt"
        corpora = [Path(c) for c in corpora]
        write_training_text(corpora, text, seed=seed, limit_bytes=limit_bytes, subset_bytes=subset_bytes)
        return train_fasttext(text, tokenizer, options=options, seed=seed, save_to=save_to)


def _train_with_retries(text: Path, corpus: str | Path, options: FastTextOptions, seed: int) -> Any:
    """fastText on the tokenised ``text``, halving the learning rate after each divergence (see
    :func:`train_fasttext`); ``corpus`` names the user's file in messages."""
    lr = options.lr
    for attempt in range(NAN_RETRIES + 1):
        model = _fit_unless_nan(text, corpus, options, lr, seed)
        if model is not None:
            return model
        if attempt < NAN_RETRIES:
            log.warning("fastText diverged (NaN) at lr %g on %s; retrying at lr %g", lr, corpus, lr / 2)
            lr /= 2
    raise VocabswapError(
        f"fastText diverged (NaN) on auxiliary corpus {corpus} at every learning rate from {options.lr:g} "
        f"down to {lr:g} ({options.epochs} epochs, dim {options.dim}); give fewer epochs or a lower "
        "learning rate (the workflow's init.focus.epochs and init.focus.lr)"
    )


def _fit_unless_nan(
    text: Path, corpus: str | Path, options: FastTextOptions, lr: float, seed: int
) -> Any | None:
    """One fastText run at learning rate ``lr``; None where it diverged ("Encountered NaN")."""
    try:
        return _train_unsupervised(
            input=str(text),
            model=options.model,
            dim=options.dim,
            epoch=options.epochs,
            lr=lr,
            minCount=options.min_count,
            neg=options.neg,
            thread=options.threads,
            bucket=options.bucket,
            seed=seed,
            verbose=0,
        )
    except ValueError as err:  # fastText: "Empty vocabulary. Try a smaller -minCount value."
        raise VocabswapError(
            f"auxiliary corpus {corpus} is too small for fastText: no piece occurs {options.min_count} "
            f"times ({err}); give more text or a lower min count"
        ) from err
    except RuntimeError as err:
        if "Encountered NaN" not in str(err):
            raise
        return None


def _train_unsupervised(**settings: Any) -> Any:
    """``fasttext.train_unsupervised`` with a ``seed``, run in a fresh Python process and loaded back.

    A fresh process because fastText 0.9.3 is not safe to train in one that other native code has used:
    after a SentencePiece training in the same process, the same fastText run on the same text stopped with
    "Encountered NaN" in some tries and not in others, at any learning rate (measured: 2 of 3 tries after
    ``SentencePieceTrainer.train``; 0 of 15 in fresh processes), the signature of memory read before it is
    written. The CI failure of stop 16 and a suite failure after the tokenizer's fixtures were this, not a
    divergence. The child writes the model to a ``.bin`` beside the input and exits 3 where fastText
    raised "Encountered NaN" (RuntimeError here, as before) and 4 for its "Empty vocabulary" (ValueError)."""
    import fasttext

    with scratch_dir(settings["input"]) as tmp:
        model_path = Path(tmp) / "model.bin"
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(settings), str(model_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        reason = child.stderr.strip().splitlines()[-1] if child.stderr.strip() else ""
        if child.returncode == 3:
            raise RuntimeError(f"Encountered NaN ({reason})")
        if child.returncode == 4:
            raise ValueError(reason)
        if child.returncode != 0:
            raise VocabswapError(
                f"fastText training on {settings['input']} failed: {reason or child.returncode}"
            )
        model = fasttext.load_model(str(model_path))
    model.lr_trained = float(settings["lr"])
    return model


# The child: fasttext 0.9.3's Python wrapper does not pass ``seed`` on, so the arguments are built as the
# wrapper builds them and handed to the C++ trainer directly.
_CHILD = """
import json, sys
from fasttext import FastText as ft
settings = json.loads(sys.argv[1])
args = {**ft.unsupervised_default, **settings}
built = ft._build_args(args, set(settings))
model = ft._FastText(args=built)
try:
    ft.fasttext.train(model.f, built)
except RuntimeError as err:
    print(err, file=sys.stderr)
    sys.exit(3 if "Encountered NaN" in str(err) else 1)
except ValueError as err:
    print(err, file=sys.stderr)
    sys.exit(4)
model.f.saveModel(sys.argv[2])
"""


def trained_lr(model: Any) -> float | None:
    """The learning rate a fastText model was trained at (see :func:`train_fasttext` for why it can be
    below the configured one); None where it is not known: word vectors read from a ``.vec``, or a ``.bin``
    without its ``.train.json`` (fastText's own file does not keep the rate)."""
    return getattr(model, "lr_trained", None)


def _training_record(bin_path: str | Path) -> Path:
    return Path(bin_path).with_suffix(".train.json")


class WordVectors:
    """In-dictionary fastText word vectors read from a ``.vec`` file (word2vec text format), with the
    part of the fastText model API that FOCUS uses. Loading them takes milliseconds, where a ``.bin``
    (with its 2M subword buckets, ~800 MB at dim 100) takes seconds."""

    def __init__(self, words: list[str], matrix: np.ndarray) -> None:
        self.words = words
        self.matrix = matrix
        self.index = {w: i for i, w in enumerate(words)}

    def get_words(self, on_unicode_error: str = "strict") -> list[str]:
        return self.words

    def get_dimension(self) -> int:
        return int(self.matrix.shape[1])

    def get_word_vector(self, word: str) -> np.ndarray:
        return self.matrix[self.index[word]]


def save_vectors(model: Any, path: str | Path) -> None:
    """Write the model's dictionary words and their vectors as a ``.vec`` file (what FOCUS needs)."""
    words = model.get_words(on_unicode_error="replace")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"{len(words)} {model.get_dimension()}\n")
        for word in words:
            handle.write(word + " " + " ".join(f"{v:.8g}" for v in model.get_word_vector(word)) + "\n")


def read_vectors(path: Path) -> WordVectors:
    """A fastText ``.vec`` file (a ``count dim`` header, then one word and its values per line)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        byte = err.object[err.start]
        raise InputError(path, line, f"not UTF-8 (byte {byte:#04x}); not a fastText .vec file") from None
    try:
        n, dim = (int(x) for x in lines[0].split())
        words = [line.split(" ", 1)[0] for line in lines[1 : n + 1]]
        values = np.array(
            " ".join(line.split(" ", 1)[1] for line in lines[1 : n + 1]).split(), dtype=np.float32
        )
        return WordVectors(words, values.reshape(n, dim))
    except (ValueError, IndexError) as err:
        raise VocabswapError(f"{path} is not a fastText .vec file ({err})") from err


def load_fasttext(path: str | Path) -> Any:
    """Load a fastText ``.bin`` model or a ``.vec`` file of its word vectors, with a one-line error for a
    missing or unreadable file."""
    import fasttext

    path = Path(path)
    if not path.is_file():
        raise VocabswapError(f"fastText model {path} does not exist")
    if path.suffix == ".vec":
        return read_vectors(path)
    try:
        model = fasttext.load_model(str(path))
    except Exception as err:  # the C++ loader raises ValueError/RuntimeError for a bad file
        raise VocabswapError(f"cannot load fastText model {path}: {err}") from err
    record = _training_record(path)
    if record.is_file():
        model.lr_trained = json.loads(record.read_text(encoding="utf-8")).get("lr_trained")
    return model


def token_vectors(model: Any, pieces: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """fastText vectors of ``pieces`` (float32, one row each) and a mask of the pieces that have one.

    As in deepfocus, a piece has a vector only if it is in the model's dictionary (it occurred at least
    ``min_count`` times) and that vector is not all zeros; the others get a zero row and ``False``.
    """
    words = model.get_words(on_unicode_error="replace")
    in_dict = set(words)
    dim = model.get_dimension()
    vectors = np.zeros((len(pieces), dim), dtype=np.float32)
    has = np.fromiter((p in in_dict for p in pieces), dtype=bool, count=len(pieces))
    idx = np.flatnonzero(has)
    if len(idx):
        vectors[idx] = np.stack([model.get_word_vector(pieces[i]) for i in idx])
        has[idx] &= np.abs(vectors[idx]).sum(axis=1) > 0
    return vectors, has


def subword_token_vectors(
    model: Any, pieces: Sequence[str], rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """fastText vectors of every piece, as FOCUS of May 2023 took them: ``get_word_vector`` of the ``.bin``
    model (a dictionary word's vector, else the sum of its character n-gram vectors), an all-zero vector
    (no n-gram known) replaced by a standard-normal one. Returns the vectors and how many were replaced."""
    if isinstance(model, WordVectors):
        raise VocabswapError(
            "paper-mode FOCUS needs the fastText .bin model (character n-gram vectors for pieces outside "
            "its dictionary), not a .vec file of word vectors"
        )
    vectors = np.stack([model.get_word_vector(p) for p in pieces]).astype(np.float32, copy=False)
    zero = ~vectors.any(axis=1)
    vectors[zero] = rng.standard_normal((int(zero.sum()), vectors.shape[1]), dtype=np.float32)
    return vectors, int(zero.sum())
