"""Language-adaptive pre-training (LAPT): continued LM training with the paper's freeze schedule.

A masked LM (encoder) continues its masked-LM objective; a causal LM (decoder) its next-token objective
(:mod:`vocabswap.causal_lapt`: sequences ``context line eos``, no masking, dev bits per byte beside the
loss). The family is read from the model (:mod:`vocabswap.family`), which also names the blocks the
schedule freezes; :func:`_text_parts` and :func:`_objective_parts` are where the families differ.

One training loop (no Hugging Face Trainer: freezing, resume and the masked-only head need full control):

* Defaults are the paper's (Table 6, Section 4): MLM 0.15 (80/10/10), max length 256, AdamW lr 1e-5 with one
  linear decay from step 0 to 0 at the last step and no warm-up, weight decay 0, batch 200 sequences
  (gradient accumulation over micro-batches, split across DDP processes), max grad norm 1.0 (0.5 after a
  non-finite loss), 100k steps, dev MLM loss every 1000 steps, the best-dev checkpoint is the output.
* Regimes: ``full`` freezes every parameter under the family's blocks (``roberta.encoder``,
  ``model.layers``) for the first 10% of the steps, then trains everything; ``emb`` keeps them frozen
  throughout. Everything else (embeddings, the embedding LayerNorm or final norm, the LM head) trains.
  Every parameter is in the AdamW optimizer from the start; a frozen parameter has
  ``requires_grad=False``, so it has no gradient and AdamW skips it (no moment update, no weight decay);
  after unfreezing it gets gradients and updates, with the same single LR schedule (no re-warm-up).
* Determinism: the batch at step ``k`` (which sequences, their masks, the dropout RNG) is a pure function
  of ``(seed, k)``, so a resumed run replays exactly the steps an uninterrupted one would take.
* Resumable state lives in a state directory outside the output (default ``<out>.state``,
  :mod:`vocabswap.lapt_state`): model, optimizer, scheduler, RNG, step, best-so-far and the log, saved at
  every evaluation (and at step 0). Snakemake deletes a failed job's outputs; the state directory survives
  and the next run resumes, unless the input model, the texts or the settings changed (then it refuses, or
  restarts afresh). The data stream (batches as a function of the step) is :mod:`vocabswap.lapt_data`.
* A non-finite loss or gradient norm restarts from the last checkpoint with max grad norm 0.5, logged.
* The output is written atomically: the best-dev model as a Hugging Face directory with the tokenizer,
  ``lapt_log.json`` (settings, dev curve, tokens, FLOPs both ways, restarts) and ``training_log.jsonl``.
* bf16 autocast where the device computes bf16 natively (``--precision``); on GPU SDPA attention, fused
  AdamW; multi-GPU/-process via ``torchrun`` (NCCL on GPU, gloo on CPU).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from vocabswap.atomic import atomic_dir, check_output_dir, write_json
from vocabswap.causal_lapt import (
    CausalLMObjective,
    NextTokenLabels,
    byte_lengths,
    causal_specials,
    covered_bytes,
)
from vocabswap.device import (
    Dist,
    autocast_for,
    init_distributed,
    pick_device,
    resolve_kind,
    resolve_precision,
    sub_seed,
)
from vocabswap.errors import VocabswapError
from vocabswap.family import ENCODER, Family, family_of_dir
from vocabswap.flops import FlopModel, flop_model_for, predicted_fraction, sequences_step_flops
from vocabswap.lapt_data import (
    BatchStream,
    MicroBatch,
    by_length,
    load_or_encode,
    make_global_batch,
    prepare_dev,
    split_batch,
)
from vocabswap.lapt_state import StateDir, TrainState, run_key
from vocabswap.mlm import MaskedLMObjective, MaskingConfig, MLMMasker, SequenceCorpus
from vocabswap.modeldir import (
    check_max_length,
    check_vocab_fits,
    copy_tokenizer,
    load_masked_lm,
    load_tokenizer,
)
from vocabswap.training_config import ON_CHANGE, LaptConfig

log = logging.getLogger(__name__)

ENCODER_PREFIX = ENCODER.blocks_prefix


# ----------------------------------------------------------------------------------------------------------
# freezing


def encoder_parameters(model: nn.Module, prefix: str = ENCODER_PREFIX) -> list[tuple[str, nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if n.startswith(prefix + ".")]


def set_encoder_frozen(model: nn.Module, frozen: bool, family: Family = ENCODER) -> None:
    """Freeze or unfreeze the family's transformer blocks; everything else always trains."""
    prefix = family.blocks_prefix
    blocks = encoder_parameters(model, prefix)
    if not blocks:
        raise VocabswapError(
            f"the model has no parameters under {prefix!r}; expected {family.layout_name} layout"
        )
    for _, param in model.named_parameters():
        param.requires_grad_(True)
    for _, param in blocks:
        param.requires_grad_(not frozen)
        if frozen:
            param.grad = None


