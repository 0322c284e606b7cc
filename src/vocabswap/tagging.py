"""Word-level sequence tagging (POS, NER) on a pre-trained encoder or decoder: the paper's tagger
(Appendix B), with what differs between the two families read from :mod:`vocabswap.family`.

* The whole model body (no LM head) plus one linear layer. A word's vector is pooled from its sub-word
  vectors by the family's rule (:func:`pool_words`; vectorised, no loop over words):

  - encoder: the mean of its sub-word vectors (:func:`scatter_mean`, one ``index_add_``), the paper's rule;
    every piece has attended to the whole window, so each carries the word's full context.
  - decoder: its last sub-word's vector (:func:`last_piece`, one ``scatter_reduce`` + gather). Under
    causal attention a piece sees only what precedes it: the last piece is the one position whose state
    has attended to every piece of the word (and to the words before it); the mean would mix in first
    pieces that have not yet seen the rest of the word. Nothing after the word is seen either way.
* Window layout (:class:`Layout`): encoder ``<s> sub-words </s>``; decoder the context token
  (:func:`vocabswap.causal_lm.context_id`, as LAPT and bits per byte condition a line on it) then the
  sub-words, with no closing token (no word would attend to it). Padding is on the right with an attention
  mask (a decoder's positions then count from 0 in every window, as in LAPT).
* A word's sub-words: an encoder's SentencePiece tokenizer marks every word start itself (``▁``), so a
  word is tokenised alone. A byte-level BPE marks a word start by the space before it (``Ġ``), so every
  word but a sentence's first is tokenised as ``" " + word``, the pieces it has in running text; the first
  word is tokenised alone, and whether it gets a prefix space is the tokenizer's own pre-tokenizer's call
  (``add_prefix_space``; SmolLM2's says no), recorded by :func:`adds_prefix_space`. A word keeps the same
  pieces in whatever window it lands.
* A sentence longer than the maximum sequence length is split into windows of whole words
  (:func:`encode_sentences`); every word is tagged exactly once and nothing is cut silently. A single word
  with more sub-words than fit in one window (``max_length`` less the window's special tokens) keeps its
  first ones, and the number of such words is reported.
* NER loss (:func:`tagging_loss`): per batch, when ``O`` words outnumber the entity words they are
  down-weighted so that together they weigh as much as the entity words: weight ``n_entity / n_O`` for
  ``O``, 1 for the others, loss = Σ w·CE / Σ w. ``O`` is never up-weighted: a batch with at least as many
  entity words as ``O`` words (or none of either) takes the plain mean, as in the paper's code.
* ``paper_compat`` reproduces the paper code's double softmax (cross-entropy applied to softmax outputs)
  and runs the encoder without an attention mask (padding is attended), as the paper's tagger did (a
  decoder's right padding is never attended under causal attention, mask or not).
* No dropout before the linear layer by default: the paper's tagger has none (the encoder's own dropout
  still applies in training).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vocabswap.errors import VocabswapError

if TYPE_CHECKING:
    from vocabswap.family import Family

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


def last_piece(hidden: torch.Tensor, word_index: torch.Tensor, n_words: int) -> torch.Tensor:
    """The vector of every word's last sub-word (the highest position that carries its number).

    Same arguments as :func:`scatter_mean`; returns ``[n_words, d]``. A word number that occurs at no
    position is an error (every word has at least one sub-word)."""
    flat = hidden.reshape(-1, hidden.shape[-1])
    idx = word_index.reshape(-1)
    keep = idx >= 0
    positions = torch.arange(idx.numel(), device=idx.device)
    last = torch.full((n_words,), -1, dtype=positions.dtype, device=idx.device)
    last = last.scatter_reduce(0, idx[keep], positions[keep], reduce="amax")
    if bool((last < 0).any()):
        raise ValueError(f"word {int(torch.nonzero(last < 0)[0])} has no sub-word in the batch")
    return flat[last]


POOLINGS = {"mean": scatter_mean, "last": last_piece}


def pool_words(hidden: torch.Tensor, word_index: torch.Tensor, n_words: int, pooling: str) -> torch.Tensor:
    """Word vectors by the named pooling (``mean`` or ``last``, the family's ``word_pooling``)."""
    return POOLINGS[pooling](hidden, word_index, n_words)


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
    """Model body + dropout + linear layer over pooled word vectors (``pooling``: :data:`POOLINGS`).

    ``attend_padding`` runs the body without an attention mask, as the paper's code did
    (``paper_compat``): padding positions are attended, so a word's vector depends on the batch."""

    def __init__(
        self,
        encoder: nn.Module,
        n_labels: int,
        dropout: float = 0.0,
        *,
        attend_padding: bool = False,
        pooling: str = "mean",
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise VocabswapError(f"unknown word pooling {pooling!r}; expected one of {sorted(POOLINGS)}")
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_labels)
        self.attend_padding = attend_padding
        self.pooling = pooling

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, word_index: torch.Tensor, n_words: int
    ) -> torch.Tensor:
        mask = None if self.attend_padding else attention_mask
        hidden = self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        return self.head(self.dropout(pool_words(hidden, word_index, n_words, self.pooling)))


