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


def install_rows(model: Any, emb: np.ndarray, output_emb: np.ndarray | None = None) -> None:
    """Give a causal LM the new input rows ``emb`` (V_new x H): a tied model's output matrix follows the
    tie; an untied one needs its own output rows ``output_emb`` (same shape)."""
    import torch

    tied = bool(model.config.tie_word_embeddings)
    if tied != (output_emb is None):
        raise VocabswapError(
            "a tied decoder takes no output rows of its own"
            if tied
            else "an untied decoder needs its own output rows"
        )
    hidden = model.get_input_embeddings().weight.shape[1]
    for matrix in (emb, emb if output_emb is None else output_emb):
        if matrix.ndim != 2 or matrix.shape != (emb.shape[0], hidden):
            raise VocabswapError(
                f"new embedding matrix has shape {matrix.shape}; the model's width is {hidden}"
            )
    model.resize_token_embeddings(emb.shape[0], mean_resizing=False)
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(torch.from_numpy(np.ascontiguousarray(emb, np.float32)))
        if output_emb is not None:
            out = np.ascontiguousarray(output_emb, np.float32)
            model.get_output_embeddings().weight.copy_(torch.from_numpy(out))
    if tied:
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

    nats, tokens = 0.0, 0
    model.eval()
    for input_ids, mask in _scored_batches(tokenizer, lines, batch_size, max_length=max_length):
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


def _scored_batches(tokenizer: Any, lines: Sequence[str], batch_size: int, *, max_length: int = 512) -> Any:
    """(input_ids, attention_mask) batches of ``lines``, each after the context token, longest first (a
    batch pads to its longest line, so lines of like length share batches: a fraction of the padding)."""
    import torch

    start = context_id(tokenizer)
    encoded = [[start, *tokenizer(line, add_special_tokens=False)["input_ids"]] for line in lines]
    too_long = [i for i, ids in enumerate(encoded) if len(ids) > max_length]
    if too_long:
        raise VocabswapError(f"line {too_long[0] + 1} has more than {max_length - 1} tokens")
    encoded.sort(key=len, reverse=True)
    for b in range(0, len(encoded), batch_size):
        batch = encoded[b : b + batch_size]
        width = len(batch[0])
        yield (
            torch.tensor([ids + [start] * (width - len(ids)) for ids in batch]),
            torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch]),
        )


def base_hidden(
    model: Any, tokenizer: Any, lines: Sequence[str], *, batch_size: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """The final hidden state before each next-token prediction on the base's own tokenisation of
    ``lines`` (N x H, float32) and the token each predicts (N)."""
    import torch

    hidden, targets = [], []
    model.eval()
    body = getattr(model, model.base_model_prefix)
    for input_ids, mask in _scored_batches(tokenizer, lines, batch_size):
        with torch.no_grad():
            states = body(input_ids=input_ids, attention_mask=mask).last_hidden_state[:, :-1].float()
        keep = mask[:, 1:].bool()
        hidden.append(states[keep].numpy())
        targets.append(input_ids[:, 1:][keep].numpy())
    return np.concatenate(hidden), np.concatenate(targets)


def new_row_mass(
    hidden: np.ndarray, targets: np.ndarray, base_out: np.ndarray, new_rows: np.ndarray, *, chunk: int = 512
) -> dict[str, float]:
    """What rows that were not in the base take when added to its output matrix, on the base's own text:
    their mean next-token probability mass, and the NLL (nats per token) of the base's tokens without
    and with them. ``hidden``/``targets`` from :func:`base_hidden`, ``base_out`` the base's output rows."""
    import torch

    base_w, new_w = torch.from_numpy(base_out), torch.from_numpy(np.ascontiguousarray(new_rows, np.float32))
    mass = nll_base = nll_with = 0.0
    for b in range(0, len(targets), chunk):
        h = torch.from_numpy(hidden[b : b + chunk])
        logits = h @ base_w.T
        base_lse = torch.logsumexp(logits, dim=1)
        total = base_lse
        if len(new_rows):
            new_lse = torch.logsumexp(h @ new_w.T, dim=1)
            total = torch.logaddexp(base_lse, new_lse)
            mass += float(torch.exp(new_lse - total).sum())
        target = logits.gather(1, torch.from_numpy(targets[b : b + chunk]).long()[:, None])[:, 0]
        nll_base += float((base_lse - target).sum())
        nll_with += float((total - target).sum())
    n = len(targets)
    return {
        "new_row_mass": mass / n,
        "nats_per_token_base_rows": nll_base / n,
        "nats_per_token_with_new_rows": nll_with / n,
        "new_rows": len(new_rows),
        "base_tokens": n,
    }
