"""Analytic FLOP counts for masked-LM training of an XLM-R-style encoder (LAPT).

Counting rule (one multiply-add = 2 FLOPs; biases, GELU, LayerNorm, softmax, dropout and the embedding
lookup are not counted: together they are well under 1% of the total). With hidden size ``d``, feed-forward
size ``f``, ``n`` layers, vocabulary ``V`` and a batch tensor of sequence length ``L``:

    encoder matmuls   2 · n · (4·d² + 2·d·f)      per position   (Q, K, V, output; two FFN matrices)
    attention         2 · n · (2·L·d)             per position   (Q·Kᵀ and softmax·V over L keys)
    MLM head          2 · (d² + d·V)              per *predicted* position (dense transform + decoder)

Forward FLOPs of a batch = positions · (encoder + attention) + predicted · head, where ``predicted`` is
every position under the paper's all-positions accounting (the stock Hugging Face head projects every
position onto the vocabulary) and only the masked positions as vocabswap executes it.

Backward FLOPs: a matmul's backward costs 2× its forward (gradient w.r.t. the input and w.r.t. the
weight). For the attention products (no weights) it is also 2× (gradients of both operands). Blocks frozen
by the LAPT-FULL/EMB schedule still need the gradient w.r.t. their input (the embeddings beneath them train)
but not w.r.t. their weights, so their backward costs 1× forward. The MLM head always trains (2×).

* ``paper`` accounting: all-positions head and backward = 2 × forward everywhere (freezing ignored), i.e.
  training = 3 × forward. For XLM-R base at L = 256 and 15% masking this gives a forward of 564 MFLOP/token
  with 250,002 pieces and 231 MFLOP/token with 32,770 pieces.
* ``executed`` accounting: masked-only head (237 and 187 MFLOP/token forward for the same two models) and
  the freeze-aware backward above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MLMFlopModel:
    """Dimensions of an XLM-R-style masked LM, enough to count its FLOPs."""

    hidden: int
    layers: int
    intermediate: int
    vocab: int

    @classmethod
    def from_config(cls, config: Any) -> MLMFlopModel:
        """Read the dimensions from a Hugging Face (XLM-)RoBERTa config."""
        return cls(
            hidden=int(config.hidden_size),
            layers=int(config.num_hidden_layers),
            intermediate=int(config.intermediate_size),
            vocab=int(config.vocab_size),
        )

    def encoder_per_position(self) -> int:
        """Forward FLOPs of the encoder's weight matmuls for one position."""
        d, f = self.hidden, self.intermediate
        return 2 * self.layers * (4 * d * d + 2 * d * f)

    def attention_per_position(self, seq_len: int) -> int:
        """Forward FLOPs of the attention products (QKᵀ, PV) for one position attending over seq_len keys."""
        return 2 * self.layers * 2 * seq_len * self.hidden

    def head_per_prediction(self) -> int:
        """Forward FLOPs of the MLM head (dense + vocabulary projection) for one predicted position."""
        d = self.hidden
        return 2 * (d * d + d * self.vocab)

    def forward_per_token(self, seq_len: int, predicted_fraction: float) -> float:
        """Forward FLOPs per position when ``predicted_fraction`` of the positions go through the head."""
        return (
            self.encoder_per_position()
            + self.attention_per_position(seq_len)
            + predicted_fraction * self.head_per_prediction()
        )

    def batch_flops(
        self,
        n_sequences: int,
        seq_len: int,
        n_predicted: int,
        *,
        encoder_trainable: bool = True,
    ) -> dict[str, int]:
        """Forward and backward FLOPs of one batch tensor ``[n_sequences, seq_len]``.

        ``n_predicted`` positions go through the MLM head (all positions for the paper's accounting, the
        masked ones for the executed count). ``encoder_trainable`` False means the blocks are frozen:
        their backward computes input gradients only.
        """
        positions = n_sequences * seq_len
        enc = positions * self.encoder_per_position()
        att = positions * self.attention_per_position(seq_len)
        head = n_predicted * self.head_per_prediction()
        forward = enc + att + head
        backward = (2 if encoder_trainable else 1) * enc + 2 * att + 2 * head
        return {"forward": forward, "backward": backward, "total": forward + backward}


def step_flops(
    model: MLMFlopModel,
    n_sequences: int,
    seq_len: int,
    n_masked: int,
    *,
    encoder_trainable: bool,
) -> dict[str, int]:
    """Training FLOPs of one batch both ways: ``executed`` (masked-only head, freeze-aware backward) and
    ``paper`` (all-positions head, training = 3 × forward)."""
    executed = model.batch_flops(n_sequences, seq_len, n_masked, encoder_trainable=encoder_trainable)
    paper = model.batch_flops(n_sequences, seq_len, n_sequences * seq_len, encoder_trainable=True)
    return {"executed": executed["total"], "paper": paper["total"]}


def sequences_step_flops(
    model: MLMFlopModel, lengths: Sequence[int], n_masked: int, *, encoder_trainable: bool
) -> dict[str, int]:
    """:func:`step_flops` counting real tokens only: each sequence costs its own length's positions, and
    its attention runs over its own length (padding, which ``lines`` batches carry, is not counted)."""
    lens = np.asarray(lengths, dtype=np.int64)
    positions = int(lens.sum())
    enc = positions * model.encoder_per_position()
    att = int(model.attention_per_position(1)) * int((lens * lens).sum())  # per position: linear in length
    head_exec = n_masked * model.head_per_prediction()
    head_paper = positions * model.head_per_prediction()
    executed = enc + att + head_exec + (2 if encoder_trainable else 1) * enc + 2 * att + 2 * head_exec
    paper = 3 * (enc + att + head_paper)
    return {"executed": executed, "paper": paper}
