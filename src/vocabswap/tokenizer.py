"""SentencePiece unigram tokenizers in XLM-R's id layout, saved as Hugging Face tokenizer directories.

Every tokenizer vocabswap writes uses the fairseq/XLM-R layout: ``<s>`` 0, ``<pad>`` 1, ``</s>`` 2,
``<unk>`` 3, then the SentencePiece model's ordinary pieces in their SentencePiece order (SentencePiece id
k >= 3 becomes id k + 1), then ``<mask>`` last. The SentencePiece model itself keeps XLM-R's original
layout (``<unk>`` 0, ``<s>`` 1, ``</s>`` 2, no ``<pad>``/``<mask>``), which is the layout that
transformers' XLM-R converter expects, so the slow path (sentencepiece + converter) and ``tokenizer.json``
give the same ids, and ids equal embedding rows with no dead or duplicated id.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vocabswap.atomic import atomic_dir, scratch_dir
from vocabswap.data.lines import text_lines
from vocabswap.errors import VocabswapError, first_line, input_file_problem

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

BOS, PAD, EOS, UNK, MASK = "<s>", "<pad>", "</s>", "<unk>", "<mask>"
SPECIALS = (BOS, PAD, EOS, UNK, MASK)
SPECIAL_IDS = {BOS: 0, PAD: 1, EOS: 2, UNK: 3}  # <mask> is the last id
SPM_MODEL_NAME = "sentencepiece.bpe.model"  # the file name XLMRobertaTokenizer looks for
MODEL_MAX_LENGTH = 512  # XLM-R's 514 positions minus the padding_idx + 1 offset

# SentencePiece skips longer training lines (its max_sentence_length, in bytes); vocabswap drops and counts
# them itself, so that a corpus of only such lines fails with a clear message, not SentencePiece's INTERNAL.
MAX_SENTENCE_BYTES = 4192
MAX_VOCAB_SIZE = 2**31 - 3  # SentencePiece's vocab_size is an int32; the HF tokenizer adds 2 ids
MIN_VOCAB_SIZE = 8
# Paper §4: "all data below 1 GB, else a ~250 MB random subset".
FULL_TEXT_LIMIT_BYTES = 1_000_000_000
SUBSET_BYTES = 250_000_000


@functools.cache
def nmt_nfkc_charsmap() -> bytes:
    """SentencePiece's built-in ``nmt_nfkc`` normalisation rule as a precompiled charsmap.

    SentencePiece compiles the rule only when training, so train a throw-away character model in memory
    (milliseconds) and take the charsmap from its normalizer spec.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["a b"]),
        model_writer=buf,
        model_type="char",
        vocab_size=5,
        hard_vocab_limit=False,
        normalization_rule_name="nmt_nfkc",
        minloglevel=2,
        num_threads=1,
    )
    proto = sp_pb2.ModelProto()
    proto.ParseFromString(buf.getvalue())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def spm_proto_from_fairseq(pieces: Sequence[str], scores: Sequence[float]) -> bytes:
    """A serialised SentencePiece unigram model in XLM-R's layout from fairseq-ordered pieces and scores.

    ``pieces`` must start with ``<s> <pad> </s> <unk>`` and end with ``<mask>``; the normaliser is
    ``nmt_nfkc`` with its precompiled charsmap, as in XLM-R's own ``sentencepiece.bpe.model``.
    """
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    if tuple(pieces[:4]) != (BOS, PAD, EOS, UNK) or pieces[-1] != MASK:
        raise VocabswapError(
            f"pieces are not in the fairseq/XLM-R layout (<s> <pad> </s> <unk> ... <mask>): "
            f"first {list(pieces[:4])}, last {pieces[-1]!r}"
        )
    proto = sp_pb2.ModelProto()
    types = sp_pb2.ModelProto.SentencePiece
    for piece, kind in ((UNK, types.UNKNOWN), (BOS, types.CONTROL), (EOS, types.CONTROL)):
        proto.pieces.add(piece=piece, score=0.0, type=kind)
    for piece, score in zip(pieces[4:-1], scores[4:-1], strict=True):
        proto.pieces.add(piece=piece, score=float(score), type=types.NORMAL)
    ts = proto.trainer_spec
    ts.model_type = sp_pb2.TrainerSpec.UNIGRAM
    ts.vocab_size = len(proto.pieces)
    ts.unk_id, ts.bos_id, ts.eos_id, ts.pad_id = 0, 1, 2, -1
    ts.unk_piece, ts.bos_piece, ts.eos_piece = UNK, BOS, EOS
    ts.byte_fallback = False
    ns = proto.normalizer_spec
    ns.name = "nmt_nfkc"
    ns.precompiled_charsmap = nmt_nfkc_charsmap()
    ns.add_dummy_prefix = True
    ns.remove_extra_whitespaces = True
    ns.escape_whitespaces = True
    return proto.SerializeToString()


