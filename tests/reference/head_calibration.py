"""Head calibration: fit a new MLM head to a base model's frozen encoder before any vocabulary replacement.

A sentence-embedding model such as multilingual-e5-small ships no masked-LM head, so vocabswap gives it a
new one (a random ``dense`` transform, a unit ``layer_norm`` and a zero ``bias``, the decoder tied to the
word embeddings). Every LAPT run then starts with the loss of that untrained head on top of whatever the
re-initialisation contributes. :func:`calibrate_head` trains only the head's transform, LayerNorm and bias
(the tied decoder, i.e. the embeddings, and every encoder block stay frozen) on text that no evaluation
reads, so that a model's step-0 MLM loss measures its embeddings rather than the head's noise.

The encoder runs without gradients: a step costs one forward pass of the encoder and the head's forward
and backward on the masked positions only. Batches and masks are a pure function of ``seed``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from vocabswap.errors import VocabswapError
from vocabswap.mlm import IGNORE_INDEX, MLMMasker, SequenceCorpus, collate, encode_lines

# The parameters a calibration trains; `lm_head.decoder.weight` is the word-embedding matrix (tied).
HEAD_PARAMETERS = (
    "lm_head.dense.weight",
    "lm_head.dense.bias",
    "lm_head.layer_norm.weight",
    "lm_head.layer_norm.bias",
    "lm_head.bias",
)


@dataclass(frozen=True)
class CalibrationConfig:
    steps: int = 200
    batch_size: int = 32
    max_length: int = 128
    lr: float = 1e-3  # AdamW, decayed linearly to 0
    seed: int = 1


def head_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Freeze everything but the head's transform, LayerNorm and bias; return those parameters."""
    named = dict(model.named_parameters())
    missing = [name for name in HEAD_PARAMETERS if name not in named]
    if missing:
        names = ", ".join(missing)
        raise VocabswapError(f"{type(model).__name__} has no {names}; expected an XLM-R masked LM")
    for param in model.parameters():
        param.requires_grad_(False)
    params = [named[name] for name in HEAD_PARAMETERS]
    for param in params:
        param.requires_grad_(True)
    return params


def head_loss(
    model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Mean MLM cross-entropy over the masked positions, the encoder run without gradients."""
    with torch.no_grad():
        hidden = model.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    where = labels != IGNORE_INDEX
    logits = model.lm_head(hidden[where])
    return F.cross_entropy(logits.float(), labels[where])


def _batch(
    corpus: SequenceCorpus, step: int, config: CalibrationConfig, pad_id: int, masker: MLMMasker
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng([config.seed, step])
    idx = rng.choice(len(corpus), size=min(config.batch_size, len(corpus)), replace=False)
    input_ids, attention_mask = collate(corpus.sequences(np.sort(idx)), pad_id)
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
    masked, labels = masker(input_ids, attention_mask, generator)
    return masked, attention_mask, labels


def calibrate_head(
    model: torch.nn.Module, tokenizer, lines: Sequence[str], config: CalibrationConfig = CalibrationConfig()
) -> dict:
    """Train the head of ``model`` in place on ``lines``; return the record for the model's provenance."""
    if not lines:
        raise VocabswapError("head calibration needs text: no lines given")
    t0 = time.perf_counter()
    corpus = encode_lines(lines, tokenizer, config.max_length)
    params = head_parameters(model)
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / config.steps)
    masker = MLMMasker.for_tokenizer(tokenizer)
    model.train()
    losses = []
    for step in tqdm(range(config.steps), desc="head calibration", unit="step", mininterval=5):
        loss = head_loss(model, *_batch(corpus, step, config, tokenizer.pad_token_id, masker))
        if not math.isfinite(loss.item()):
            raise VocabswapError(f"head calibration: non-finite loss at step {step}")
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    model.eval()
    for param in model.parameters():
        param.requires_grad_(True)
    window = max(1, config.steps // 10)
    return {
        **asdict(config),
        "trained": list(HEAD_PARAMETERS),
        "lines": corpus.n_lines,
        "tokens": corpus.n_tokens,
        "loss_first": round(float(np.mean(losses[:window])), 4),
        "loss_last": round(float(np.mean(losses[-window:])), 4),
        "seconds": round(time.perf_counter() - t0, 1),
    }
