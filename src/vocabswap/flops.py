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

Causal LMs (Llama: SmolLM2) are counted by :class:`CausalLMFlopModel` under the same rule and the same
interface, with their own blocks: with ``h`` query heads and ``k`` key/value heads of size ``e``
(grouped-query attention), per position and layer the Q and O projections cost ``2·d·h·e`` each, K and V
``2·d·k·e`` each, and the gated MLP (gate, up, down) ``3 · 2·d·f``; attention ``2 · 2·L·h·e`` (Q·Kᵀ and
softmax·V over the L keys the kernel computes; the causal mask is not subtracted); the head is ``2·d·V``
(no dense transform, no bias). ``executed``: the head on the predicting positions only (every real
position but a sequence's last) and the freeze-aware backward; ``paper``: the stock forward's head over
all positions and training = 3 × forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


class _Counts:
    """What both FLOP models derive from their per-position costs (``encoder_per_position``,
    ``attention_per_position``, ``head_per_prediction``)."""

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


@dataclass(frozen=True)
class MLMFlopModel(_Counts):
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


def step_flops(
    model: FlopModel,
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
    model: FlopModel, lengths: Sequence[int], n_masked: int, *, encoder_trainable: bool
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


@dataclass(frozen=True)
class CausalLMFlopModel(_Counts):
    """Dimensions of a Llama-style causal LM (grouped-query attention, gated MLP), enough to count its
    FLOPs; the same interface as :class:`MLMFlopModel` (module docstring)."""

    hidden: int
    layers: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int
    head_dim: int

    @classmethod
    def from_config(cls, config: Any) -> CausalLMFlopModel:
        """Read the dimensions from a Hugging Face Llama-style config."""
        heads = int(config.num_attention_heads)
        head_dim = getattr(config, "head_dim", None) or int(config.hidden_size) // heads
        return cls(
            hidden=int(config.hidden_size),
            layers=int(config.num_hidden_layers),
            intermediate=int(config.intermediate_size),
            vocab=int(config.vocab_size),
            heads=heads,
            kv_heads=int(getattr(config, "num_key_value_heads", None) or heads),
            head_dim=int(head_dim),
        )

    def encoder_per_position(self) -> int:
        """Forward FLOPs of the blocks' weight matmuls (attention projections, gated MLP) per position."""
        d, f = self.hidden, self.intermediate
        projections = 2 * d * self.heads * self.head_dim + 2 * d * self.kv_heads * self.head_dim
        return 2 * self.layers * (projections + 3 * d * f)

    def attention_per_position(self, seq_len: int) -> int:
        """Forward FLOPs of the attention products (QKᵀ, PV) for one position over ``seq_len`` keys."""
        return 2 * self.layers * 2 * seq_len * self.heads * self.head_dim

    def head_per_prediction(self) -> int:
        """Forward FLOPs of the vocabulary projection for one predicted position."""
        return 2 * self.hidden * self.vocab


FlopModel = MLMFlopModel | CausalLMFlopModel


def flop_model_for(config: Any) -> FlopModel:
    """The FLOP model of a Hugging Face config's family (masked LM or causal LM)."""
    from vocabswap.family import ENCODER, family_of_config

    family = family_of_config(config)
    return MLMFlopModel.from_config(config) if family is ENCODER else CausalLMFlopModel.from_config(config)


def predicted_fraction(model: FlopModel, seq_len: int, mlm_probability: float) -> float:
    """Share of a full-length sequence's positions that go through the head as executed: the masked share
    of a masked LM, all but the last position of a causal LM."""
    return (seq_len - 1) / seq_len if isinstance(model, CausalLMFlopModel) else mlm_probability