def fairseq_vocab_from_spm(spm_model: bytes) -> tuple[list[tuple[str, float]], bytes]:
    """(fairseq-ordered (piece, score) list, charsmap) of a SentencePiece model in XLM-R's layout."""
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    proto = sp_pb2.ModelProto()
    proto.ParseFromString(spm_model)
    head = [p.piece for p in proto.pieces[:3]]
    if head != [UNK, BOS, EOS]:
        raise VocabswapError(f"SentencePiece model is not in XLM-R's layout (<unk> <s> </s> first): {head}")
    vocab = [(BOS, 0.0), (PAD, 0.0), (EOS, 0.0), (UNK, 0.0)]
    vocab += [(p.piece, float(p.score)) for p in proto.pieces[3:]]
    vocab.append((MASK, 0.0))
    return vocab, bytes(proto.normalizer_spec.precompiled_charsmap)


def write_hf_tokenizer(out: Path, spm_model: bytes) -> PreTrainedTokenizerBase:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and the SentencePiece model into ``out``.

    Returns the tokenizer, already checked for dense ids in XLM-R's layout.
    """
    from transformers import XLMRobertaTokenizer

    vocab, charsmap = fairseq_vocab_from_spm(spm_model)
    tok = XLMRobertaTokenizer(
        vocab=vocab, _spm_precompiled_charsmap=charsmap, model_max_length=MODEL_MAX_LENGTH
    )
    check_dense_ids(tok, out)
    try:
        tok.save_pretrained(str(out))
    except OSError:
        raise
    except Exception as err:  # the tokenizers library reports a failed write (a full disk) as Exception
        raise VocabswapError(f"{out}: cannot write the tokenizer files: {first_line(err)}") from err
    (out / SPM_MODEL_NAME).write_bytes(spm_model)
    return tok


def check_dense_ids(tok: PreTrainedTokenizerBase, where: str | Path) -> None:
    """Raise unless ids are exactly 0..len(tok)-1, each used once, with the specials at XLM-R's ids."""
    vocab = tok.get_vocab()
    n = len(tok)
    ids = sorted(vocab.values())
    if len(vocab) != n or ids != list(range(n)):
        raise VocabswapError(
            f"{where}: tokenizer ids are not a dense range 0..{n - 1} "
            f"(len {n}, {len(vocab)} distinct pieces, ids {ids[:2]}..{ids[-2:]})"
        )
    expected = {**SPECIAL_IDS, MASK: n - 1}
    actual = {s: vocab.get(s) for s in SPECIALS}
    if actual != expected:
        raise VocabswapError(f"{where}: special tokens at {actual}, expected {expected}")


# --------------------------------------------------------------------------------------------------------
# training


def _check_corpora(corpora: Sequence[Path]) -> int:
    """Validate the corpus files (exist, UTF-8, not blank); return their total size in bytes."""
    if not corpora:
        raise VocabswapError("no training corpus given")
    total = 0
    for path in corpora:
        problem = input_file_problem(path)
        if problem:
            raise VocabswapError(f"corpus file {path} {problem}")
        lines = text_lines(path, invalid="not UTF-8 ({reason} at byte {start}); re-encode the corpus")
        if sum(1 for _ in lines) == 0:  # reads every line: each must decode
            raise VocabswapError(f"corpus file {path} is empty (no non-blank line)")
        total += path.stat().st_size
    return total


