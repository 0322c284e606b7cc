"""The settings of LAPT (:class:`LaptConfig`) and fine-tuning (:class:`FinetuneConfig`), import-light.

Each default is written once, here, with its help text in the field's metadata; the CLI builds its options
from these fields (:mod:`vocabswap.cli.options`) and a test checks that config/schema.yaml has the same
defaults. Metadata keys: ``help``, ``choices``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vocabswap.errors import VocabswapError
from vocabswap.registry import PRECISIONS, REGIMES, TASKS

DEVICES = ("auto", "cpu", "cuda")
# How LAPT cuts text into sequences (vocabswap.mlm): one line per sequence, or concatenated full blocks.
SEQUENCES = ("lines", "packed")
MLM_HEADS = ("masked", "all")
SEED_MAX = 2**32 - 1
# What LAPT does with a state directory written for other inputs or settings (vocabswap.lapt_state).
ON_CHANGE = ("refuse", "restart")
PATIENCE = {"pos": 8, "ner": 4}  # epochs (paper Table 7)
MAX_EPOCHS = {"pos": 64, "ner": 32}  # the paper's configs (*_pos_*.yml: 64, *_ner_*.yml: 32)


def check_positive(name: str, value: float) -> None:
    """A rate or norm: a finite number above 0 (NaN and infinity would train to NaN or never clip)."""
    if not (math.isfinite(value) and value > 0):
        raise VocabswapError(f"--{name.replace('_', '-')} must be a finite number above 0, got {value}")


def check_seed(seed: int, flag: str = "--seed") -> None:
    """Seeds reach numpy, torch and SentencePiece: a non-negative integer below 2**32."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise VocabswapError(f"{flag} must be an integer from 0 to {SEED_MAX}, got {seed!r}")


def _opt(default, help_text: str | None = None, **meta):
    """A dataclass field with its CLI help (and choices) in the metadata."""
    return field(default=default, metadata={"help": help_text, **meta})


def _precision():
    """The ``precision`` field of both configs; ``--no-bf16`` is short for ``--precision fp32``."""
    return _opt(
        "auto",
        "auto: bf16 autocast where the device computes bf16 natively (CPU flags amx_bf16/avx512_bf16, a "
        "bf16 GPU), fp32 elsewhere; bf16 or fp32 force one",
        choices=PRECISIONS,
        aliases={"--no-bf16": "fp32"},
    )


def _check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise VocabswapError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")


@dataclass
class LaptConfig:
    """LAPT settings; the defaults are the paper's (Table 6, Section 4)."""

    regime: str = _opt(
        "full",
        "full: blocks frozen for the first --freeze-fraction of steps; emb: frozen throughout",
        choices=REGIMES,
    )
    steps: int = _opt(100_000, "optimizer steps")
    batch_size: int = _opt(200, "sequences per optimizer step (all processes)")
    micro_batch_size: int = _opt(
        8, "sequences per forward pass in one process (gradient accumulation up to the batch)"
    )
    eval_every: int = _opt(1000, "steps between dev evaluations/checkpoints")
    lr: float = _opt(1e-5, "peak learning rate, decayed linearly to 0")
    weight_decay: float = _opt(0.0)
    max_grad_norm: float = _opt(1.0)
    nan_max_grad_norm: float = _opt(0.5, "max grad norm after a non-finite loss forced a restart")
    max_restarts: int = _opt(3)
    max_length: int = _opt(
        256, "tokens per sequence, <s> and </s> (a causal LM's context token and eos) included"
    )
    mlm_probability: float = _opt(0.15, "masked LM only")
    freeze_fraction: float = _opt(0.1, "regime full: share of frozen steps")
    seed: int = _opt(1)
    head: str = _opt(
        "masked",
        "masked LM only: the MLM head on masked positions only (same loss, fewer FLOPs) or on all positions",
        choices=MLM_HEADS,
    )
    sequences: str = _opt(
        "lines",
        "lines: one line = one sequence, cut at --max-length, padded per micro-batch (the paper's code); "
        "packed: concatenated lines cut into full --max-length blocks",
        choices=SEQUENCES,
    )
    patience: int | None = _opt(
        None, "stop after this many dev evaluations without a lower dev loss (default: never stop early)"
    )
    log_every: int = _opt(100, "steps between training-log records")
    device: str = _opt("auto", choices=DEVICES)
    precision: str = _precision()
    keep_state: bool = _opt(False, "keep the state directory after success")

    def validate(self) -> None:
        if self.regime not in REGIMES:
            raise VocabswapError(f"unknown LAPT regime {self.regime!r}; choose one of {', '.join(REGIMES)}")
        _check_precision(self.precision)
        for name in ("steps", "batch_size", "micro_batch_size", "eval_every", "max_length", "log_every"):
            if getattr(self, name) < 1:
                raise VocabswapError(
                    f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}"
                )
        if not 0.0 <= self.freeze_fraction <= 1.0:
            raise VocabswapError(f"freeze fraction must be in [0, 1], got {self.freeze_fraction}")
        if not 0.0 < self.mlm_probability < 1.0:  # checked before packing the corpus
            raise VocabswapError(f"--mlm-probability must be in (0, 1), got {self.mlm_probability}")
        for name in ("lr", "max_grad_norm", "nan_max_grad_norm"):
            check_positive(name, getattr(self, name))
        if not math.isfinite(self.weight_decay) or self.weight_decay < 0:
            raise VocabswapError(f"--weight-decay must be a finite number >= 0, got {self.weight_decay}")
        check_seed(self.seed)
        if self.head not in MLM_HEADS:
            raise VocabswapError(f"head must be 'masked' or 'all', got {self.head!r}")
        if self.sequences not in SEQUENCES:
            raise VocabswapError(f"sequences must be one of {', '.join(SEQUENCES)}, got {self.sequences!r}")
        if self.patience is not None and self.patience < 1:
            raise VocabswapError(f"--patience must be at least 1 evaluation, got {self.patience}")

    @property
    def frozen_steps(self) -> int:
        """Optimizer steps ``0 .. frozen_steps-1`` run with the encoder frozen."""
        if self.regime == "emb":
            return self.steps
        return round(self.freeze_fraction * self.steps)


