"""Model surgery: load a base model (a masked LM or a causal LM, :mod:`vocabswap.family`), read its
embedding rows and output bias, install a new vocabulary's.

The new matrix replaces the input embeddings. A causal LM's output matrix follows the tie, or, untied,
takes its own new rows (:func:`vocabswap.causal_lm.install_rows`); it has no bias. For a masked LM the
MLM decoder stays tied to the new embeddings (XLM-R ties it), and the MLM output bias is resized to the
new vocabulary with either the remapped bias the re-initialisation computed (default) or, with
``paper_compat``, the first ``V_new`` entries of the old bias (what the paper's code did: every new
token inherits an unrelated token's bias).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vocabswap.errors import VocabswapError, first_line
from vocabswap.family import family_of_config

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def load_base(base_dir: str | Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a base masked LM or causal LM and its tokenizer from an HF directory, with one-line errors for
    a missing directory, a model of neither family, or weights whose hidden size disagrees with the
    config."""
    from transformers import AutoConfig, AutoTokenizer

    base_dir = Path(base_dir)
    if not (base_dir / "config.json").is_file():
        raise VocabswapError(
            f"base model directory {base_dir} has no config.json (make one with `vocabswap base-model`)"
        )
    try:
        config = AutoConfig.from_pretrained(str(base_dir))
    except Exception as err:
        raise VocabswapError(f"cannot read the base model config in {base_dir}: {first_line(err)}") from err
    family = family_of_config(config, where=f"base model {base_dir}")
    check_checkpoint_width(base_dir, int(config.hidden_size))
    try:
        model, info = family.auto_model().from_pretrained(
            str(base_dir), output_loading_info=True, dtype="float32"
        )
    except ValueError as err:
        raise VocabswapError(f"base model {base_dir} is not a {family.short}: {first_line(err)}") from err
    except RuntimeError as err:
        msg = first_line(err)
        if "size mismatch" in str(err) or "mismatched_sizes" in str(err):
            raise VocabswapError(
                f"base model {base_dir}: hidden-size mismatch between config.json "
                f"(hidden_size {config.hidden_size}) and the weights: {msg}"
            ) from err
        raise VocabswapError(f"cannot load the base model in {base_dir}: {msg}") from err
    except OSError as err:
        raise VocabswapError(f"cannot load the base model in {base_dir}: {first_line(err)}") from err
    missing_head = [k for k in info.get("missing_keys", []) if k.startswith("lm_head.")]
    mismatched = info.get("mismatched_keys", [])
    if mismatched:
        raise VocabswapError(
            f"base model {base_dir}: hidden-size mismatch, weights of another shape than "
            f"config.json says: {mismatched[0]}"
        )
    if missing_head:
        raise VocabswapError(
            f"base model {base_dir} has no trained LM head (missing {missing_head[0]}); "
            f"it is not a {family.short}"
        )
    check_hidden(model, where=base_dir)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    except Exception as err:
        raise VocabswapError(
            f"cannot load the base model's tokenizer in {base_dir}: {first_line(err)}"
        ) from err
    return model, tokenizer


def check_checkpoint_width(base_dir: Path, hidden: int) -> None:
    """Compare config.json's hidden_size with the stored word embeddings before loading (transformers
    would print a long mismatch report first); a truncated or garbage ``*.safetensors`` file is named."""
    from safetensors import safe_open

    for path in sorted(base_dir.glob("*.safetensors")):
        try:
            width, key = _embedding_width(safe_open, path)
        except Exception as err:  # safetensors raises its own SafetensorError (or OSError) for a bad file
            raise VocabswapError(
                f"{path}: not a readable safetensors file (truncated or damaged?): {first_line(err)}"
            ) from err
        if width is not None and width != hidden:
            raise VocabswapError(
                f"base model {base_dir}: hidden-size mismatch: config.json says hidden_size "
                f"{hidden}, {path.name} has {width}-wide word embeddings ({key})"
            )


def _embedding_width(safe_open, path: Path) -> tuple[int | None, str | None]:
    """Width of the word-embedding tensor in a safetensors file (None if it has none); opening it checks
    the header against the file size, so a file cut short inside its data is noticed here too."""
    found: tuple[int | None, str | None] = (None, None)
    with safe_open(str(path), framework="np") as handle:
        for key in handle.keys():  # noqa: SIM118 (safe_open is not a mapping)
            shape = handle.get_slice(key).get_shape()
            if key.endswith(("word_embeddings.weight", "embed_tokens.weight")):
                found = (shape[1], key)
    return found


