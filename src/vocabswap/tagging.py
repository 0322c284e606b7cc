"""Word-level sequence tagging (POS, NER) on a pre-trained encoder: the paper's tagger (Appendix B).

* The whole encoder plus one linear layer; a word's vector is the mean of its sub-word vectors
  (:func:`scatter_mean`, one ``index_add_`` over the batch, no loop over words).
* A sentence longer than the maximum sequence length is split into windows of whole words
  (:func:`encode_sentences`); every word is tagged exactly once and nothing is cut silently. A single word
  with more sub-words than fit in one window keeps its first ``max_length - 2`` sub-words, and the number
  of such words is reported.
* NER loss (:func:`tagging_loss`): per batch, when ``O`` words outnumber the entity words they are
  down-weighted so that together they weigh as much as the entity words: weight ``n_entity / n_O`` for
  ``O``, 1 for the others, loss = Σ w·CE / Σ w. ``O`` is never up-weighted: a batch with at least as many
  entity words as ``O`` words (or none of either) takes the plain mean, as in the paper's code.
* ``paper_compat`` reproduces the paper code's double softmax (cross-entropy applied to softmax outputs)
  and runs the encoder without an attention mask (padding is attended), as the paper's tagger did.
* No dropout before the linear layer by default: the paper's tagger has none (the encoder's own dropout
  still applies in training).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vocabswap.errors import VocabswapError

log = logging.getLogger(__name__)

UNKNOWN_LABEL = -1  # a dev/test label that never occurs in train: never predicted, always counted wrong


def scatter_mean(hidden: torch.Tensor, word_index: torch.Tensor, n_words: int) -> torch.Tensor:
    """Mean of the sub-word vectors of every word.

    ``hidden`` ``[B, L, d]``; ``word_index`` ``[B, L]`` gives each position's word number in the batch
    (0 .. n_words-1) or -1 for positions that belong to no word (``<s>``, ``</s>``, padding).
    Returns ``[n_words, d]``.
    """
    flat = hidden.reshape(-1, hidden.shape[-1])
    idx = word_index.reshape(-1)
    keep = idx >= 0
    idx, flat = idx[keep], flat[keep]
    sums = torch.zeros(n_words, flat.shape[-1], dtype=flat.dtype, device=flat.device).index_add_(0, idx, flat)
    counts = torch.zeros(n_words, dtype=flat.dtype, device=flat.device).index_add_(
        0, idx, torch.ones_like(idx, dtype=flat.dtype)
    )
    return sums / counts.clamp_min(1).unsqueeze(-1)


def tagging_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    *,
    o_label: int | None = None,
    paper_compat: bool = False,
) -> torch.Tensor:
    """Cross-entropy over words; with ``o_label`` (NER) the per-batch ``O`` down-weighting above.

    ``paper_compat`` applies softmax before the cross-entropy (the paper code's double softmax)."""
    if paper_compat:
        logits = torch.softmax(logits, dim=-1)
    ce = F.cross_entropy(logits.float(), labels, reduction="none")
    if o_label is None:
        return ce.mean()
    is_o = labels == o_label
    n_o, n_entity = is_o.sum(), (~is_o).sum()
    if int(n_entity) == 0 or int(n_o) <= int(n_entity):  # never up-weight O
        return ce.mean()
    weights = torch.where(is_o, n_entity.to(ce.dtype) / n_o.to(ce.dtype), torch.ones_like(ce))
    return (weights * ce).sum() / weights.sum()


class WordTagger(nn.Module):
    """Encoder + dropout + linear layer over mean-pooled word vectors.

    ``attend_padding`` runs the encoder without an attention mask, as the paper's code did
    (``paper_compat``): padding positions are attended, so a word's vector depends on the batch."""

    def __init__(
        self, encoder: nn.Module, n_labels: int, dropout: float = 0.0, *, attend_padding: bool = False
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_labels)
        self.attend_padding = attend_padding

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, word_index: torch.Tensor, n_words: int
    ) -> torch.Tensor:
        mask = None if self.attend_padding else attention_mask
        hidden = self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        return self.head(self.dropout(scatter_mean(hidden, word_index, n_words)))


