"""A new tokenizer of the base model's kind (``vocabswap train-tokenizer --like BASE``).

The kind is read from BASE's ``tokenizer.json`` (:func:`vocabswap.family.tokenizer_kind`):

- SentencePiece unigram (XLM-R, multilingual-e5): :func:`vocabswap.tokenizer.train_tokenizer`, unchanged
  (``vocab_size`` counts SentencePiece pieces; the HF tokenizer has two more ids).
- byte-level BPE (SmolLM2 and other GPT-2-style decoders): the ``tokenizers`` library's BPE trainer on
  the same training text, with BASE's normaliser, pre-tokenizer (SmolLM2: digits split one by one, then
  the GPT-2 byte-level split), decoder and post-processor, the full 256-symbol byte alphabet (every text
  encodes, nothing is unknown), and BASE's special tokens first, in BASE's order, so that they keep
  BASE's ids and roles (bos, eos, unk, pad as BASE's ``tokenizer_config.json`` names them; the chat
  template is copied too). ``vocab_size`` counts every id: specials + 256 bytes + merges = embedding rows.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vocabswap.atomic import atomic_dir, scratch_dir
from vocabswap.errors import VocabswapError, first_line
from vocabswap.family import BYTE_LEVEL_BPE, SENTENCEPIECE_UNIGRAM, tokenizer_kind
from vocabswap.tokenizer import (
    FULL_TEXT_LIMIT_BYTES,
    SUBSET_BYTES,
    _check_corpora,
    train_tokenizer,
    write_training_text,
)

log = logging.getLogger(__name__)

BYTE_ALPHABET = 256
MANIFEST = "vocabswap_tokenizer.json"
CHAT_TEMPLATE = "chat_template.jinja"
ROLES = ("bos_token", "eos_token", "unk_token", "pad_token")  # HF tokenizer_config keys copied from BASE


def train_tokenizer_like(
    corpora: Sequence[str | Path],
    vocab_size: int,
    out: str | Path,
    *,
    like: str | Path,
    seed: int = 1,
    overwrite: bool = True,
    full_text_limit_bytes: int = FULL_TEXT_LIMIT_BYTES,
    subset_bytes: int = SUBSET_BYTES,
    **spm_options: Any,
) -> Path:
    """Train a tokenizer of ``like``'s kind on ``corpora`` into ``out`` (see the module docstring).

    Both kinds read the same training text (``full_text_limit_bytes``, ``subset_bytes``: all of it up to
    the limit, else a seeded subset); ``spm_options`` (character_coverage, num_threads, ...) go to the
    SentencePiece trainer only."""
    like = Path(like)
    if not like.is_dir():
        raise VocabswapError(f"--like {like}: not a directory; give a base model or tokenizer directory")
    kind = tokenizer_kind(like)
    text = {"seed": seed, "full_text_limit_bytes": full_text_limit_bytes, "subset_bytes": subset_bytes}
    if kind == SENTENCEPIECE_UNIGRAM:
        return train_tokenizer(corpora, vocab_size, out, overwrite=overwrite, **text, **spm_options)
    assert kind == BYTE_LEVEL_BPE
    return train_byte_level_bpe(corpora, vocab_size, out, like=like, overwrite=overwrite, **text)


def _base_spec(like: Path) -> tuple[dict, dict]:
    """(BASE's tokenizer.json, its tokenizer_config.json) as dicts."""
    spec = json.loads((like / "tokenizer.json").read_text(encoding="utf-8"))
    config_path = like / "tokenizer_config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    except ValueError as err:
        raise VocabswapError(f"{config_path}: not valid JSON: {first_line(err)}") from err
    template = like / CHAT_TEMPLATE  # transformers 5 saves the chat template beside tokenizer_config.json
    if "chat_template" not in config and template.is_file():
        config["chat_template"] = template.read_text(encoding="utf-8")
    return spec, config


def base_specials(spec: dict) -> list[str]:
    """BASE's special added tokens in id order (they must be its first ids, as in SmolLM2)."""
    specials = sorted((t["id"], t["content"]) for t in spec.get("added_tokens", []) if t.get("special"))
    ids = [i for i, _ in specials]
    if ids != list(range(len(ids))):
        raise VocabswapError(f"the base's special tokens are not its first ids (ids {ids[:8]}...)")
    return [content for _, content in specials]


def _new_backend(spec: dict) -> Any:
    """An empty byte-level BPE with BASE's normaliser, pre-tokenizer, decoder and post-processor."""
    from tokenizers import Tokenizer

    model = spec["model"]
    empty = {
        **spec,
        "added_tokens": [],
        "model": {**model, "vocab": {}, "merges": [], "dropout": None, "unk_token": None},
    }
    return Tokenizer.from_str(json.dumps(empty))


def _train_bpe(text: Path, spec: dict, specials: list[str], vocab_size: int, names: str) -> Any:
    from tokenizers import pre_tokenizers, trainers

    backend = _new_backend(spec)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train([str(text)], trainer)
    reached = backend.get_vocab_size(with_added_tokens=True)
    if reached < vocab_size:
        raise VocabswapError(
            f"vocabulary size {vocab_size} is larger than the text in {names} supports (at most "
            f"{reached} ids: {len(specials)} specials, {BYTE_ALPHABET} bytes and every merge it has); use "
            "a smaller --vocab-size or more text"
        )
    return backend


def train_byte_level_bpe(
    corpora: Sequence[str | Path],
    vocab_size: int,
    out: str | Path,
    *,
    like: Path,
    seed: int = 1,
    full_text_limit_bytes: int = FULL_TEXT_LIMIT_BYTES,
    subset_bytes: int = SUBSET_BYTES,
    overwrite: bool = True,
) -> Path:
    """A byte-level BPE of ``vocab_size`` ids in BASE's layout (module docstring), written to ``out`` (an
    earlier vocabswap output there is replaced only with ``overwrite``, checked again at the end)."""
    corpora = [Path(p) for p in corpora]
    spec, config = _base_spec(like)
    specials = base_specials(spec)
    smallest = len(specials) + BYTE_ALPHABET + 1
    if vocab_size < smallest:
        raise VocabswapError(
            f"vocabulary size {vocab_size} is too small for a byte-level BPE like {like} (need at least "
            f"{smallest}: {len(specials)} specials, {BYTE_ALPHABET} bytes and one merge)"
        )
    _check_corpora(corpora)
    names = ", ".join(str(p) for p in corpora)
    with scratch_dir(Path(out)) as tmp:  # beside the output: a killed run's copy is reaped by the next
        text = Path(tmp) / "train.txt"
        n_lines, dropped = write_training_text(
            corpora, text, seed=seed, limit_bytes=full_text_limit_bytes, subset_bytes=subset_bytes
        )
        if n_lines == 0:
            raise VocabswapError(f"no text left to train on in {names}")
        backend = _train_bpe(text, spec, specials, vocab_size, names)
    with atomic_dir(out, overwrite=overwrite) as tmp_out:
        _save_hf(backend, config, tmp_out, specials)
        manifest = {
            "kind": BYTE_LEVEL_BPE,
            "like": os.fspath(like),
            "corpora": [os.fspath(p) for p in corpora],
            "hf_vocab_size": vocab_size,
            "specials": len(specials),
            "seed": seed,
            "training_lines": n_lines,
            "dropped_lines": dropped,
        }
        _write_manifest(tmp_out, manifest)
    return Path(out)


def _save_hf(backend: Any, config: dict, dest: Path, specials: list[str]) -> None:
    """Save as an HF tokenizer with BASE's roles, chat template and maximum length; ids checked dense."""
    from transformers import PreTrainedTokenizerFast

    kwargs = {role: config[role] for role in ROLES if isinstance(config.get(role), str)}
    if "model_max_length" in config:
        kwargs["model_max_length"] = config["model_max_length"]
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, **kwargs)
    if config.get("chat_template") is not None:
        tok.chat_template = config["chat_template"]
    check_bpe_ids(tok, specials, dest)
    tok.save_pretrained(str(dest))