def _training_lines(corpora: Sequence[Path], dropped: dict[str, int]) -> Iterator[str]:
    """Non-blank lines; lines with NUL or over ``MAX_SENTENCE_BYTES`` are dropped and counted."""
    for path in corpora:
        for line in text_lines(path, split_cr=True):
            if "\0" in line:
                dropped["nul"] += 1
            elif len(line.encode("utf-8")) > MAX_SENTENCE_BYTES:
                dropped["too_long"] += 1
            else:
                yield line


def write_training_text(
    corpora: Sequence[Path], dest: Path, *, seed: int, limit_bytes: int, subset_bytes: int
) -> tuple[int, dict[str, int]]:
    """Write the training text to ``dest``: everything below ``limit_bytes``, else a seeded random subset.
    The same arguments write the same lines: FOCUS's fastText trains on exactly the tokenizer's text.

    The subset streams: each line is kept with probability subset_bytes / total_bytes (Bernoulli sampling
    with a seeded generator), so memory stays constant. Returns the number of lines written and the counts
    of dropped lines (``nul``: with a NUL character; ``too_long``: over SentencePiece's maximum length).
    """
    total = sum(p.stat().st_size for p in corpora)
    keep = 1.0 if total < limit_bytes else subset_bytes / total
    rng = random.Random(seed)
    n = 0
    dropped = {"nul": 0, "too_long": 0}
    with open(dest, "w", encoding="utf-8") as out:
        for line in _training_lines(corpora, dropped):
            if keep < 1.0 and rng.random() >= keep:
                continue
            out.write(line + "\n")
            n += 1
    for why, count in dropped.items():
        if count:
            log.warning("dropped %d training lines (%s)", count, _DROP_REASONS[why])
    if keep < 1.0:
        log.info(
            "training text %.0f MB > %.0f MB: kept a seeded random %.1f%% (%d lines)",
            total / 1e6,
            limit_bytes / 1e6,
            100 * keep,
            n,
        )
    return n, dropped


_DROP_REASONS = {
    "nul": "with a NUL character",
    "too_long": f"longer than SentencePiece's maximum of {MAX_SENTENCE_BYTES} bytes",
}


def _spm_error(err: RuntimeError, names: str, vocab_size: int, character_coverage: float) -> VocabswapError:
    """SentencePiece's training error as one line that names the text and says what to change."""
    msg = str(err)
    if "Vocabulary size too high" in msg:
        limit = _int_after(msg, r"Please set it to a value <= (\d+)")
        hint = f" (at most {limit} for this text)" if limit else ""
        if limit is not None and limit < MIN_VOCAB_SIZE:
            return VocabswapError(
                f"the text in {names} supports at most {limit} pieces, below the minimum vocabulary "
                f"size of {MIN_VOCAB_SIZE}; give more text"
            )
        return VocabswapError(
            f"vocabulary size {vocab_size} is larger than the text in {names} supports{hint}; "
            f"use a smaller --vocab-size or more text"
        )
    if "smaller than required_chars" in msg:
        need = _int_after(msg, r"\d+ vs (\d+)")
        return VocabswapError(
            f"vocabulary size {vocab_size} is too small: the characters that coverage "
            f"{character_coverage} keeps from {names} need at least {need or 'more'} pieces"
        )
    return VocabswapError(f"SentencePiece training on {names} failed: {msg.strip()}")