def save_hf_model(model: nn.Module, model_dir: Path, dest: Path, extra: dict[str, Any]) -> None:
    """Write ``model`` as a Hugging Face directory with the input's tokenizer files, atomically."""
    with atomic_dir(dest) as tmp:
        model.save_pretrained(tmp)
        copy_tokenizer(model_dir, tmp)
        write_json(tmp / "best.json", extra)


# ----------------------------------------------------------------------------------------------------------
# the loop


def evaluate(
    objective: nn.Module,
    dev: list[MicroBatch],
    dist: Dist,
    device: torch.device,
    autocast: contextlib.AbstractContextManager,
) -> tuple[float, float]:
    """Summed cross-entropy (nats) over the dev set's fixed predictions and their number (each process a
    share; summed over all)."""
    was_training = objective.training
    objective.eval()
    total, count = 0.0, 0.0
    with torch.no_grad():
        for mb in dev[dist.rank :: dist.world]:
            with autocast:
                loss, predicted = objective(
                    mb.input_ids.to(device), mb.attention_mask.to(device), mb.labels.to(device)
                )
            total += float(loss)
            count += float(predicted)
    objective.train(was_training)
    total, count = dist.all_sum([total, count], device)
    return total, count


def dev_point(run: _Run, total: float, count: float) -> dict[str, float]:
    """The dev figures of one evaluation: the mean loss, and for a causal LM nats per token (the same) and
    bits per byte (``total / ln 2 / the dev bytes the predictions cover``)."""
    loss = total / count if count else math.nan
    if run.dev_bytes is None:
        return {"dev_loss": loss}
    return {"dev_loss": loss, "dev_nats_per_token": loss, "dev_bpb": total / math.log(2) / run.dev_bytes}


def stops_early(state: TrainState, config: LaptConfig) -> bool:
    """Early stopping as the paper code's HF ``EarlyStoppingCallback``: after ``patience`` evaluations in a
    row without a strictly lower dev loss (counted over a resume: the counter is saved)."""
    return config.patience is not None and state.evals_without_improvement >= config.patience


