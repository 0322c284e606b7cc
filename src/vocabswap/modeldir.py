"""A Hugging Face model or tokenizer directory as every step reads it: its tokenizer files (the one
loader, :func:`load_tokenizer`, and the one copier, :func:`copy_tokenizer`), the masked-LM model, and
digests that key caches on the tokenizer."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import torch

from vocabswap.checksums import file_sha256
from vocabswap.errors import VocabswapError

# Files of a Hugging Face model directory that belong to the tokenizer (copied verbatim into the output).
# vocabswap_tokenizer.json: how `train-tokenizer` built it (corpus, size, seed), kept with the tokenizer;
# chat_template.jinja: a decoder's chat template (SmolLM2's), which transformers saves beside it.
TOKENIZER_FILE_PREFIXES = (
    *("tokenizer", "special_tokens_map", "added_tokens", "sentencepiece", "spiece"),
    *("vocabswap_tokenizer", "chat_template"),
)


def tokenizer_files(model_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in Path(model_dir).iterdir()
        if p.is_file() and (p.name.startswith(TOKENIZER_FILE_PREFIXES) or p.suffix == ".model")
    )


def load_tokenizer(model_dir: str | Path, *, xlmr_ids: bool = False):
    """The tokenizer saved in a model or tokenizer directory; a clear error when there is none or it does
    not load. ``xlmr_ids``: also insist on XLM-R's layout (dense ids 0..V-1, specials at XLM-R's ids), as
    re-initialisation needs (tokenizer id == embedding row)."""
    from transformers import AutoTokenizer

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise VocabswapError(
            f"{model_dir}: does not exist or is not a directory; expected a tokenizer or model directory"
        )
    if not tokenizer_files(model_dir):
        raise VocabswapError(
            f"{model_dir}: no tokenizer in this model directory (no tokenizer.json, tokenizer_config.json "
            "or SentencePiece model); vocabswap needs the model's own tokenizer beside its weights — use a "
            "directory written by `vocabswap base-model` or `vocabswap init`"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    except Exception as err:  # transformers raises many types for a broken tokenizer
        raise VocabswapError(
            f"{model_dir}: the tokenizer does not load: {type(err).__name__}: {err}"
        ) from err
    if xlmr_ids:
        from vocabswap.tokenizer import check_dense_ids

        check_dense_ids(tokenizer, model_dir)
    return tokenizer


def check_max_length(model_dir: str | Path, max_length: int) -> None:
    """A sequence of ``max_length`` must fit the model's position table (XLM-R's starts at padding_idx + 1);
    checked from config.json before any text is encoded."""
    path = Path(model_dir) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return  # the model loader reports a missing or broken config in its own words
    positions = config.get("max_position_embeddings") if isinstance(config, dict) else None
    if not isinstance(positions, int):
        return
    offset = (
        config.get("pad_token_id", 0) + 1 if config.get("model_type") in ("roberta", "xlm-roberta") else 0
    )
    if max_length > positions - offset:
        raise VocabswapError(
            f"--max-length {max_length} exceeds the {positions - offset} positions of the model in "
            f"{model_dir}"
        )


def check_vocab_fits(model_dir: Path, tokenizer, model) -> None:
    """Every tokenizer id must have an embedding row."""
    rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:
        raise VocabswapError(
            f"{model_dir}: tokenizer has {len(tokenizer)} ids but the embedding only {rows} rows"
        )


def load_masked_lm(model_dir: str | Path, *, attn_implementation: str = "sdpa"):
    from safetensors import SafetensorError
    from transformers import AutoModelForMaskedLM

    try:
        return AutoModelForMaskedLM.from_pretrained(
            str(model_dir), attn_implementation=attn_implementation, dtype=torch.float32
        )
    except (OSError, ValueError, SafetensorError, pickle.UnpicklingError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise VocabswapError(f"{model_dir}: not a masked-LM model directory: {reason}") from err


def copy_tokenizer(model_dir: Path, dest: Path) -> None:
    """Copy the tokenizer files of ``model_dir`` (see TOKENIZER_FILE_PREFIXES) into ``dest``."""
    for path in tokenizer_files(model_dir):
        shutil.copy2(path, dest / path.name)


def file_digest(path: Path, *, extra: bytes = b"") -> str:
    return file_sha256(path, prefix=extra)


def tokenizer_digest(model_dir: Path) -> str:
    h = hashlib.sha256()
    for path in tokenizer_files(model_dir):
        h.update(path.name.encode())
        h.update(bytes.fromhex(file_digest(path)))
    return h.hexdigest()
