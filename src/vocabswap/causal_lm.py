"""Decoder (causal LM) pieces of the pipeline: installing a new vocabulary's rows, and bits per byte.

Bits per byte is the next-token loss in a unit that does not depend on the vocabulary: the summed
negative log-likelihood (nats) of every token of every line, divided by ln 2 and by the line's UTF-8
bytes. Each line is scored on its own, after one context token (the tokenizer's eos, else its bos), so
that its first token is predicted too and every byte of the line is paid for exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from vocabswap.errors import VocabswapError


def install_rows(model: Any, emb: np.ndarray) -> None:
    """Give a tied causal LM the new input rows ``emb`` (V_new x H); its output matrix follows the tie."""
    import torch

    if not model.config.tie_word_embeddings:
        raise VocabswapError("untied decoders need their own output rows; only tied ones are handled yet")
    hidden = model.get_input_embeddings().weight.shape[1]
    if emb.ndim != 2 or emb.shape[1] != hidden:
        raise VocabswapError(f"new embedding matrix has shape {emb.shape}; the model's width is {hidden}")
    model.resize_token_embeddings(emb.shape[0], mean_resizing=False)
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(torch.from_numpy(np.ascontiguousarray(emb, np.float32)))
    model.tie_weights()
    model.config.vocab_size = emb.shape[0]


def context_id(tokenizer: Any) -> int:
    """The one token each scored line is conditioned on (eos, else bos)."""
    for token_id in (tokenizer.eos_token_id, tokenizer.bos_token_id):
        if token_id is not None:
            return int(token_id)
    raise VocabswapError("the tokenizer has neither an eos nor a bos token to start a line with")


def bits_per_byte(
    model: Any, tokenizer: Any, lines: Sequence[str], *, batch_size: int = 16, max_length: int = 512
) -> dict[str, float]:
    """Summed next-token NLL over ``lines`` as nats per token and bits per UTF-8 byte (module docstring).

    A line longer than ``max_length`` tokens is refused rather than silently cut (its bytes would be
    counted without its tokens)."""
    import torch

    start = context_id(tokenizer)
    encoded = [tokenizer(line, add_special_tokens=False)["input_ids"] for line in lines]
    too_long = [i for i, ids in enumerate(encoded) if len(ids) + 1 > max_length]
    if too_long:
        raise VocabswapError(f"line {too_long[0] + 1} has more than {max_length - 1} tokens")
    nats, tokens = 0.0, 0
    model.eval()
    for b in range(0, len(encoded), batch_size):
        batch = [[start, *ids] for ids in encoded[b : b + batch_size]]
        width = max(len(ids) for ids in batch)
        input_ids = torch.tensor([ids + [start] * (width - len(ids)) for ids in batch])
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch])
        with torch.no_grad():
            logits = model(input_ids=input_ids, attention_mask=mask).logits[:, :-1].float()
        targets = input_ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="sum")
        nats += float(loss)
        tokens += int((targets != -100).sum())
    n_bytes = sum(len(line.encode("utf-8")) for line in lines)
    if not tokens or not n_bytes:
        raise VocabswapError("no text to score")
    return {
        "nats_per_token": nats / tokens,
        "bits_per_byte": nats / math.log(2) / n_bytes,
        "tokens": tokens,
        "bytes": n_bytes,
    }
