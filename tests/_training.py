"""Helpers for the training tests (LAPT, fine-tuning): small real models and small real corpora."""

from __future__ import annotations

import shutil
from pathlib import Path

from vocabswap.modeldir import tokenizer_files


def truncated_model(src: Path, dst: Path, layers: int, *, dropout: float | None = None) -> Path:
    """A copy of a real masked LM keeping its first ``layers`` blocks (and its tokenizer)."""
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(src)
    model.roberta.encoder.layer = model.roberta.encoder.layer[:layers]
    model.config.num_hidden_layers = layers
    if dropout is not None:
        model.config.hidden_dropout_prob = dropout
        model.config.attention_probs_dropout_prob = dropout
    model.save_pretrained(dst)
    for path in tokenizer_files(src):
        shutil.copy2(path, dst / path.name)
    return dst


def split_text(src: Path, out_dir: Path, n_train: int, n_dev: int) -> tuple[Path, Path]:
    """The first ``n_train`` lines as train and the next ``n_dev`` as dev."""
    lines = [x for x in src.read_text(encoding="utf-8").splitlines() if x.strip()]
    out_dir.mkdir(parents=True, exist_ok=True)
    train, dev = out_dir / "train.txt", out_dir / "dev.txt"
    train.write_text("\n".join(lines[:n_train]) + "\n", encoding="utf-8")
    dev.write_text("\n".join(lines[n_train : n_train + n_dev]) + "\n", encoding="utf-8")
    return train, dev


def small_target_model(
    base: Path, tokenizer_dir: Path, dst: Path, layers: int, *, dropout: float | None = None, seed: int = 0
) -> Path:
    """A small real model for a new vocabulary: the first ``layers`` blocks of ``base`` and an embedding
    matrix for ``tokenizer_dir`` (specials copied from the base by their string, every other row drawn from
    the base rows' per-dimension N(mean, std)); decoder tied, MLM bias re-sized. Fast to train on CPU."""
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    model = AutoModelForMaskedLM.from_pretrained(base)
    model.roberta.encoder.layer = model.roberta.encoder.layer[:layers]
    model.config.num_hidden_layers = layers
    if dropout is not None:
        model.config.hidden_dropout_prob = dropout
        model.config.attention_probs_dropout_prob = dropout
    old_tok, new_tok = AutoTokenizer.from_pretrained(base), AutoTokenizer.from_pretrained(tokenizer_dir)
    old = model.get_input_embeddings().weight.detach().clone()
    old_bias = model.lm_head.bias.detach().clone()
    gen = torch.Generator().manual_seed(seed)
    rows = old.mean(0) + old.std(0) * torch.randn(len(new_tok), old.shape[1], generator=gen)
    bias = torch.full((len(new_tok),), float(old_bias.mean()))
    for token, new_id in zip(new_tok.all_special_tokens, new_tok.all_special_ids, strict=True):
        old_id = old_tok.convert_tokens_to_ids(token)
        rows[new_id], bias[new_id] = old[old_id], old_bias[old_id]
    model.resize_token_embeddings(len(new_tok))
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(rows)
        model.lm_head.bias.copy_(bias)
    model.tie_weights()
    model.save_pretrained(dst)
    for path in tokenizer_files(tokenizer_dir):
        shutil.copy2(path, dst / path.name)
    return dst


def truncated_decoder(src: Path, dst: Path, layers: int) -> Path:
    """A copy of a real causal LM keeping its first ``layers`` blocks (and its tokenizer)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(src)
    model.model.layers = model.model.layers[:layers]
    model.config.num_hidden_layers = layers
    if getattr(model.config, "layer_types", None):
        model.config.layer_types = model.config.layer_types[:layers]
    model.save_pretrained(dst)
    for path in tokenizer_files(src):
        shutil.copy2(path, dst / path.name)
    return dst