@dataclass
class FinetuneConfig:
    """Fine-tuning settings; the defaults are the paper's (Table 7, Appendix B)."""

    task: str = _opt("pos", choices=TASKS)
    seed: int = _opt(1)
    lr: float = _opt(5e-6, "Adam learning rate (constant)")
    batch_size: int = _opt(72, "sequences per forward pass (per optimizer step unless --accumulation)")
    accumulation: int = _opt(
        1,
        "batches per optimizer step, their mean losses summed (the authors' gradient_accumulation: the "
        "gradient is about N times a mean-loss gradient)",
    )
    max_length: int = _opt(
        256, "sub-words per sequence incl. specials; longer sentences are split into windows of whole words"
    )
    max_epochs: int | None = _opt(None, "default 64 for pos, 32 for ner (the paper's configs)")
    eval_every: int = _opt(2, "epochs between dev evaluations")
    patience: int | None = _opt(
        None, "epochs without dev gain before stopping (default 8 for pos, 4 for ner)"
    )
    max_grad_norm: float = _opt(1.0)
    train_cap: int = _opt(32_768, "at most N training sentences, a random subset per seed")
    group_by_length: int = _opt(
        1,
        "batches per length group: each epoch's shuffled windows are cut into groups of N batches and "
        "batched by length within a group, so that a batch pads little (16: ~1.1x instead of ~2.2x, a "
        "training epoch 1.8x faster on a CPU); 1 = plain shuffled batches (the authors' code)",
    )
    dropout: float = _opt(0.0, "before the linear layer (the paper's: none)")
    paper_compat: bool = _opt(
        False,
        "the paper code's quirks: double softmax, batch-concatenated seqeval scoring, no attention mask, and "
        "its early stopping (patience in evaluations, ties improve)",
    )
    device: str = _opt("auto", choices=DEVICES)
    precision: str = _precision()

    def validate(self) -> None:
        if self.task not in TASKS:
            raise VocabswapError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        _check_precision(self.precision)
        for name in (
            "batch_size",
            "accumulation",
            "effective_max_epochs",
            "eval_every",
            "train_cap",
            "group_by_length",
        ):
            if getattr(self, name) < 1:
                raise VocabswapError(
                    f"--{name.removeprefix('effective_').replace('_', '-')} must be at least 1, "
                    f"got {getattr(self, name)}"
                )
        if self.max_length < 3:
            raise VocabswapError(f"--max-length must be at least 3, got {self.max_length}")
        for name in ("lr", "max_grad_norm"):
            check_positive(name, getattr(self, name))
        if not 0.0 <= self.dropout < 1.0:  # NaN fails too
            raise VocabswapError(f"--dropout must be in [0, 1), got {self.dropout}")
        check_seed(self.seed)

    @property
    def effective_patience(self) -> int:
        return PATIENCE[self.task] if self.patience is None else self.patience

    @property
    def effective_max_epochs(self) -> int:
        return MAX_EPOCHS[self.task] if self.max_epochs is None else self.max_epochs
