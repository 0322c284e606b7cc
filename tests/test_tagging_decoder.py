"""The decoder's tagging layout and last-piece pooling on hand-made batches (answers computed by hand),
and the layout on SmolLM2's real byte-level tokenizer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vocabswap.errors import VocabswapError
from vocabswap.family import DECODER, ENCODER
from vocabswap.tagging import (
    Layout,
    WordTagger,
    adds_prefix_space,
    collate_windows,
    encode_sentences,
    last_piece,
    layout_for,
    scatter_mean,
)

CTX, PAD = 7, 9
DECODER_LAYOUT = Layout(start=CTX, end=None, word_space=" ")


class SpacedStub:
    """Text t -> one sub-word per letter of t without its leading space: id 100 + ord(letter), plus 1000
    when t had the space; remembers the texts it was asked for."""

    unk_token_id = 3

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts, add_special_tokens=False):
        self.texts.extend(texts)
        ids = [[100 + ord(c) + 1000 * t.startswith(" ") for c in t.lstrip(" ")] for t in texts]
        return {"input_ids": ids}


SENTENCES = [(["a", "bb", "ccc"], ["X", "Y", "X"]), (["dd", "e", "fff", "gg"], ["Y", "X", "Y", "X"])]


@pytest.fixture
def batch():
    tok = SpacedStub()
    w = encode_sentences(SENTENCES, tok, {"X": 0, "Y": 1}, max_length=4, layout=DECODER_LAYOUT)
    return tok, w, collate_windows(w, np.arange(len(w)), pad_id=PAD)


def test_decoder_windows_open_with_the_context_token_and_space_all_but_the_first_word(batch) -> None:
    tok, w, b = batch
    # a sentence's first word alone, every other word after a space; nothing closes a window
    assert sorted(set(tok.texts)) == sorted({"a", " bb", " ccc", "dd", " e", " fff", " gg"})
    # budget 3 sub-words a window: [a bb] [ccc] | [dd e] [fff] [gg]
    assert [x.tolist() for x in w.input_ids] == [
        [CTX, 197, 1198, 1198],
        [CTX, 1199, 1199, 1199],
        [CTX, 200, 200, 1201],
        [CTX, 1202, 1202, 1202],
        [CTX, 1203, 1203],
    ]
    assert w.sentence.tolist() == [0, 0, 1, 1, 1] and w.split_sentences == 2
    assert b.input_ids[4].tolist() == [CTX, 1203, 1203, PAD] and b.attention_mask[4].tolist() == [1, 1, 1, 0]
    words = [[-1, 0, 1, 1], [-1, 2, 2, 2], [-1, 3, 3, 4], [-1, 5, 5, 5], [-1, 6, 6, -1]]
    assert b.word_index.tolist() == words


def test_last_piece_picks_each_words_last_position(batch) -> None:
    _, _, b = batch
    rows, cols = torch.meshgrid(torch.arange(5.0), torch.arange(4.0), indexing="ij")
    hidden = torch.stack([rows, cols], dim=-1)  # the state at (window, position) is (window, position)
    got = last_piece(hidden, b.word_index, b.n_words)
    # words of 1 (a, e), 2 (bb, dd, gg) and 3 (ccc, fff) pieces; gg's window is padded
    expected = [[0, 1], [0, 3], [1, 3], [2, 2], [2, 3], [3, 3], [4, 2]]
    assert got.tolist() == expected
    mean = scatter_mean(hidden, b.word_index, b.n_words)
    assert mean[1].tolist() == [0.0, 2.5] and mean[2].tolist() == [1.0, 2.0]  # the encoder's rule differs


def test_last_piece_gradient_reaches_only_the_last_pieces(batch) -> None:
    _, _, b = batch
    hidden = torch.zeros(5, 4, 2, requires_grad=True)
    last_piece(hidden, b.word_index, b.n_words).sum().backward()
    expected = torch.zeros(5, 4)
    for window, position in [(0, 1), (0, 3), (1, 3), (2, 2), (2, 3), (3, 3), (4, 2)]:
        expected[window, position] = 1.0
    assert torch.equal(hidden.grad[..., 0], expected)


def test_a_word_without_a_position_and_bad_settings_are_refused(batch) -> None:
    _, _, b = batch
    with pytest.raises(ValueError, match="word 7 has no sub-word"):
        last_piece(torch.zeros(5, 4, 2), b.word_index, b.n_words + 1)
    with pytest.raises(VocabswapError, match="max length must be at least 2, got 1"):
        encode_sentences(SENTENCES, SpacedStub(), {"X": 0}, max_length=1, layout=DECODER_LAYOUT)
    body = torch.nn.Module()
    body.config = type("C", (), {"hidden_size": 2})()
    with pytest.raises(VocabswapError, match="unknown word pooling 'max'"):
        WordTagger(body, 2, pooling="max")


def test_families_say_how_words_are_pooled_and_windows_laid_out() -> None:
    assert (ENCODER.word_pooling, ENCODER.word_space, ENCODER.closes_window) == ("mean", "", True)
    assert (DECODER.word_pooling, DECODER.word_space, DECODER.closes_window) == ("last", " ", False)


def test_smollm2_tokenizer_layout_reproduces_the_running_text(smollm2_tokenizer: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2_tokenizer))
    layout = layout_for(DECODER, tok)
    assert layout == Layout(start=tok.eos_token_id, end=None, word_space=" ")
    assert adds_prefix_space(tok) is False  # SmolLM2's ByteLevel pre-tokenizer: add_prefix_space false
    words = ["ירושלים", "היא", "בירת", "ישראל", "2024", "."]
    w = encode_sentences([(words, ["X"] * len(words))], tok, {"X": 0}, max_length=64, layout=layout)
    ids = w.input_ids[0].tolist()
    assert ids[0] == tok.eos_token_id and len(w) == 1
    assert tok.decode(ids[1:]) == " ".join(words)  # the pieces of the sentence as running text
    first = tok("ירושלים", add_special_tokens=False)["input_ids"]
    assert ids[1 : 1 + len(first)] == first and not tok.convert_ids_to_tokens(first[0]).startswith("Ġ")
    starts = [int(np.flatnonzero(w.word_index[0] == i)[0]) for i in range(1, len(words))]
    assert all(tok.convert_ids_to_tokens(ids[p]).startswith("Ġ") for p in starts)
    assert layout_for(ENCODER, tok).end == tok.eos_token_id  # the encoder's window closes