def check_bpe_ids(tok: Any, specials: list[str], where: str | Path) -> None:
    """Raise unless ids are exactly 0..len(tok)-1, each used once, with BASE's specials at 0..k-1."""
    vocab = tok.get_vocab()
    ids = sorted(vocab.values())
    if len(vocab) != len(tok) or ids != list(range(len(tok))):
        raise VocabswapError(f"{where}: tokenizer ids are not a dense range 0..{len(tok) - 1}")
    if [vocab.get(s) for s in specials] != list(range(len(specials))):
        raise VocabswapError(f"{where}: the base's special tokens are not at ids 0..{len(specials) - 1}")


def _write_manifest(dest: Path, fields: dict) -> None:
    from vocabswap import __version__

    text = json.dumps({**fields, "vocabswap_version": __version__}, indent=2) + "\n"
    (dest / MANIFEST).write_text(text, encoding="utf-8")


def load_new_tokenizer(path: str | Path) -> Any:
    """A new tokenizer directory (the one loader, :func:`vocabswap.modeldir.load_tokenizer`) with its
    layout checked: a byte-level BPE's dense ids with its specials first (:func:`check_bpe_ids`), else
    XLM-R's (``xlmr_ids``)."""
    from vocabswap.modeldir import load_tokenizer

    path = Path(path)
    if not (path / "tokenizer.json").is_file() or tokenizer_kind(path) != BYTE_LEVEL_BPE:
        return load_tokenizer(path, xlmr_ids=True)
    tok = load_tokenizer(path)
    check_bpe_ids(tok, base_specials(json.loads((path / "tokenizer.json").read_text("utf-8"))), path)
    return tok