@dataclass
class Windows:
    """Sentences encoded as windows of whole words (laid out by a :class:`Layout`), at most max_length ids."""

    input_ids: list[np.ndarray]
    word_index: list[np.ndarray]  # per window: word number (within the window) of every id; -1 = special
    labels: list[np.ndarray]  # per window: one label id per word
    sentence: np.ndarray  # sentence number of every window
    n_sentences: int
    split_sentences: int  # sentences that needed more than one window
    truncated_words: int  # words whose sub-words alone exceed a window

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True)
class Layout:
    """A window's layout: the id that opens it, the id that closes it (``None``: none) and the text put
    before every word but a sentence's first before it is tokenised (module docstring)."""

    start: int
    end: int | None
    word_space: str = ""

    @property
    def n_specials(self) -> int:
        return 1 + (self.end is not None)

    def word_ids(self, ids: list[int]) -> list[int]:
        """A window's ids around its words' sub-word ids."""
        return [self.start, *ids] if self.end is None else [self.start, *ids, self.end]

    def word_index(self, word_numbers: np.ndarray) -> np.ndarray:
        """A window's word numbers around its sub-words' (-1 on the special tokens)."""
        return np.concatenate([[-1], word_numbers] if self.end is None else [[-1], word_numbers, [-1]])


def layout_for(family: Family, tokenizer) -> Layout:
    """The window layout of a model family (:meth:`Family.window_ids`, ``word_space``)."""
    start, end = family.window_ids(tokenizer)
    return Layout(start, end, family.word_space)


def adds_prefix_space(tokenizer) -> bool | None:
    """Whether the tokenizer's own pre-tokenizer puts a space before a text's first word (ByteLevel's
    ``add_prefix_space``, Metaspace's ``prepend_scheme``), read from its config; ``None`` if it says
    nothing (no fast backend, or a pre-tokenizer with no such setting)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    spec = json.loads(backend.to_str()).get("pre_tokenizer") if backend is not None else None
    todo = [spec]
    while todo:
        node = todo.pop(0)
        if not isinstance(node, dict):
            continue
        if "add_prefix_space" in node:
            return bool(node["add_prefix_space"])
        if "prepend_scheme" in node:
            return node["prepend_scheme"] != "never"
        todo.extend(node.get("pretokenizers") or [])
    return None


def word_pieces(words: Sequence[str], tokenizer) -> dict[str, list[int]]:
    """Sub-word ids of every distinct word (a text as tokenised: with its ``word_space``), in one batched
    call; a word that the tokenizer turns into nothing (e.g. a lone control character) becomes ``<unk>``
    so that every word has a vector."""
    unique = sorted(set(words))
    ids = tokenizer(unique, add_special_tokens=False)["input_ids"] if unique else []
    unk = tokenizer.unk_token_id
    return {w: (x if x else [unk]) for w, x in zip(unique, ids, strict=True)}


def _texts(words: Sequence[str], word_space: str) -> list[str]:
    """The texts a sentence's words are tokenised as: ``word_space`` before all but the first."""
    return [w if i == 0 or not word_space else word_space + w for i, w in enumerate(words)]


def encode_sentences(
    sentences: Sequence[tuple[Sequence[str], Sequence[str]]],
    tokenizer,
    label_ids: dict[str, int],
    max_length: int,
    layout: Layout | None = None,
) -> Windows:
    """Encode tagged sentences into windows (``layout``: the encoder's ``<s> ... </s>`` by default);
    unseen labels become :data:`UNKNOWN_LABEL`."""
    if layout is None:
        from vocabswap.family import ENCODER

        layout = layout_for(ENCODER, tokenizer)
    if max_length < layout.n_specials + 1:
        raise VocabswapError(f"max length must be at least {layout.n_specials + 1}, got {max_length}")
    budget = max_length - layout.n_specials
    texts = [_texts(words, layout.word_space) for words, _ in sentences]
    pieces = word_pieces([t for ts in texts for t in ts], tokenizer)
    ids_out, widx_out, lab_out, sent_out = [], [], [], []
    split_sentences = truncated = 0
    for s, ((words, tags), sentence_texts) in enumerate(zip(sentences, texts, strict=True)):
        word_ids = [pieces[t] for t in sentence_texts]
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
            ids_out.append(np.array(layout.word_ids([i for p in chunk for i in p]), dtype=np.int64))
            widx_out.append(layout.word_index(np.repeat(np.arange(end - start), sub_lens)))
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