def run_lapt(
    model_dir: str | Path,
    train: str | Path,
    dev: str | Path,
    out: str | Path,
    config: LaptConfig,
    *,
    state_dir: str | Path | None = None,
    callback: Callback | None = None,
    on_change: str = "refuse",
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train, and write the best-dev model directory to ``out``; returns the summary (``lapt_log.json``).

    ``callback(step, model, optimizer)``, if given, is called before the first step and after every
    optimizer step (for monitoring, and for tests that inject a fault). A state directory written for other
    inputs or settings is refused (``on_change="refuse"``) or started afresh (``"restart"``); ``out`` is
    replaced at the end only if ``overwrite`` and it holds an earlier vocabswap output."""
    config.validate()
    if on_change not in ON_CHANGE:
        raise VocabswapError(f"on_change must be one of {', '.join(ON_CHANGE)}, got {on_change!r}")
    paths = RunPaths(Path(model_dir), Path(train), Path(dev), Path(out), overwrite)
    sd = StateDir(Path(state_dir) if state_dir else paths.out.with_name(paths.out.name + ".state"))
    if sd.root.resolve() == paths.out.resolve() or paths.out.resolve() in sd.root.resolve().parents:
        raise VocabswapError(f"--state-dir {sd.root} must lie outside the output {paths.out}")
    for path, role in ((paths.train, "training"), (paths.dev, "dev")):
        if not path.is_file():
            raise VocabswapError(f"{path}: no such {role} file")
    check_output_dir(paths.out, overwrite=overwrite)  # again at the end: another run may have written it
    tokenizer = load_tokenizer(paths.model_dir)  # a missing or broken model: reported before any state
    check_max_length(paths.model_dir, config.max_length)
    family = family_of_dir(paths.model_dir)
    text = _text_parts(family, tokenizer, paths.model_dir)  # a decoder without a context token: refused

    device_kind = resolve_kind(config.device)
    dist = init_distributed(device_kind)
    device = pick_device(device_kind, dist)
    created = sd.ownership() != "ours"  # this run makes (or adopts) the state directory
    try:
        _open_state(paths, config, sd, dist, on_change)
        run = _build_run(paths, config, sd, dist, device, callback, tokenizer, family, text)
        _resume_or_start(run)
        _train(run)
        return _finalise(run)
    except BaseException:
        if sd.held and created and not sd.has_checkpoint():
            sd.remove()  # nothing to resume: leave no litter
        raise
    finally:
        sd.release()
        if dist.enabled:
            torch.distributed.destroy_process_group()


def _open_state(paths: RunPaths, config: LaptConfig, sd: StateDir, dist: Dist, on_change: str) -> None:
    """Lock the state directory (main process) and make it this run's: resumable only if it was written
    for the same model, texts and settings; a stale one is refused or emptied (``on_change``)."""
    if dist.main:  # the other processes wait; an error here ends the process group
        key = run_key(paths.model_dir, paths.train, paths.dev, config)
        sd.lock()  # a foreign directory is refused before anything is written to it
        sd.claim(key, fresh=sd.check(key, on_change))
    dist.barrier()


Callback = Callable[[int, nn.Module, torch.optim.Optimizer], None]


@dataclass(frozen=True)
class RunPaths:
    model_dir: Path
    train: Path
    dev: Path
    out: Path
    overwrite: bool = False


@dataclass
class _Run:
    """One LAPT run, built once (model, objective, optimiser, scheduler, data, masker, processes); ``state``,
    ``wrapped`` and ``frozen`` change as it trains."""

    paths: RunPaths
    config: LaptConfig
    sd: StateDir
    dist: Dist
    device: torch.device
    callback: Callback | None
    family: Family
    model: nn.Module
    objective: MaskedLMObjective | CausalLMObjective
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    autocast: contextlib.AbstractContextManager
    masker: MLMMasker | NextTokenLabels
    pad_id: int
    flop_model: FlopModel
    train: SequenceCorpus
    dev: SequenceCorpus
    dev_batches: list[MicroBatch]
    stream: BatchStream
    per_process: np.ndarray  # this process's rows of every global batch
    dev_bytes: int | None = None  # causal LM: the UTF-8 bytes the dev predictions cover (bits per byte)
    settings: dict[str, Any] = field(default_factory=dict)
    state: TrainState = field(default_factory=TrainState)
    wrapped: nn.Module | None = None  # the objective, or its DDP wrapper
    frozen: bool | None = None  # None: the freeze state is to be (re)applied at the next step
    started: float = 0.0  # perf_counter origin of train_seconds


@dataclass(frozen=True)
class StepStats:
    """One optimizer step's sums over all processes, before the update."""

    loss_sum: float
    tokens: float
    positions: float
    flops_executed: float
    flops_paper: float
    n_masked: int
    grad_norm: float

    @property
    def finite(self) -> bool:
        return math.isfinite(self.loss_sum) and math.isfinite(self.grad_norm)

    @property
    def train_loss(self) -> float:
        return self.loss_sum / max(self.n_masked, 1)


def _load_corpora(
    paths: RunPaths,
    tokenizer,
    config: LaptConfig,
    sd: StateDir,
    dist: Dist,
    device: torch.device,
    specials: tuple[int, int, int] | None,
) -> tuple[SequenceCorpus, SequenceCorpus]:
    """The encoded train and dev corpora (cached in the state directory); ``specials``: a causal LM's
    (context, eos, pad), None for a masked LM's ``<s> </s> <pad>``."""
    return tuple(  # type: ignore[return-value]
        load_or_encode(
            path,
            role,
            tokenizer,
            paths.model_dir,
            config.max_length,
            config.sequences,
            sd.cache,
            dist,
            device,
            specials,
        )
        for path, role in ((paths.train, "train"), (paths.dev, "dev"))
    )


def _build_run(
    paths: RunPaths,
    config: LaptConfig,
    sd: StateDir,
    dist: Dist,
    device: torch.device,
    callback: Callback | None,
    tokenizer,
    family: Family,
    text: _TextParts,
) -> _Run:
    specials = text.specials
    train, dev = _load_corpora(paths, tokenizer, config, sd, dist, device, specials)
    model, objective, masker = _objective_parts(paths.model_dir, family, tokenizer, config)
    check_vocab_fits(paths.model_dir, tokenizer, model)
    model.to(device)
    model.train()
    pad_id = tokenizer.pad_token_id if specials is None else specials[2]
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=config.lr,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=config.weight_decay,
        fused=device.type == "cuda",
    )
    per_process = np.array_split(np.arange(config.batch_size), dist.world)[dist.rank]
    if len(per_process) == 0:
        raise VocabswapError(f"batch size {config.batch_size} is smaller than the {dist.world} processes")
    run = _Run(
        paths=paths, config=config, sd=sd, dist=dist, device=device, callback=callback, family=family,
        model=model, objective=objective, optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.LambdaLR(optimizer, lambda at: max(0.0, 1.0 - at / config.steps)),
        autocast=autocast_for(device, resolve_precision(config.precision, device)),
        masker=masker, pad_id=pad_id,
        flop_model=flop_model_for(model.config), train=train, dev=dev,
        dev_batches=prepare_dev(dev, masker, config.seed, pad_id, config.micro_batch_size * 2),
        stream=BatchStream(len(train), config.batch_size, config.seed), per_process=per_process,
    )  # fmt: skip
    if text.byte_table is not None:
        run.dev_bytes = covered_bytes(text.byte_table, objective, run.dev_batches)
    run.settings = _settings(run)
    return run