def _train_spm(
    text: Path,
    names: str,
    vocab_size: int,
    *,
    seed: int,
    character_coverage: float,
    max_sentences: int | None,
    num_threads: int,
) -> bytes:
    """SentencePiece's unigram model (XLM-R's piece layout) trained on the file ``text``, seeded."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.set_random_generator_seed(seed)
    try:
        spm.SentencePieceTrainer.train(
            input=str(text),
            model_writer=model,
            model_type="unigram",
            vocab_size=vocab_size,
            character_coverage=character_coverage,
            normalization_rule_name="nmt_nfkc",
            unk_id=0,
            bos_id=1,
            eos_id=2,
            pad_id=-1,
            input_sentence_size=max_sentences or 0,
            shuffle_input_sentence=bool(max_sentences),
            num_threads=num_threads,
            max_sentence_length=MAX_SENTENCE_BYTES,
            train_extremely_large_corpus=False,
            minloglevel=2,
        )
    except RuntimeError as err:
        raise _spm_error(err, names, vocab_size, character_coverage) from err
    return model.getvalue()


def train_tokenizer(
    corpora: Sequence[str | Path],
    vocab_size: int,
    out: str | Path,
    *,
    seed: int = 1,
    character_coverage: float = 0.999,
    max_sentences: int | None = None,
    full_text_limit_bytes: int = FULL_TEXT_LIMIT_BYTES,
    subset_bytes: int = SUBSET_BYTES,
    num_threads: int = 1,
    overwrite: bool = True,
) -> Path:
    """Train a SentencePiece unigram tokenizer and save it as an HF tokenizer directory at ``out`` (an
    earlier vocabswap output there is replaced only with ``overwrite``, checked again at the end).

    ``vocab_size`` counts SentencePiece pieces including ``<unk> <s> </s>``, as XLM-R's 250,000 pieces
    do; the HF tokenizer adds ``<pad>`` and ``<mask>``, so it has ``vocab_size + 2`` ids (the paper's
    32,768 pieces -> 32,770 rows). The same inputs, seed and ``num_threads`` give byte-identical files:
    the training text is written in a fixed order, SentencePiece's generator is seeded, and it samples no
    input sentences unless ``max_sentences`` asks it to (then seeded too). ``num_threads`` changes the
    result slightly (the EM sums run in another order: 1 of 8,000 Hebrew pieces differs), so pin it.
    """
    corpora = [Path(p) for p in corpora]
    out = Path(out)
    if vocab_size < MIN_VOCAB_SIZE:
        raise VocabswapError(
            f"vocabulary size {vocab_size} is too small (need at least {MIN_VOCAB_SIZE} pieces)"
        )
    if vocab_size > MAX_VOCAB_SIZE:
        raise VocabswapError(f"vocabulary size {vocab_size} is too large (at most {MAX_VOCAB_SIZE} pieces)")
    _check_corpora(corpora)
    names = ", ".join(str(p) for p in corpora)
    with scratch_dir(out) as tmp:  # beside the output: a killed run's copy is reaped by the next
        text = Path(tmp) / "train.txt"
        n_lines, dropped = write_training_text(
            corpora, text, seed=seed, limit_bytes=full_text_limit_bytes, subset_bytes=subset_bytes
        )
        if n_lines == 0:
            why = "; ".join(f"{c} lines {_DROP_REASONS[k]} dropped" for k, c in dropped.items() if c)
            raise VocabswapError(f"no text left to train on in {names}" + (f" ({why})" if why else ""))
        model = _train_spm(
            text,
            names,
            vocab_size,
            seed=seed,
            character_coverage=character_coverage,
            max_sentences=max_sentences,
            num_threads=num_threads,
        )
    with atomic_dir(out, overwrite=overwrite) as tmp_out:
        write_hf_tokenizer(tmp_out, _strip_run_specific(model))
        _write_train_manifest(tmp_out, corpora, vocab_size, seed, character_coverage, n_lines, dropped)
    return out


def _strip_run_specific(spm_model: bytes) -> bytes:
    """Drop the temporary input path SentencePiece records, so that equal inputs give equal bytes."""
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    proto = sp_pb2.ModelProto()
    proto.ParseFromString(spm_model)
    del proto.trainer_spec.input[:]
    proto.trainer_spec.model_prefix = ""
    return proto.SerializeToString()


def _int_after(msg: str, pattern: str) -> int | None:
    import re

    m = re.search(pattern, msg)
    return int(m.group(1)) if m else None


def _write_train_manifest(
    out: Path,
    corpora: Sequence[Path],
    vocab_size: int,
    seed: int,
    character_coverage: float,
    n_lines: int,
    dropped: dict[str, int],
) -> None:
    from vocabswap import __version__

    manifest = {
        "kind": "sentencepiece-unigram",
        "corpora": [os.fspath(p) for p in corpora],
        "spm_vocab_size": vocab_size,
        "hf_vocab_size": vocab_size + 2,
        "seed": seed,
        "character_coverage": character_coverage,
        "training_lines": n_lines,
        "dropped_lines": dropped,
        "vocabswap_version": __version__,
    }
    (out / "vocabswap_tokenizer.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