@dataclass
class Windows:
    """Sentences encoded as windows of whole words, each ``<s> sub-words </s>``, at most max_length ids."""

    input_ids: list[np.ndarray]
    word_index: list[np.ndarray]  # per window: word number (within the window) of every id; -1 = special
    labels: list[np.ndarray]  # per window: one label id per word
    sentence: np.ndarray  # sentence number of every window
    n_sentences: int
    split_sentences: int  # sentences that needed more than one window
    truncated_words: int  # words whose sub-words alone exceed a window

    def __len__(self) -> int:
        return len(self.input_ids)


def word_pieces(words: Sequence[str], tokenizer) -> dict[str, list[int]]:
    """Sub-word ids of every distinct word, tokenised in one batched call; a word that the tokenizer
    turns into nothing (e.g. a lone control character) becomes ``<unk>`` so that every word has a vector."""
    unique = sorted(set(words))
    ids = tokenizer(unique, add_special_tokens=False)["input_ids"] if unique else []
    unk = tokenizer.unk_token_id
    return {w: (x if x else [unk]) for w, x in zip(unique, ids, strict=True)}


def encode_sentences(
    sentences: Sequence[tuple[Sequence[str], Sequence[str]]],
    tokenizer,
    label_ids: dict[str, int],
    max_length: int,
) -> Windows:
    """Encode tagged sentences into windows; unseen labels become :data:`UNKNOWN_LABEL`."""
    if max_length < 3:
        raise VocabswapError(f"max length must be at least 3, got {max_length}")
    budget = max_length - 2
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    if bos is None:
        bos = tokenizer.cls_token_id
    if eos is None:
        eos = tokenizer.sep_token_id
    pieces = word_pieces([w for words, _ in sentences for w in words], tokenizer)
    ids_out, widx_out, lab_out, sent_out = [], [], [], []
    split_sentences = truncated = 0
    for s, (words, tags) in enumerate(sentences):
        word_ids = [pieces[w] for w in words]
        for i, p in enumerate(word_ids):
            if len(p) > budget:
                word_ids[i] = p[:budget]
                truncated += 1
        labels = np.array([label_ids.get(t, UNKNOWN_LABEL) for t in tags], dtype=np.int64)
        lengths = np.array([len(p) for p in word_ids], dtype=np.int64)
        start, n_windows = 0, 0
        while start < len(words):
            # the longest run of whole words from `start` that fits the budget (at least one word)
            fits = np.searchsorted(np.cumsum(lengths[start:]), budget, side="right")
            end = start + max(1, int(fits))
            chunk = word_ids[start:end]
            sub_lens = lengths[start:end]
            ids_out.append(np.array([bos, *[i for p in chunk for i in p], eos], dtype=np.int64))
            widx_out.append(np.concatenate([[-1], np.repeat(np.arange(end - start), sub_lens), [-1]]))
            lab_out.append(labels[start:end])
            sent_out.append(s)
            start, n_windows = end, n_windows + 1
        split_sentences += n_windows > 1
    if truncated:
        log.warning(
            "%d words have more than %d sub-words; only their first %d are used", truncated, budget, budget
        )
    return Windows(
        input_ids=ids_out,
        word_index=widx_out,
        labels=lab_out,
        sentence=np.array(sent_out, dtype=np.int64),
        n_sentences=len(sentences),
        split_sentences=int(split_sentences),
        truncated_words=truncated,
    )


@dataclass(frozen=True)
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    word_index: torch.Tensor
    labels: torch.Tensor
    n_words: int


def collate_windows(windows: Windows, rows: np.ndarray, pad_id: int) -> Batch:
    """Pad the chosen windows; word numbers become batch-global (window-major order)."""
    lens = np.array([len(windows.input_ids[r]) for r in rows])
    width = int(lens.max())
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    widx = np.full((len(rows), width), -1, dtype=np.int64)
    offset = 0
    labels = []
    for i, r in enumerate(rows):
        n = lens[i]
        ids[i, :n] = windows.input_ids[r]
        local = windows.word_index[r]
        widx[i, :n] = np.where(local >= 0, local + offset, -1)
        labels.append(windows.labels[r])
        offset += len(windows.labels[r])
    am = (np.arange(width)[None, :] < lens[:, None]).astype(np.int64)
    return Batch(
        input_ids=torch.from_numpy(ids),
        attention_mask=torch.from_numpy(am),
        word_index=torch.from_numpy(widx),
        labels=torch.from_numpy(np.concatenate(labels)),
        n_words=offset,
    )