@dataclass(frozen=True)
class _TextParts:
    """How a family's text becomes sequences, and what its predictions cover in bytes."""

    specials: tuple[int, int, int] | None  # a causal LM's (context, eos, pad); None: <s> </s> <pad>
    byte_table: np.ndarray | None  # UTF-8 bytes per id (bits per byte); None for a masked LM


def _text_parts(family: Family, tokenizer, model_dir: Path) -> _TextParts:
    if family is ENCODER:
        return _TextParts(None, None)
    return _TextParts(causal_specials(tokenizer, str(model_dir)), byte_lengths(tokenizer))


def _objective_parts(
    model_dir: Path, family: Family, tokenizer, config: LaptConfig
) -> tuple[nn.Module, MaskedLMObjective | CausalLMObjective, MLMMasker | NextTokenLabels]:
    """The model with its LM head, its objective and its labeller (masked LM: 80/10/10 masking, the head
    on masked positions; causal LM: next token, no masking); with :func:`_text_parts` the only places
    LAPT's families differ."""
    if family is ENCODER:
        model = load_masked_lm(model_dir)
        masker = MLMMasker.for_tokenizer(tokenizer, MaskingConfig(probability=config.mlm_probability))
        return model, MaskedLMObjective(model, head=config.head), masker
    model = family.load_model(model_dir, attn_implementation="sdpa")
    return model, CausalLMObjective(model), NextTokenLabels()


