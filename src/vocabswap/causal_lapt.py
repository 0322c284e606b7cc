"""LAPT's causal-LM pieces: the next-token objective, its labels, the sequences' specials, and bytes per id.

Everything else of LAPT (data stream, freeze schedule, resume, DDP, dev evaluation) is the masked LM's,
unchanged: these pieces have the interface of their masked-LM counterparts in :mod:`vocabswap.mlm`.

* A sequence is ``context ids eos`` (:func:`causal_specials`: the context token of
  :func:`vocabswap.causal_lm.line_ends`, the line's ids, eos), the same definition
  :func:`vocabswap.causal_lm.bits_per_byte` scores, so LAPT's step-0 dev bits per byte is init's.
* :class:`NextTokenLabels` takes the masker's place: no masking, the labels are the ids, padding -100.
* :class:`CausalLMObjective` returns the *summed* next-token cross-entropy and the number of predicted
  tokens (every real position predicts the next one), as :class:`vocabswap.mlm.MaskedLMObjective` does; the
  vocabulary projection runs on the predicting positions only.
* :func:`byte_lengths`: the UTF-8 bytes each id stands for, so that the bytes a set of predictions covers
  is one gather and a sum (bits per byte = nats / ln 2 / bytes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vocabswap.causal_lm import LINE_END_BYTES, line_ends
from vocabswap.errors import VocabswapError
from vocabswap.mlm import IGNORE_INDEX


def causal_specials(tokenizer: Any, where: str) -> tuple[int, int, int]:
    """``(context, eos, pad)`` ids of a decoder's LAPT sequences; pad falls back to eos (SmolLM2's is eos
    anyway: padding is never attended to nor predicted)."""
    try:
        start, eos = line_ends(tokenizer)
    except VocabswapError as err:
        raise VocabswapError(f"{where}: {err} (a LAPT sequence is context, the line, eos)") from err
    pad = tokenizer.pad_token_id
    return int(start), int(eos), int(eos if pad is None else pad)


class NextTokenLabels:
    """The masker of a causal LM: the input unchanged, labels = the ids at real positions, -100 at padding
    (the objective shifts them: position i predicts label i + 1)."""

    def __call__(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return input_ids, input_ids.masked_fill(attention_mask == 0, IGNORE_INDEX)


def next_token_targets(labels: torch.Tensor) -> torch.Tensor:
    """The ids a batch predicts (every real position after the first of its sequence), flattened."""
    shifted = labels[:, 1:]
    return shifted[shifted != IGNORE_INDEX]


class CausalLMObjective(nn.Module):
    """Summed next-token cross-entropy of a causal LM (a module, so that DDP can wrap it)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if model.get_output_embeddings() is None:
            raise VocabswapError(f"{type(model).__name__} has no output embeddings; expected a causal LM")
        self.model = model

    @staticmethod
    def targets(labels: torch.Tensor) -> torch.Tensor:
        return next_token_targets(labels)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(sum of cross-entropy over predicted tokens, number of predicted tokens)``."""
        body = self.model.base_model
        hidden = body(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).last_hidden_state
        shifted = labels[:, 1:]
        where = shifted != IGNORE_INDEX
        logits = self.model.get_output_embeddings()(hidden[:, :-1][where])
        target = shifted[where]
        return F.cross_entropy(logits.float(), target, reduction="sum"), target.new_tensor(target.numel())


def byte_lengths(tokenizer: Any) -> np.ndarray:
    """UTF-8 bytes each id of a byte-level BPE tokenizer stands for (int64, one entry per id): a piece's
    characters are one byte each in the byte-level alphabet; added (special) tokens stand for none, except
    eos, which stands for the line end (:data:`vocabswap.causal_lm.LINE_END_BYTES`)."""
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    table = np.fromiter((len(p or "") for p in pieces), dtype=np.int64, count=len(pieces))
    added = np.fromiter(tokenizer.added_tokens_decoder, dtype=np.int64)
    table[added[added < len(table)]] = 0
    if tokenizer.eos_token_id is not None:
        table[tokenizer.eos_token_id] = LINE_END_BYTES
    return table


def covered_bytes(table: np.ndarray, objective: nn.Module, batches: list[Any]) -> int:
    """The bytes of text that the predictions of ``batches`` (micro-batches with ``labels``) cover."""
    return int(sum(int(table[objective.targets(mb.labels).numpy()].sum()) for mb in batches))
