"""The masked-LM objective: corpus packing, seeded 80/10/10 masking, and a head run on masked positions only.

* :func:`pack_lines` tokenises a line-per-sentence corpus once, in batches, with the fast tokenizer, and
  packs it into blocks of at most ``max_length`` ids: ``<s>`` then sentences each closed by ``</s>``,
  running on across block boundaries (RoBERTa's FULL-SENTENCES packing, as in Hugging Face ``run_mlm``'s
  ``group_texts``), so almost no position is padding.
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

from vocabswap.errors import InputError, VocabswapError

IGNORE_INDEX = -100


@dataclass(frozen=True)
class PackedCorpus:
    """Token-id blocks ``[n_blocks, max_length]`` (right-padded with ``pad_id``) and their lengths."""

    blocks: np.ndarray
    lengths: np.ndarray
    n_lines: int
    n_tokens: int

    def __len__(self) -> int:
        return int(self.blocks.shape[0])


def iter_lines(path: str | Path) -> Iterator[str]:
    """Stream the non-blank lines of a UTF-8 text file (stripped); undecodable bytes are an error naming
    the line. A missing file, or one without any non-blank line, is an error too."""
    path = Path(path)
    if not path.is_file():
        raise VocabswapError(f"{path}: no such file")
    n = 0
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as err:
                raise InputError(
                    path, lineno, "not valid UTF-8; clean the corpus first (vocabswap clean)"
                ) from err
            if line:
                n += 1
                yield line
    if n == 0:
        raise InputError(
            path, None, "the file has no non-blank line; LAPT needs text to train and evaluate on"
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


def tokenized_chunks(
    lines: Iterable[str], tokenizer, batch_lines: int = 8192
) -> Iterator[tuple[np.ndarray, int]]:
    """``(ids, n_lines)`` per batch of lines: every line's ids followed by ``</s>``, one batched
    fast-tokenizer call per ``batch_lines`` lines."""
    eos = tokenizer.eos_token_id
    it = iter(lines)
    while batch := list(itertools.islice(it, batch_lines)):
        ids = tokenizer(batch, add_special_tokens=False)["input_ids"]
        count = sum(len(x) for x in ids) + len(ids)
        flat = np.fromiter(
            itertools.chain.from_iterable(itertools.chain(x, (eos,)) for x in ids),
            dtype=np.int32,
            count=count,
        )
        yield flat, len(batch)


def _check_tokenizer(tokenizer) -> tuple[int, int]:
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    if bos is None or eos is None or pad is None:
        raise VocabswapError("the tokenizer needs <s>, </s> and <pad> tokens for MLM packing")
    return bos, pad


def pack_lines(lines: Iterable[str], tokenizer, max_length: int, *, batch_lines: int = 8192) -> PackedCorpus:
    """Tokenise and pack lines in memory (see :func:`pack_file` for corpora that should not be)."""
    packer = BlockPacker(*_check_tokenizer(tokenizer), max_length)
    rows, n_lines, n_tokens = [], 0, 0
    for flat, n in tokenized_chunks(lines, tokenizer, batch_lines):
        rows.append(packer.feed(flat))
        n_lines, n_tokens = n_lines + n, n_tokens + flat.size
    last, last_len = packer.finish()
    blocks = np.concatenate([*rows, last])
    lengths = np.full(len(blocks), max_length, dtype=np.int32)
    lengths[-1] = last_len
    return PackedCorpus(blocks=blocks, lengths=lengths, n_lines=n_lines, n_tokens=n_tokens)


def pack_file(path: str | Path, tokenizer, max_length: int, dest: Path, *, batch_lines: int = 8192) -> dict:
    """Stream a corpus file into ``dest`` as raw int32 rows of ``max_length`` ids (memory stays flat);
    returns the metadata :func:`load_packed` needs."""
    packer = BlockPacker(*_check_tokenizer(tokenizer), max_length)
    n_lines = n_tokens = 0
    with open(dest, "wb") as out:
        for flat, n in tokenized_chunks(iter_lines(path), tokenizer, batch_lines):
            out.write(packer.feed(flat).tobytes())
            n_lines, n_tokens = n_lines + n, n_tokens + int(flat.size)
        last, last_len = packer.finish()
        out.write(last.tobytes())
    return {
        "n_blocks": packer.n_rows,
        "max_length": max_length,
        "last_length": last_len,
        "n_lines": n_lines,
        "n_tokens": n_tokens,
    }


def load_packed(path: Path, meta: dict) -> PackedCorpus:
    """Memory-map a corpus written by :func:`pack_file`."""
    blocks = np.memmap(path, dtype=np.int32, mode="r", shape=(meta["n_blocks"], meta["max_length"]))
    lengths = np.full(meta["n_blocks"], meta["max_length"], dtype=np.int32)
    lengths[-1] = meta["last_length"]
    return PackedCorpus(blocks=blocks, lengths=lengths, n_lines=meta["n_lines"], n_tokens=meta["n_tokens"])


def collate(blocks: np.ndarray, lengths: np.ndarray, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack blocks into ``input_ids`` and ``attention_mask`` trimmed to the longest block."""
    width = int(lengths.max())
    input_ids = torch.from_numpy(np.ascontiguousarray(blocks[:, :width]).astype(np.int64))
    attention_mask = (
        torch.arange(width)[None, :] < torch.from_numpy(lengths.astype(np.int64))[:, None]
    ).long()
    input_ids = input_ids.masked_fill(attention_mask == 0, pad_id)
    return input_ids, attention_mask


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