def _settings(run: _Run) -> dict[str, Any]:
    """The config as run: with the derived values (frozen steps, processes, accumulation, precision)."""
    config = run.config
    settings = dataclasses.asdict(config)
    settings.update(
        frozen_steps=config.frozen_steps,
        world_size=run.dist.world,
        per_process_batch=len(run.per_process),
        accumulation_steps=-(-len(run.per_process) // config.micro_batch_size),
        device=str(run.device),
        precision=resolve_precision(config.precision, run.device),  # as run: bf16 or fp32
        precision_requested=config.precision,
    )
    return settings


def _resume_or_start(run: _Run) -> None:
    """Resume from the state directory's checkpoint, or evaluate step 0 and save the first checkpoint."""
    sd, dist = run.sd, run.dist
    if sd.has_checkpoint():  # written for this run's key (checked by _open_state)
        run.state = sd.load_checkpoint(run.model, run.optimizer, run.scheduler)
        if dist.main:
            sd.truncate_log(run.state.step)
            # precision may differ from the start's (a job moved to another CPU): the log shows it
            sd.append_log({"event": "resumed", "step": run.state.step, "precision": run.settings["precision"],
                           "time": time.time()})  # fmt: skip
        log.info("resumed from %s at step %d", sd.checkpoint, run.state.step)
        return
    run.state = TrainState(max_grad_norm=run.config.max_grad_norm)
    if dist.main:
        sd.log.unlink(missing_ok=True)
        sd.append_log({"event": "start", "step": 0, "settings": run.settings, "time": time.time()})
    point = dev_point(run, *evaluate(run.objective, run.dev_batches, dist, run.device, run.autocast))
    run.state.dev_curve.append(
        {"step": 0, **point, "tokens_seen": 0, "flops_executed": 0, "flops_paper": 0, "selectable": False}
    )  # fmt: skip
    if dist.main:
        sd.append_log({"event": "eval", "step": 0, **point})
        sd.save_checkpoint(run.model, run.optimizer, run.scheduler, run.state, run.config)
    dist.barrier()


def _train(run: _Run) -> None:
    """Optimizer steps until the last one or early stopping; a non-finite loss restarts from a checkpoint."""
    config, state = run.config, run.state
    run.wrapped = run.objective
    run.started = time.perf_counter() - state.train_seconds
    if run.callback is not None:
        run.callback(state.step, run.model, run.optimizer)
    progress = tqdm(
        total=config.steps, initial=state.step, desc="LAPT", unit="step", disable=not run.dist.main
    )
    while run.state.step < config.steps and not stops_early(run.state, config):
        step = run.state.step
        _apply_freeze(run, step)
        stats = _forward_backward(run, step)
        if not stats.finite:
            run.optimizer.zero_grad(set_to_none=True)
            _restart(run, step, "training loss")
            continue
        _optimizer_step(run, step, stats)
        progress.update(run.state.step - progress.n)  # a NaN restart moves the step back
        due = run.state.step % config.eval_every == 0 or run.state.step == config.steps
        if due and not _evaluate_and_checkpoint(run, stats.train_loss):
            _restart(run, step, "dev loss")
            continue
    progress.close()


def _apply_freeze(run: _Run, step: int) -> None:
    """Freeze or unfreeze the encoder when ``step`` crosses the schedule (or after a restart)."""
    want_frozen = step < run.config.frozen_steps
    if want_frozen == run.frozen:
        return
    set_encoder_frozen(run.model, want_frozen, run.family)
    run.frozen = want_frozen
    if run.dist.enabled:  # DDP registers hooks only on parameters that require grad: rebuild it
        run.wrapped = run.objective  # drop the old wrapper and its gradient hooks first
        run.wrapped = torch.nn.parallel.DistributedDataParallel(
            run.objective, device_ids=[run.device.index] if run.device.type == "cuda" else None
        )
    if run.dist.main and step > 0 and not run.frozen:
        run.sd.append_log({"event": "unfrozen", "step": step})


def _forward_backward(run: _Run, step: int) -> StepStats:
    """Gradients of step ``step``'s global batch (this process's micro-batches), clipped; sums over all."""
    config, dist, device = run.config, run.dist, run.device
    torch.manual_seed(sub_seed(config.seed, 3, step, dist.rank))  # dropout RNG of this step
    gen = torch.Generator().manual_seed(sub_seed(config.seed, 4, step))
    idx = run.stream.indices(step)
    if config.sequences == "lines":  # same lines, grouped by length within the step
        idx = by_length(run.train, idx)
    batch = make_global_batch(run.train, idx, run.masker, gen, run.pad_id)
    n_masked_global = int(run.objective.targets(batch.labels).numel())
    micro = split_batch(batch, run.per_process, config.micro_batch_size)
    loss_sum, tokens, positions, fl_exec, fl_paper = 0.0, 0.0, 0.0, 0.0, 0.0
    for index, mb in enumerate(micro):
        last = index == len(micro) - 1
        sync = contextlib.nullcontext() if (last or not dist.enabled) else run.wrapped.no_sync()
        with sync:
            with run.autocast:
                loss, _ = run.wrapped(
                    mb.input_ids.to(device), mb.attention_mask.to(device), mb.labels.to(device)
                )
            # Mean over the global batch's masked tokens; DDP averages over processes, hence x world.
            (loss * (dist.world / max(n_masked_global, 1))).backward()
        loss_sum += float(loss.detach())
        positions += float(mb.attention_mask.numel())
        lengths = mb.attention_mask.sum(1).tolist()
        tokens += float(sum(lengths))
        predicted = int(run.objective.targets(mb.labels).numel())
        fl = sequences_step_flops(run.flop_model, lengths, predicted, encoder_trainable=not run.frozen)
        fl_exec += fl["executed"]
        fl_paper += fl["paper"]
    trainable = [p for p in run.model.parameters() if p.requires_grad]
    grad_norm = float(torch.nn.utils.clip_grad_norm_(trainable, run.state.max_grad_norm))
    # Summed over processes: one process's NaN makes the sum NaN everywhere; the norm is already global.
    sums = dist.all_sum([loss_sum, tokens, positions, fl_exec, fl_paper], device)
    return StepStats(*sums, n_masked=n_masked_global, grad_norm=grad_norm)


def _optimizer_step(run: _Run, step: int, stats: StepStats) -> None:
    """Apply the update, count what step ``step`` saw, call the callback and log the step."""
    config, state = run.config, run.state
    lr_used = run.scheduler.get_last_lr()[0]
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    state.step = step + 1
    state.tokens_seen += int(stats.tokens)
    state.positions_seen += int(stats.positions)
    state.sequences_seen += config.batch_size
    state.flops_executed += int(stats.flops_executed)
    state.flops_paper += int(stats.flops_paper)
    state.train_seconds = time.perf_counter() - run.started
    if run.callback is not None:
        run.callback(state.step, run.model, run.optimizer)
    if run.dist.main and (state.step % config.log_every == 0 or state.step == 1):
        run.sd.append_log(
            {
                "step": state.step,
                "loss": stats.train_loss,
                "lr": lr_used,
                "grad_norm": stats.grad_norm,
                "max_grad_norm": state.max_grad_norm,
                "frozen": run.frozen,
                "epoch": run.stream.epoch_of(state.step),
                "tokens_seen": state.tokens_seen,
                "seconds": round(state.train_seconds, 3),
            }
        )


def _evaluate_and_checkpoint(run: _Run, train_loss: float) -> bool:
    """Dev loss, best model and checkpoint after this step; False (nothing recorded) if the loss is not
    finite."""
    config, state, dist, sd = run.config, run.state, run.dist, run.sd
    point = dev_point(run, *evaluate(run.objective, run.dev_batches, dist, run.device, run.autocast))
    dev_loss = point["dev_loss"]
    if not math.isfinite(dev_loss):
        return False
    state.dev_curve.append(
        {"step": state.step, **point, "train_loss": train_loss, "tokens_seen": state.tokens_seen,
         "flops_executed": state.flops_executed, "flops_paper": state.flops_paper, "selectable": True}
    )  # fmt: skip
    improved = dev_loss < state.best_loss  # strictly lower, as HF's EarlyStoppingCallback
    if improved:
        state.best_loss, state.best_step = dev_loss, state.step
    state.evals_without_improvement = 0 if improved else state.evals_without_improvement + 1
    if dist.main:
        sd.append_log({"event": "eval", "step": state.step, **point, "best": improved})
        if improved:
            save_hf_model(run.model, run.paths.model_dir, sd.best, {"step": state.step, "dev_loss": dev_loss})
        sd.save_checkpoint(run.model, run.optimizer, run.scheduler, state, config)
    dist.barrier()
    log.info("step %d: dev loss %.4f%s", state.step, dev_loss, " (best)" if improved else "")
    if stops_early(state, config):
        log.info("early stop at step %d: no better dev loss in %d evaluations", state.step, config.patience)
        if dist.main:
            sd.append_log({"event": "early_stop", "step": state.step, "best_step": state.best_step})
    return True


def _finalise(run: _Run) -> dict[str, Any]:
    """Write the best-dev model, ``lapt_log.json`` and the training log to the output, atomically; drop the
    state directory unless it is to be kept."""
    summary = _summary(run)
    sd = run.sd
    if run.dist.main:
        with atomic_dir(run.paths.out, overwrite=run.paths.overwrite) as tmp:
            for path in sd.best.iterdir():
                if path.name != "best.json":
                    shutil.copy2(path, tmp / path.name)
            write_json(tmp / "lapt_log.json", summary)
            shutil.copy2(sd.log, tmp / "training_log.jsonl")
        if not run.config.keep_state:
            sd.remove()
    run.dist.barrier()
    return summary


def _restart(run: _Run, step: int, what: str) -> None:
    """Reload the last good checkpoint and continue with the reduced max grad norm (paper Appendix B)."""
    config = run.config
    restarts = [*run.state.restarts]
    if len(restarts) >= config.max_restarts:
        raise VocabswapError(
            f"non-finite {what} at step {step} after {len(restarts)} restarts (max {config.max_restarts}); "
            "the run is diverging: lower --lr or check the initialisation"
        )
    new = run.sd.load_checkpoint(run.model, run.optimizer, run.scheduler)
    restarts.append(
        {
            "at_step": step,
            "what": what,
            "resumed_from_step": new.step,
            "max_grad_norm": config.nan_max_grad_norm,
        }
    )
    new.restarts = restarts
    new.max_grad_norm = config.nan_max_grad_norm
    msg = (
        f"non-finite {what} at step {step}: restarting from the checkpoint of step {new.step} with max "
        f"grad norm {config.nan_max_grad_norm}"
    )
    log.warning(msg)
    if run.dist.main:
        run.sd.truncate_log(new.step)
        run.sd.append_log(
            {"event": "restart", "step": new.step, "at_step": step, "what": what,
             "max_grad_norm": config.nan_max_grad_norm, "message": msg}
        )  # fmt: skip
    run.state = new
    run.frozen = None


def _summary(run: _Run) -> dict[str, Any]:
    summary = _common_summary(run)
    if run.dev_bytes is not None:  # a causal LM's: bits per byte beside the loss; an encoder's unchanged
        best = next((p for p in run.state.dev_curve if p["step"] == run.state.best_step), {})
        summary.update(
            family=run.family.name,
            dev_bytes=run.dev_bytes,
            best_dev_nats_per_token=run.state.best_loss,
            best_dev_bpb=best.get("dev_bpb", math.nan),
            init_step0=_init_step0(run.paths.model_dir),
        )
        summary["flops"].update(
            executed_note="the head on predicting positions (all but each sequence's last); frozen blocks "
            "skip weight gradients",
            paper_note="the head on all positions; training = 3 x forward (see vocabswap.flops)",
        )
    return summary


def _init_step0(model_dir: Path) -> dict[str, Any] | None:
    """The step-0 measurement ``vocabswap init --heldout`` recorded for the model LAPT started from (new
    rows' probability mass on the base's text, ...), carried into the log; None for a model without one
    (the base model itself, or an init without held-out text)."""
    import json

    path = model_dir / "init_report.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("step0")
    except (OSError, ValueError):
        return None


def _common_summary(run: _Run) -> dict[str, Any]:
    config, state, train, dev, flop_model = run.config, run.state, run.train, run.dev, run.flop_model
    frac = predicted_fraction(flop_model, config.max_length, config.mlm_probability)
    per_token = {
        "seq_len": config.max_length,
        "forward_executed": flop_model.forward_per_token(config.max_length, frac),
        "forward_paper_all_positions": flop_model.forward_per_token(config.max_length, 1.0),
    }
    return {
        "model": str(run.paths.model_dir),
        "train": str(run.paths.train),
        "dev": str(run.paths.dev),
        "out": str(run.paths.out),
        "state_dir": str(run.sd.root),
        "settings": run.settings,
        "precision": run.settings["precision"],
        "data": {
            "train_lines": train.n_lines,
            "train_tokens": train.n_tokens,
            "sequences": config.sequences,
            "train_sequences": len(train),
            "train_mean_length": float(train.lengths.mean()),
            "dev_lines": dev.n_lines,
            "dev_tokens": dev.n_tokens,
            "dev_sequences": len(dev),
        },
        "steps": state.step,
        "best_step": state.best_step,
        "best_dev_loss": state.best_loss,
        "dev_curve": state.dev_curve,
        "stopped_early": stops_early(state, config),
        "tokens_seen": state.tokens_seen,
        "positions_seen": state.positions_seen,
        "padding_share": 1 - state.tokens_seen / state.positions_seen if state.positions_seen else 0.0,
        "tokens_per_step": state.tokens_seen / state.step if state.step else 0.0,
        "sequences_seen": state.sequences_seen,
        "epochs": state.sequences_seen / len(train),
        "flops": {
            "executed": state.flops_executed,
            "paper": state.flops_paper,
            "executed_note": "masked-positions-only MLM head; frozen blocks skip weight gradients",
            "paper_note": "all-positions MLM head; training = 3 x forward (see vocabswap.flops)",
            "per_token": per_token,
        },
        "restarts": state.restarts,
        "final_max_grad_norm": state.max_grad_norm,
        "train_seconds": state.train_seconds,
    }