def check_hidden(model: PreTrainedModel, *, where: str | Path, width: int | None = None) -> int:
    """The model's hidden size, after checking the embeddings (and ``width``, if given) agree with it."""
    hidden = int(model.config.hidden_size)
    emb_width = int(model.get_input_embeddings().weight.shape[1])
    if emb_width != hidden:
        raise VocabswapError(
            f"{where}: hidden-size mismatch: embeddings are {emb_width} wide, config hidden_size is {hidden}"
        )
    if width is not None and width != hidden:
        raise VocabswapError(
            f"{where}: hidden-size mismatch: new embedding rows are {width} wide, the base "
            f"model's hidden size is {hidden}"
        )
    return hidden


def base_rows(
    model: PreTrainedModel, n_tokens: int, *, output: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The base input embedding rows (``output``: the output matrix's rows) of ids ``0..n_tokens-1`` and
    the output bias of the same ids."""
    layer = model.get_output_embeddings() if output else model.get_input_embeddings()
    weight = layer.weight.detach()
    if weight.shape[0] < n_tokens:
        raise VocabswapError(
            f"the base model has {weight.shape[0]} embedding rows but its tokenizer {n_tokens} ids"
        )
    emb = weight[:n_tokens].float().numpy().copy()
    return emb, output_bias(model)[:n_tokens].copy()


def output_bias(model: PreTrainedModel) -> np.ndarray:
    """The whole MLM output bias (zeros if the head has none)."""
    decoder = model.get_output_embeddings()
    rows = model.get_input_embeddings().weight.shape[0]
    bias = getattr(decoder, "bias", None) if decoder is not None else None
    if bias is None:
        return np.zeros(rows, dtype=np.float32)
    return bias.detach().float().numpy()


def truncated_bias(old_bias: np.ndarray, vocab_size: int) -> np.ndarray:
    """The paper's bias resize: keep the first ``vocab_size`` entries (zeros appended if it grows)."""
    out = np.zeros(vocab_size, dtype=np.float32)
    n = min(vocab_size, len(old_bias))
    out[:n] = old_bias[:n]
    return out


def install(
    model: PreTrainedModel,
    emb: np.ndarray,
    bias: np.ndarray,
    tokenizer: PreTrainedTokenizerBase,
    *,
    output_emb: np.ndarray | None = None,
) -> PreTrainedModel:
    """Give ``model`` the new vocabulary: embeddings ``emb``, MLM bias ``bias``, the decoder tied to the
    embeddings, and config vocab_size and special ids from ``tokenizer``. A causal LM takes ``emb`` and,
    untied, the output rows ``output_emb``; it has no bias."""
    import torch

    if not family_of_config(model.config).output_bias:
        from vocabswap.causal_lm import install_rows

        if emb.shape[0] != len(tokenizer):
            raise VocabswapError(
                f"new embedding matrix has {emb.shape[0]} rows; the tokenizer has {len(tokenizer)} ids"
            )
        install_rows(model, emb, output_emb)
        _set_special_ids(model, tokenizer)
        return model

    vocab_size = len(tokenizer)
    check_hidden(model, where="new embedding matrix", width=int(emb.shape[1]))
    if emb.shape[0] != vocab_size or bias.shape != (vocab_size,):
        raise VocabswapError(
            f"new embedding matrix has {emb.shape[0]} rows and bias {bias.shape[0]} "
            f"entries; the tokenizer has {vocab_size} ids"
        )
    pad = tokenizer.pad_token_id
    if pad is not None and model.config.pad_token_id is not None and pad != model.config.pad_token_id:
        # XLM-R numbers positions from padding_idx + 1: moving <pad> would shift every position.
        raise VocabswapError(
            f"the new tokenizer's <pad> id is {pad}, the base model's {model.config.pad_token_id}; "
            "they must agree (train the tokenizer with `vocabswap train-tokenizer`)"
        )
    model.resize_token_embeddings(vocab_size, mean_resizing=False)
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(torch.from_numpy(np.ascontiguousarray(emb)))
        decoder = model.get_output_embeddings()
        if decoder is None or decoder.bias is None:
            raise VocabswapError("the base model's MLM head has no output bias to remap")
        decoder.bias.copy_(torch.from_numpy(np.ascontiguousarray(bias, dtype=np.float32)))
    model.tie_weights()
    if model.get_output_embeddings().weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
        raise VocabswapError("internal error: the MLM decoder is not tied to the new embeddings")
    model.config.vocab_size = vocab_size
    _set_special_ids(model, tokenizer)
    return model


def _set_special_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(tokenizer, name)
        if value is not None:
            setattr(model.config, name, value)
