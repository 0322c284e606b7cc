"""Seeded POS/NER fine-tuning of a model directory and the result JSON (paper Table 7, Appendix B).

Encoders and decoders alike: the model's family (:mod:`vocabswap.family`, read from its config) says how
its body is loaded, how a window is laid out and how a word's pieces are pooled (:mod:`vocabswap.tagging`);
the result JSON's settings record ``family``, ``pooling`` and ``first_word_prefix_space``.

Defaults are the paper's: Adam, lr 5e-6 constant, batch 72 sequences, max length 256 (longer sentences
are split into windows of whole words), at most 64 (POS) / 32 (NER, the paper's configs; Table 7 says 64)
epochs, dev every 2 epochs, early stopping after 8 (POS) or 4 (NER) epochs without a better dev score, max
grad norm 1.0, no dropout before the linear layer, training data capped at a random 32,768-sentence subset
drawn per seed. The test score is that of the best-dev epoch's weights.

Batches (:func:`epoch_batches`): each epoch shuffles the training windows and slices them into batches, as
the paper's code did (``group_by_length`` 1, the default). ``group_by_length`` N > 1 batches them by length
within groups of N batches, so that a training batch pads ~1.1x instead of ~2.2x (config/showcase.yaml: 16).

Early stopping (:func:`should_stop`): by default a strictly better dev score resets the count and the run
stops once ``patience`` epochs pass without one. ``paper_compat`` uses the paper code's rule: patience is
counted in evaluations (``patience // eval_every``: POS 4, NER 2), a tie counts as an improvement (and
its weights are kept), and the run stops at the ``patience + 1``-th evaluation in a row without one.

Metrics: POS = UPOS accuracy over all words; NER = entity-level F1 (seqeval, conlleval-style matching)
over sentences; ``paper_compat`` concatenates the sentences of each evaluation batch before scoring, as the
paper's code did, and uses the double softmax in the loss (:mod:`vocabswap.tagging`).

Labels: the label set is the set of tags in the training data. A dev/test tag that never occurs in train
cannot be predicted: its words count as wrong (POS) and its entities as missed (NER). The run goes on,
logs a warning, and lists such tags with their counts under ``unseen_labels`` in the result JSON.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from vocabswap.atomic import write_json
from vocabswap.data.tagged import read_tagged
from vocabswap.device import autocast_for, pick_device, resolve_precision, sub_seed
from vocabswap.errors import VocabswapError
from vocabswap.family import Family, family_of_dir
from vocabswap.modeldir import check_max_length, check_vocab_fits, load_tokenizer
from vocabswap.registry import OFF_THE_SHELF
from vocabswap.tagging import (
    Layout,
    Windows,
    WordTagger,
    adds_prefix_space,
    collate_windows,
    encode_sentences,
    layout_for,
    tagging_loss,
)
from vocabswap.training_config import FinetuneConfig

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")

Sentences = list[tuple[list[str], list[str]]]


def improves(score: float, best: float, *, paper_compat: bool) -> bool:
    """A better dev score; under ``paper_compat`` a tie counts too (the paper code's ``>=``)."""
    return score >= best if paper_compat else score > best


def should_stop(epoch: int, best_epoch: int, bad_evals: int, config: FinetuneConfig) -> bool:
    """Early stopping after an evaluation without improvement (module docstring)."""
    if config.paper_compat:  # patience in evaluations; the (patience + 1)-th bad one in a row stops
        return bad_evals > config.effective_patience // config.eval_every
    return epoch - best_epoch >= config.effective_patience


def cap_train(train: Sentences, cap: int, seed: int) -> Sentences:
    """A random ``cap``-sentence subset (file order kept), drawn anew for every seed as the paper's
    code did (it shuffled with the seed, then kept the first ``cap``); all of ``train`` if it fits."""
    if len(train) <= cap:
        return list(train)
    keep = np.sort(np.random.default_rng(sub_seed(seed, 12)).permutation(len(train))[:cap])
    return [train[i] for i in keep]


def read_eval_dir(data_dir: Path) -> dict[str, Sentences]:
    """``train.tsv``/``dev.tsv``/``test.tsv`` of an evaluation data directory; empty splits are errors."""
    if not data_dir.is_dir():
        raise VocabswapError(
            f"{data_dir}: not a directory; expected an evaluation data dir with train/dev/test.tsv"
        )
    data = {}
    for split in SPLITS:
        path = data_dir / f"{split}.tsv"
        data[split] = read_tagged(path)
        if not data[split]:
            hint = " (a test-only language cannot be fine-tuned on)" if split != "test" else ""
            raise VocabswapError(f"{path}: no sentences in the {split} split{hint}")
    return data


def label_set(train: Sentences, task: str) -> list[str]:
    tags = sorted({t for _, ts in train for t in ts})
    if task == "ner" and "O" in tags:
        tags.remove("O")
        tags.insert(0, "O")
    return tags


def unseen_labels(sentences: Sentences, known: set[str]) -> dict[str, int]:
    counts = Counter(t for _, ts in sentences for t in ts if t not in known)
    return dict(sorted(counts.items()))


def load_encoder(model_dir: Path):
    """The body of the model in ``model_dir`` without its LM head, by its family (:mod:`vocabswap.family`)."""
    return family_of_dir(model_dir).load_body(model_dir)


def predict(
    model: WordTagger,
    windows: Windows,
    batch_size: int,
    pad_id: int,
    device: torch.device,
    autocast: contextlib.AbstractContextManager,
) -> list[np.ndarray]:
    """Predicted label ids per sentence (windows re-joined in order). Batches are taken in
    :func:`prediction_order`."""
    model.eval()
    per_window: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(windows)
    order = prediction_order(windows, attend_padding=model.attend_padding)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            b = collate_windows(windows, rows, pad_id)
            with autocast:
                logits = model(
                    b.input_ids.to(device), b.attention_mask.to(device), b.word_index.to(device), b.n_words
                )
            pred = logits.argmax(-1).cpu().numpy()
            bounds = np.cumsum([len(windows.labels[r]) for r in rows])[:-1]
            for row, part in zip(rows, np.split(pred, bounds), strict=True):
                per_window[row] = part
    model.train()
    out: list[list[np.ndarray]] = [[] for _ in range(windows.n_sentences)]
    for w, s in enumerate(windows.sentence):
        out[s].append(per_window[w])
    return [np.concatenate(parts) for parts in out]


def prediction_order(windows: Windows, *, attend_padding: bool) -> np.ndarray:
    """The order in which :func:`predict` batches the windows: longest first, so that a batch pads little
    (evaluation in corpus order padded the dev and test windows to about twice their length). A window's
    prediction does not depend on its batch where padding is masked. Where it is attended
    (``paper_compat``: the paper's tagger ran without an attention mask) the batch changes the outputs, so
    the windows keep their corpus order, as the paper's evaluation batched them."""
    if attend_padding:
        return np.arange(len(windows))
    lengths = np.array([len(ids) for ids in windows.input_ids])
    return np.argsort(-lengths, kind="stable")


def score(
    task: str,
    gold: Sentences,
    pred_ids: list[np.ndarray],
    labels: list[str],
    *,
    paper_compat: bool,
    batch_size: int,
) -> dict[str, float]:
    """POS: accuracy over words. NER: entity-level precision/recall/F1 (seqeval) per sentence, or over
    batch-concatenated sentences with ``paper_compat``."""
    names = np.array(labels, dtype=object)
    for i, ((words, _), p) in enumerate(zip(gold, pred_ids, strict=True)):
        if len(p) != len(words):  # every word is predicted exactly once, windows or not
            raise AssertionError(f"sentence {i}: {len(words)} words but {len(p)} predictions")
    if task == "pos":
        correct = sum(
            int((names[p] == np.array(tags, dtype=object)).sum())
            for (_, tags), p in zip(gold, pred_ids, strict=True)
        )
        total = sum(len(tags) for _, tags in gold)
        return {"accuracy": correct / total}
    from seqeval.metrics import f1_score, precision_score, recall_score

    y_true = [list(tags) for _, tags in gold]
    y_pred = [list(names[p]) for p in pred_ids]
    if paper_compat:
        y_true = [
            list(itertools.chain(*y_true[i : i + batch_size])) for i in range(0, len(y_true), batch_size)
        ]
        y_pred = [
            list(itertools.chain(*y_pred[i : i + batch_size])) for i in range(0, len(y_pred), batch_size)
        ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns when there is no predicted entity (F1 = 0)
        return {
            "f1": float(f1_score(y_true, y_pred)),
            "precision": float(precision_score(y_true, y_pred)),
            "recall": float(recall_score(y_true, y_pred)),
        }


def _label_warnings(data: dict[str, Sentences], labels: list[str], data_dir: Path) -> tuple[dict, list[str]]:
    """Dev/test tags never seen in train (they count as errors), with one warning per split."""
    unseen = {s: unseen_labels(data[s], set(labels)) for s in ("dev", "test")}
    warn = []
    for split, counts in unseen.items():
        if counts:
            msg = (
                f"{data_dir / (split + '.tsv')}: tags never seen in train {counts}; "
                "they cannot be predicted and count as errors"
            )
            log.warning(msg)
            warn.append(msg)
    return unseen, warn


def _encode_splits(
    splits: dict[str, Sentences], tokenizer, label_ids: dict[str, int], max_length: int, layout: Layout
) -> tuple[dict[str, Windows], list[str]]:
    """Every split as windows of whole words, and a warning per split whose over-long words were cut."""
    windows = {s: encode_sentences(d, tokenizer, label_ids, max_length, layout) for s, d in splits.items()}
    warn = []
    for split, w in windows.items():
        if w.split_sentences:
            log.info("%s: %d sentences longer than %d: windows", split, w.split_sentences, max_length)
        if w.truncated_words:
            budget = max_length - layout.n_specials
            warn.append(f"{split}: {w.truncated_words} words with more than {budget} sub-words cut")
    return windows, warn


@dataclass
class _Run:
    """One fine-tuning run, built once: the model, optimiser, encoded splits and settings."""

    config: FinetuneConfig
    model: WordTagger
    optimizer: torch.optim.Optimizer
    windows: dict[str, Windows]
    gold: dict[str, Sentences]
    labels: list[str]
    o_label: int | None
    pad_id: int
    device: torch.device
    autocast: contextlib.AbstractContextManager
    pending: int = 0  # batches backpropagated since the last optimizer step (carried across epochs)

    @property
    def metric(self) -> str:
        return "accuracy" if self.config.task == "pos" else "f1"


def _build_run(model_dir: Path, prepared: _Prepared, config: FinetuneConfig) -> _Run:
    tokenizer, labels, windows, gold = prepared.tokenizer, prepared.labels, prepared.windows, prepared.splits
    device = pick_device(config.device)
    autocast = autocast_for(device, resolve_precision(config.precision, device))
    torch.manual_seed(sub_seed(config.seed, 10))  # head initialisation and dropout
    body = prepared.family.load_body(model_dir)
    check_vocab_fits(model_dir, tokenizer, body)
    model = WordTagger(
        body,
        len(labels),
        config.dropout,
        attend_padding=config.paper_compat,
        pooling=prepared.family.word_pooling,
    ).to(device)
    model.train()
    # torch's fused Adam on both device kinds: on a CPU a step of the off-the-shelf e5-small (117M
    # parameters, 96M of them the 250k-row embedding matrix) is 9.7x faster than the per-tensor loop
    # (bench/finetune_speed.py)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=device.type in ("cpu", "cuda"))
    o_label = labels.index("O") if config.task == "ner" and "O" in labels else None
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return _Run(config, model, optimizer, windows, gold, labels, o_label, pad_id, device, autocast)


def epoch_batches(
    lengths: np.ndarray, batch_size: int, group: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """One epoch's training batches, as rows of the training windows (``lengths``: each window's ids).

    The windows are shuffled. With ``group`` > 1 the shuffled order is then cut into groups of ``group``
    batches; each group is sorted longest first and cut into batches, and the batches are shuffled. A batch
    thus holds windows of like length and pads little (UD Hebrew in 128-id windows, batch 16: 1.11x its
    real ids at group 16 against 2.19x shuffled, bench/finetune_speed.py), while which windows meet stays
    random within a group.
    ``group`` 1 is plain shuffled batches, as the authors' code drew them, with the same random draws."""
    order = rng.permutation(len(lengths))
    if group <= 1:
        return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    span = group * batch_size
    batches: list[np.ndarray] = []
    for first in range(0, len(order), span):
        rows = order[first : first + span]
        rows = rows[np.argsort(-lengths[rows], kind="stable")]
        batches += [rows[start : start + batch_size] for start in range(0, len(rows), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _train_epoch(run: _Run, epoch: int) -> float:
    """One pass over the training windows in this epoch's seeded batches; the mean training loss."""
    config, train_w = run.config, run.windows["train"]
    rng = np.random.default_rng(sub_seed(config.seed, 11, epoch))
    lengths = np.array([len(ids) for ids in train_w.input_ids])
    losses = []
    for rows in epoch_batches(lengths, config.batch_size, config.group_by_length, rng):
        b = collate_windows(train_w, rows, run.pad_id)
        with run.autocast:
            logits = run.model(
                b.input_ids.to(run.device),
                b.attention_mask.to(run.device),
                b.word_index.to(run.device),
                b.n_words,
            )
        loss = tagging_loss(
            logits, b.labels.to(run.device), o_label=run.o_label, paper_compat=config.paper_compat
        )
        loss.backward()  # summed over the accumulated batches, as the authors' train_model did
        run.pending += 1
        if run.pending >= config.accumulation:
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), config.max_grad_norm)
            run.optimizer.step()
            run.optimizer.zero_grad(set_to_none=True)
            run.pending = 0
        losses.append(float(loss.detach()))
    return float(np.mean(losses))


def _evaluate(run: _Run, split: str) -> dict[str, float]:
    pred = predict(run.model, run.windows[split], run.config.batch_size, run.pad_id, run.device, run.autocast)
    return score(
        run.config.task,
        run.gold[split],
        pred,
        run.labels,
        paper_compat=run.config.paper_compat,
        batch_size=run.config.batch_size,
    )


def _fit(run: _Run) -> dict[str, Any]:
    """Train with dev evaluations and early stopping (:func:`should_stop`); the model ends on the best-dev
    weights. Returns the best dev score and epoch, the epochs run and the dev curve."""
    config, max_epochs = run.config, run.config.effective_max_epochs
    best_score, best_epoch, best_state, bad_evals = -math.inf, 0, None, 0
    curve: list[dict[str, Any]] = []
    epoch = 0
    for epoch in tqdm(range(1, max_epochs + 1), desc=f"fine-tune {config.task}", unit="epoch"):
        train_loss = _train_epoch(run, epoch)
        if epoch % config.eval_every and epoch != max_epochs:
            continue
        dev = _evaluate(run, "dev")
        curve.append({"epoch": epoch, "dev": dev[run.metric], "dev_metrics": dev, "train_loss": train_loss})
        log.info("epoch %d: train loss %.4f, dev %s %.4f", epoch, train_loss, run.metric, dev[run.metric])
        if improves(dev[run.metric], best_score, paper_compat=config.paper_compat):
            best_score, best_epoch, bad_evals = dev[run.metric], epoch, 0
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in run.model.state_dict().items()}
        elif should_stop(epoch, best_epoch, bad_evals := bad_evals + 1, config):
            break
    assert best_state is not None
    run.model.load_state_dict(best_state)
    return {
        "best_dev": best_score,
        "best_epoch": best_epoch,
        "epochs_run": epoch,
        "stopped_early": epoch < max_epochs,
        "dev_curve": curve,
    }


def run_finetune(
    model_dir: str | Path,
    data_dir: str | Path,
    out: str | Path,
    config: FinetuneConfig,
    *,
    annotate: Callable[[], Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Fine-tune one seed, evaluate the best-dev epoch on test, write the result JSON atomically, once.

    ``annotate()``, if given, is called after the test evaluation; its entries (e.g. the table cell and
    provenance, :func:`table_cell`) are appended to the result before it is written."""
    config.validate()
    model_dir, data_dir, out = Path(model_dir), Path(data_dir), Path(out)
    check_max_length(model_dir, config.max_length)
    started = time.perf_counter()
    prepared = _prepare(model_dir, data_dir, config)
    run = _build_run(model_dir, prepared, config)
    fit = _fit(run)
    test = _evaluate(run, "test")
    result = _record(run, prepared, fit, test, model_dir, data_dir)
    result["seconds"] = round(time.perf_counter() - started, 2)
    if annotate is not None:
        result.update(annotate())
    write_json(out, result)
    return result


@dataclass
class _Prepared:
    """The evaluation data read, capped, labelled and encoded, with what was reported on the way."""

    tokenizer: Any
    family: Family
    layout: Layout
    data: dict[str, Sentences]  # as read (train uncapped)
    splits: dict[str, Sentences]  # train capped
    labels: list[str]
    windows: dict[str, Windows]
    unseen: dict[str, dict[str, int]]
    warnings: list[str]


def _prepare(model_dir: Path, data_dir: Path, config: FinetuneConfig) -> _Prepared:
    tokenizer = load_tokenizer(model_dir)
    family = family_of_dir(model_dir)
    layout = layout_for(family, tokenizer)
    data = read_eval_dir(data_dir)
    train = cap_train(data["train"], config.train_cap, config.seed)
    labels = label_set(train, config.task)
    if len(labels) < 2:
        raise VocabswapError(f"{data_dir / 'train.tsv'}: only one tag ({labels[0]}); nothing to learn")
    unseen, warn = _label_warnings(data, labels, data_dir)
    splits = {"train": train, "dev": data["dev"], "test": data["test"]}
    label_ids = {t: i for i, t in enumerate(labels)}
    windows, cut = _encode_splits(splits, tokenizer, label_ids, config.max_length, layout)
    return _Prepared(tokenizer, family, layout, data, splits, labels, windows, unseen, warn + cut)


def _record(
    run: _Run,
    prepared: _Prepared,
    fit: dict[str, Any],
    test: dict[str, float],
    model_dir: Path,
    data_dir: Path,
) -> dict[str, Any]:
    """The result JSON's content (without ``seconds``, which the caller adds last)."""
    config, data, windows = run.config, prepared.data, prepared.windows
    settings = dataclasses.asdict(config)
    settings.update(
        patience=config.effective_patience,
        max_epochs=config.effective_max_epochs,
        device=str(run.device),
        precision=resolve_precision(config.precision, run.device),  # as run: bf16 or fp32
        precision_requested=config.precision,
        family=prepared.family.name,  # how the model was read and its words pooled (vocabswap.tagging)
        pooling=prepared.family.word_pooling,
        first_word_prefix_space=adds_prefix_space(prepared.tokenizer),
    )
    return {
        "task": config.task,
        "metric": run.metric,
        "score": test[run.metric],
        "test_metrics": test,
        **fit,
        "seed": config.seed,
        "paper_compat": config.paper_compat,
        "precision": settings["precision"],
        "settings": settings,
        "model": str(model_dir),
        "data": str(data_dir),
        "n_sentences": {
            "train": len(prepared.splits["train"]),
            "train_total": len(data["train"]),
            "dev": len(data["dev"]),
            "test": len(data["test"]),
        },
        "n_windows": {s: len(w) for s, w in windows.items()},
        "split_sentences": {s: w.split_sentences for s, w in windows.items()},
        "truncated_words": {s: w.truncated_words for s, w in windows.items()},
        "labels": prepared.labels,
        "unseen_labels": prepared.unseen,
        "warnings": prepared.warnings,
    }


def table_cell(wildcards: Mapping[str, str], model_dir: str | Path) -> dict[str, Any]:
    """The results-table cell a workflow job's result fills (from its wildcards), and the LAPT cost of its
    model (Figure 4) when the model was LAPT-trained (has ``lapt_log.json``)."""
    size = wildcards.get("size", "")
    entries: dict[str, Any] = {
        "cell": {
            "target": wildcards.get("target", OFF_THE_SHELF),
            "regime": wildcards.get("regime", ""),
            "method": wildcards.get("method", ""),
            "size": int(size) if size.isdigit() else size,
            "lang": wildcards["lang"],
            "task": wildcards["task"],
            "seed": int(wildcards["seed"]),
        }
    }
    lapt_log = Path(model_dir) / "lapt_log.json"
    if lapt_log.is_file():
        summary = json.loads(lapt_log.read_text(encoding="utf-8"))
        entries["lapt"] = {k: summary[k] for k in ("flops", "steps", "best_step", "best_dev_loss")}
    return entries
