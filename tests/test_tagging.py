"""The tagger's pieces on hand-made batches whose right answers are computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vocabswap.finetune import score
from vocabswap.tagging import UNKNOWN_LABEL, collate_windows, encode_sentences, scatter_mean, tagging_loss


def test_scatter_mean_by_hand() -> None:
    # batch of 2 windows x 4 positions, d = 2; -1 = <s>, </s>, padding
    hidden = torch.tensor(
        [
            [[9.0, 9.0], [1.0, 2.0], [3.0, 4.0], [5.0, 7.0]],
            [[9.0, 9.0], [2.0, 0.0], [-9.0, -9.0], [-9.0, -9.0]],
        ]
    )
    word_index = torch.tensor([[-1, 0, 0, 1], [-1, 2, -1, -1]])
    out = scatter_mean(hidden, word_index, 3)
    expected = torch.tensor([[2.0, 3.0], [5.0, 7.0], [2.0, 0.0]])  # word 0 = mean of (1,2) and (3,4)
    assert torch.equal(out, expected)


def test_scatter_mean_gradient_splits_evenly_over_sub_words() -> None:
    hidden = torch.ones(1, 4, 3, requires_grad=True)
    scatter_mean(hidden, torch.tensor([[0, 0, 0, 1]]), 2).sum().backward()
    assert hidden.grad[0, :, 0].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1.0])


def _ce(row: list[float], label: int) -> float:
    return math.log(sum(math.exp(x) for x in row)) - row[label]


def test_ner_o_down_weighting_by_hand() -> None:
    # labels: 0 = O, 1 = B-PER, 2 = I-PER; three O words and one entity word
    rows = [[2.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 3.0, 1.0]]
    labels = [0, 0, 0, 1]
    logits, target = torch.tensor(rows), torch.tensor(labels)
    ce = [_ce(r, y) for r, y in zip(rows, labels, strict=True)]
    # O weight = n_entity / n_O = 1/3, entity weight 1: O words together weigh as much as the entity word
    by_hand = (ce[3] * 1 + (ce[0] + ce[1] + ce[2]) / 3) / (1 + 3 * (1 / 3))
    assert by_hand == pytest.approx(0.5 * ce[3] + 0.5 * (ce[0] + ce[1] + ce[2]) / 3)
    assert tagging_loss(logits, target, o_label=0).item() == pytest.approx(by_hand, rel=1e-6)
    assert tagging_loss(logits, target).item() == pytest.approx(sum(ce) / 4, rel=1e-6)  # POS: plain mean
    # A batch with no entity word falls back to the plain mean.
    only_o = torch.tensor([0, 0, 0, 0])
    plain = sum(_ce(r, 0) for r in rows) / 4
    assert tagging_loss(logits, only_o, o_label=0).item() == pytest.approx(plain, rel=1e-6)


def test_paper_compat_double_softmax_by_hand() -> None:
    row = [2.0, 0.0, 0.0]
    z = math.exp(2) + 2
    probs = [math.exp(2) / z, 1 / z, 1 / z]
    by_hand = _ce(probs, 0)  # cross-entropy applied to the softmax output, as the paper's code did
    got = tagging_loss(torch.tensor([row]), torch.tensor([0]), paper_compat=True).item()
    assert got == pytest.approx(by_hand, rel=1e-6)
    assert got > _ce(row, 0)  # the double softmax can never reach a loss near 0


class StubTokenizer:
    """Word w -> len(w) sub-words, each with id 100 + ord(first letter)."""

    bos_token_id, eos_token_id, unk_token_id, pad_token_id = 0, 2, 3, 1

    def __call__(self, words, add_special_tokens=False):
        return {"input_ids": [[100 + ord(w[0])] * len(w) if w != "\x00" else [] for w in words]}


def test_long_sentence_is_split_into_windows_not_cut() -> None:
    words = ["aa", "bbb", "c", "dddd", "ee", "f", "ggg"]  # 16 sub-words
    tags = ["A", "B", "A", "B", "A", "Z", "A"]
    w = encode_sentences([(words, tags), (["h"], ["A"])], StubTokenizer(), {"A": 0, "B": 1}, max_length=7)
    # budget 5 sub-words per window: [aa bbb] [c dddd] [ee f] [ggg] [h]
    assert [len(x) for x in w.labels] == [2, 2, 2, 1, 1]
    assert w.sentence.tolist() == [0, 0, 0, 0, 1] and w.split_sentences == 1 and w.truncated_words == 0
    assert all(len(ids) <= 7 for ids in w.input_ids)
    assert np.concatenate(w.labels[:4]).tolist() == [0, 1, 0, 1, 0, UNKNOWN_LABEL, 0]
    assert w.input_ids[0].tolist() == [0, 197, 197, 198, 198, 198, 2]
    assert w.word_index[0].tolist() == [-1, 0, 0, 1, 1, 1, -1]
    b = collate_windows(w, np.array([1, 2]), pad_id=1)
    assert b.n_words == 4 and b.labels.tolist() == [0, 1, 0, UNKNOWN_LABEL]
    assert b.word_index.tolist() == [[-1, 0, 1, 1, 1, 1, -1], [-1, 2, 2, 3, -1, -1, -1]]
    assert b.attention_mask.sum(1).tolist() == [7, 5]


def test_overlong_word_and_empty_word_are_counted_not_dropped() -> None:
    w = encode_sentences([(["x" * 9, "\x00"], ["A", "A"])], StubTokenizer(), {"A": 0}, max_length=6)
    assert w.truncated_words == 1
    assert [x.tolist() for x in w.input_ids] == [[0, *[220] * 4, 2], [0, 3, 2]]  # <unk> for the empty word


def test_unseen_gold_label_counts_as_wrong() -> None:
    gold = [(["a", "b", "c"], ["NOUN", "XTAG", "VERB"]), (["d"], ["NOUN"])]
    labels = ["NOUN", "VERB"]
    pred = [np.array([0, 0, 1]), np.array([0])]  # everything right that can be right
    assert score("pos", gold, pred, labels, paper_compat=False, batch_size=72)["accuracy"] == 0.75


def test_ner_scoring_per_sentence_vs_batch_concatenated() -> None:
    # sentence 1 ends with B-PER, sentence 2 starts with I-PER: one entity each when scored per sentence,
    # a single merged entity when the batch is concatenated (the paper's way).
    gold = [(["a", "b"], ["O", "B-PER"]), (["c", "d"], ["I-PER", "O"])]
    labels = ["O", "B-PER", "I-PER"]
    pred = [np.array([0, 1]), np.array([2, 0])]
    per_sentence = score("ner", gold, pred, labels, paper_compat=False, batch_size=72)
    assert per_sentence["f1"] == 1.0
    wrong = [np.array([0, 1]), np.array([0, 0])]
    assert score("ner", gold, wrong, labels, paper_compat=False, batch_size=72)["f1"] == pytest.approx(2 / 3)
    # concatenated: gold has one entity PER(b, c); the prediction B-PER then O is a different span
    assert score("ner", gold, wrong, labels, paper_compat=True, batch_size=72)["f1"] == 0.0
    assert score("ner", gold, wrong, labels, paper_compat=True, batch_size=1)["f1"] == pytest.approx(2 / 3)
