"""The masked-LM objective: corpus packing, seeded 80/10/10 masking, and a head run on masked positions only.

* :func:`encode_lines` tokenises a line-per-sentence corpus once, in batches, with the fast tokenizer, into
  sequences of at most ``max_length`` ids, one of two ways (``SEQUENCES``):

  - ``lines`` (the paper's code: Hugging Face ``LineByLineTextDataset``): one line = one sequence
    ``<s> ... </s>``, truncated to ``max_length`` ids; a batch is padded to its longest line.
  - ``packed``: ``<s>`` then sentences each closed by ``</s>``, running on across blocks of exactly
    ``max_length`` ids (RoBERTa's FULL-SENTENCES packing, as in ``run_mlm``'s ``group_texts``), so almost no
    position is padding and a step sees several times the tokens of ``lines``.

  Either way the sequences are stored end to end with their offsets (:class:`SequenceCorpus`), so a corpus
  of short lines costs no padding on disk; :func:`encode_file` streams a file the same way.
* :class:`MLMMasker` selects each ordinary token with probability ``probability`` (0.15) and replaces it
  with ``<mask>`` (80%), a random ordinary token (10%) or leaves it (10%) — BERT's recipe — drawing from a
  caller-supplied ``torch.Generator`` so that a batch's masks are a pure function of the seed.
* :class:`MaskedLMObjective` wraps an ``XLMRobertaForMaskedLM`` (or any model with ``base_model`` and
  ``lm_head``) and returns the *summed* cross-entropy and the number of predicted positions. With
  ``head="masked"`` the vocabulary projection runs only on the masked positions (15% of the tokens);
  ``head="all"`` runs the stock all-positions head (the loss is identical, the FLOPs are not).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vocabswap.data.lines import text_lines
from vocabswap.errors import VocabswapError
from vocabswap.training_config import SEQUENCES

IGNORE_INDEX = -100


@dataclass(frozen=True)
class SequenceCorpus:
    """Token-id sequences stored end to end: sequence ``i`` is ``ids[offsets[i]:offsets[i + 1]]``."""

    ids: np.ndarray  # int32, every sequence's ids with its specials
    offsets: np.ndarray  # int64, n + 1 entries
    n_lines: int
    n_tokens: int  # text tokens of the lines (each line's ids and its </s>), before any truncation

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def sequences(self, idx: np.ndarray) -> list[np.ndarray]:
        return [self.ids[self.offsets[i] : self.offsets[i + 1]] for i in idx]


def iter_lines(path: str | Path) -> Iterator[str]:
    """Stream the non-blank lines of a UTF-8 text file (stripped); undecodable bytes are an error naming
    the line. A missing file, or one without any non-blank line, is an error too."""
    path = Path(path)
    if not path.is_file():
        raise VocabswapError(f"{path}: no such file")
    yield from text_lines(
        path,
        strip=True,
        invalid="not valid UTF-8; clean the corpus first (vocabswap clean)",
        empty="the file has no non-blank line; LAPT needs text to train and evaluate on",
    )


def read_lines(path: str | Path) -> list[str]:
    """All non-blank lines of a UTF-8 text file (see :func:`iter_lines`)."""
    return list(iter_lines(path))


class BlockPacker:
    """Turns a stream of token-id chunks into rows ``<s> t t t ...`` of exactly ``max_length`` ids."""

    def __init__(self, bos: int, pad: int, max_length: int) -> None:
        if max_length < 3:
            raise VocabswapError(f"max_length must be at least 3, got {max_length}")
        self.bos, self.pad, self.max_length = bos, pad, max_length
        self.width = max_length - 1  # each block opens with <s>
        self.carry = np.zeros(0, dtype=np.int32)
        self.n_rows = 0

    def feed(self, ids: np.ndarray) -> np.ndarray:
        """Add ids; return the rows completed by them (possibly none)."""
        buf = np.concatenate([self.carry, ids.astype(np.int32, copy=False)])
        n = buf.size // self.width
        rows = np.empty((n, self.max_length), dtype=np.int32)
        rows[:, 0] = self.bos
        rows[:, 1:] = buf[: n * self.width].reshape(n, self.width)
        self.carry = buf[n * self.width :]
        self.n_rows += n
        return rows

    def finish(self) -> tuple[np.ndarray, int]:
        """The last, padded row (none if the ids filled the rows exactly) and the last row's length."""
        if self.carry.size == 0 and self.n_rows > 0:
            return np.zeros((0, self.max_length), dtype=np.int32), self.max_length
        row = np.full((1, self.max_length), self.pad, dtype=np.int32)
        row[0, 0] = self.bos
        row[0, 1 : 1 + self.carry.size] = self.carry
        self.n_rows += 1
        return row, 1 + int(self.carry.size)


def tokenised_batches(lines: Iterable[str], tokenizer, batch_lines: int = 8192) -> Iterator[list[list[int]]]:
    """Every line's ids (no specials), one batched fast-tokenizer call per ``batch_lines`` lines."""
    it = iter(lines)
    while batch := list(itertools.islice(it, batch_lines)):
        yield tokenizer(batch, add_special_tokens=False)["input_ids"]


def closed_ids(ids: list[list[int]], eos: int) -> np.ndarray:
    """Every line's ids followed by ``</s>``, end to end (the stream that ``packed`` cuts into blocks)."""
    count = sum(len(x) for x in ids) + len(ids)
    return np.fromiter(
        itertools.chain.from_iterable(itertools.chain(x, (eos,)) for x in ids), dtype=np.int32, count=count
    )


def _check_tokenizer(tokenizer) -> tuple[int, int, int]:
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    if bos is None or eos is None or pad is None:
        raise VocabswapError("the tokenizer needs <s>, </s> and <pad> tokens for MLM sequences")
    return bos, eos, pad


def line_sequences(
    ids: list[list[int]], bos: int, eos: int, max_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """``lines``: ``<s> ids </s>`` per line, truncated to ``max_length`` ids (``</s>`` kept, as the HF
    tokenizer truncates), end to end, and each sequence's length."""
    keep = max_length - 2
    lengths = np.fromiter((min(len(x), keep) + 2 for x in ids), dtype=np.int64, count=len(ids))
    out = np.fromiter(
        itertools.chain.from_iterable(itertools.chain((bos,), x[:keep], (eos,)) for x in ids),
        dtype=np.int32,
        count=int(lengths.sum()),
    )
    return out, lengths


class _Encoder:
    """Streaming encoder of one corpus into sequences (``lines`` or ``packed``)."""

    def __init__(
        self, tokenizer, max_length: int, sequences: str, specials: tuple[int, int, int] | None = None
    ) -> None:
        if sequences not in SEQUENCES:
            raise VocabswapError(
                f"unknown sequences mode {sequences!r}; choose one of {', '.join(SEQUENCES)}"
            )
        if max_length < 3:
            raise VocabswapError(f"max_length must be at least 3, got {max_length}")
        # (first, last, pad): <s> </s> <pad> of a masked LM; a causal LM's are given (context, eos, pad)
        self.bos, self.eos, pad = specials or _check_tokenizer(tokenizer)
        self.max_length, self.sequences = max_length, sequences
        self.packer = BlockPacker(self.bos, pad, max_length) if sequences == "packed" else None
        self.n_lines = self.n_tokens = 0

    def feed(self, ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the sequences completed by a batch of lines (end to end) and their lengths."""
        self.n_lines += len(ids)
        self.n_tokens += sum(len(x) for x in ids) + len(ids)
        if self.packer is None:
            return line_sequences(ids, self.bos, self.eos, self.max_length)
        rows = self.packer.feed(closed_ids(ids, self.eos))
        return rows.ravel(), np.full(len(rows), self.max_length, dtype=np.int64)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        if self.packer is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
        last, last_len = self.packer.finish()
        if len(last) == 0:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
        return last[0, :last_len], np.array([last_len], dtype=np.int64)


def _offsets(lengths: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int64)


def encode_lines(
    lines: Iterable[str],
    tokenizer,
    max_length: int,
    *,
    sequences: str = "lines",
    batch_lines: int = 8192,
    specials: tuple[int, int, int] | None = None,
) -> SequenceCorpus:
    """Tokenise lines in memory into sequences (see :func:`encode_file` for corpora that should not be,
    and for ``specials``)."""
    enc = _Encoder(tokenizer, max_length, sequences, specials)
    ids, lengths = [], []
    for batch in tokenised_batches(lines, tokenizer, batch_lines):
        i, n_ = enc.feed(batch)
        ids.append(i)
        lengths.append(n_)
    i, n_ = enc.finish()
    ids.append(i)
    lengths.append(n_)
    return SequenceCorpus(np.concatenate(ids), _offsets(lengths), enc.n_lines, enc.n_tokens)


def encode_file(
    path: str | Path,
    tokenizer,
    max_length: int,
    dest: Path,
    *,
    sequences: str = "lines",
    offsets_dest: Path | None = None,
    batch_lines: int = 8192,
    specials: tuple[int, int, int] | None = None,
) -> dict:
    """Stream a corpus file into ``dest`` (int32 ids, end to end) and ``offsets_dest`` (int64; default
    ``offsets_path(dest)``), memory flat; returns the metadata :func:`load_encoded` needs. ``specials``:
    the (first, last, pad) ids around each line, default the tokenizer's ``<s>``, ``</s>``, ``<pad>``."""
    enc = _Encoder(tokenizer, max_length, sequences, specials)
    lengths = []
    with open(dest, "wb") as out:
        for batch in tokenised_batches(iter_lines(path), tokenizer, batch_lines):
            ids, n_ = enc.feed(batch)
            out.write(ids.astype(np.int32, copy=False).tobytes())
            lengths.append(n_)
        ids, n_ = enc.finish()
        out.write(ids.astype(np.int32, copy=False).tobytes())
        lengths.append(n_)
    offsets = _offsets(lengths)
    with open(offsets_dest or offsets_path(dest), "wb") as out:
        out.write(offsets.tobytes())
    return {
        "sequences": sequences,
        "n_sequences": len(offsets) - 1,
        "n_ids": int(offsets[-1]),
        "max_length": max_length,
        "n_lines": enc.n_lines,
        "n_tokens": enc.n_tokens,
    }


def offsets_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".offsets")


def load_encoded(path: Path, meta: dict) -> SequenceCorpus:
    """Memory-map a corpus written by :func:`encode_file`."""
    ids = np.memmap(path, dtype=np.int32, mode="r", shape=(meta["n_ids"],))
    offsets = np.fromfile(offsets_path(path), dtype=np.int64)
    return SequenceCorpus(ids=ids, offsets=offsets, n_lines=meta["n_lines"], n_tokens=meta["n_tokens"])


def collate(sequences: list[np.ndarray], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack sequences into ``input_ids`` (right-padded with ``pad_id`` to the longest) and
    ``attention_mask``."""
    lengths = np.fromiter((len(x) for x in sequences), dtype=np.int64, count=len(sequences))
    input_ids = np.full((len(sequences), int(lengths.max())), pad_id, dtype=np.int64)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = seq
    attention_mask = (np.arange(input_ids.shape[1])[None, :] < lengths[:, None]).astype(np.int64)
    return torch.from_numpy(input_ids), torch.from_numpy(attention_mask)


@dataclass(frozen=True)
class MaskingConfig:
    """BERT's masking recipe (paper Table 6: probability 0.15)."""

    probability: float = 0.15
    mask_fraction: float = 0.8
    random_fraction: float = 0.1


class MLMMasker:
    """Seeded 80/10/10 masking over ordinary (non-special, non-padding) tokens."""

    def __init__(
        self,
        *,
        mask_token_id: int,
        special_ids: Iterable[int],
        vocab_size: int,
        config: MaskingConfig = MaskingConfig(),
    ) -> None:
        if not 0.0 < config.probability < 1.0:
            raise VocabswapError(f"MLM probability must be in (0, 1), got {config.probability}")
        if config.mask_fraction + config.random_fraction > 1.0:
            raise VocabswapError("mask_fraction + random_fraction must be at most 1")
        self.mask_token_id = int(mask_token_id)
        self.config = config
        specials = torch.tensor(sorted({int(i) for i in special_ids}), dtype=torch.long)
        self.special_ids = specials
        ordinary = torch.ones(vocab_size, dtype=torch.bool)
        ordinary[specials[specials < vocab_size]] = False
        self.ordinary_ids = torch.nonzero(ordinary).flatten()  # random replacements never draw specials

    @classmethod
    def for_tokenizer(cls, tokenizer, config: MaskingConfig = MaskingConfig()) -> MLMMasker:
        if tokenizer.mask_token_id is None:
            raise VocabswapError("the tokenizer has no <mask> token; MLM training needs one")
        return cls(
            mask_token_id=tokenizer.mask_token_id,
            special_ids=tokenizer.all_special_ids,
            vocab_size=len(tokenizer),
            config=config,
        )

    def __call__(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(masked_input_ids, labels)``; labels are -100 except at the selected positions."""
        cfg = self.config
        eligible = (attention_mask > 0) & ~torch.isin(input_ids, self.special_ids)
        # One uniform draw per position decides selection and the 80/10/10 branch together.
        u = torch.rand(input_ids.shape, generator=generator)
        v = torch.rand(input_ids.shape, generator=generator)
        selected = eligible & (u < cfg.probability)
        labels = torch.where(selected, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
        to_mask = selected & (v < cfg.mask_fraction)
        to_random = selected & (v >= cfg.mask_fraction) & (v < cfg.mask_fraction + cfg.random_fraction)
        picks = torch.randint(len(self.ordinary_ids), input_ids.shape, generator=generator)
        out = torch.where(to_mask, torch.full_like(input_ids, self.mask_token_id), input_ids)
        out = torch.where(to_random, self.ordinary_ids[picks], out)
        return out, labels


class MaskedLMObjective(nn.Module):
    """Summed MLM cross-entropy of a masked LM, with the vocabulary head on masked positions only.

    A module (not a function) so that DistributedDataParallel can wrap it: its ``forward`` is the whole
    computation whose gradients must be synchronised.
    """

    def __init__(self, model: nn.Module, head: str = "masked") -> None:
        super().__init__()
        if head not in ("masked", "all"):
            raise VocabswapError(f"head must be 'masked' or 'all', got {head!r}")
        if not hasattr(model, "lm_head"):
            raise VocabswapError(
                f"{type(model).__name__} has no lm_head; expected an (XLM-)RoBERTa masked LM"
            )
        self.model = model
        self.head = head

    @staticmethod
    def targets(labels: torch.Tensor) -> torch.Tensor:
        """The ids a batch predicts (its masked positions), flattened."""
        return labels[labels != IGNORE_INDEX]

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(sum of cross-entropy over predicted positions, number of predicted positions)``."""
        base = self.model.base_model
        hidden = base(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).last_hidden_state
        if self.head == "masked":
            where = labels != IGNORE_INDEX
            logits = self.model.lm_head(hidden[where])
            target = labels[where]
        else:
            logits = self.model.lm_head(hidden).flatten(0, 1)
            target = labels.flatten()
        loss = F.cross_entropy(logits.float(), target, ignore_index=IGNORE_INDEX, reduction="sum")
        return loss, (target != IGNORE_INDEX).sum()
