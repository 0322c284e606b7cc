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


def _hebrew_train_lengths() -> np.ndarray:
    """Each UD Hebrew-HTB training sentence's words plus the two specials: the real length distribution."""
    from vocabswap.data.packaged import packaged_tagged

    return np.array([len(words) + 2 for words, _ in packaged_tagged("ud-hebrew-htb", "pos")["train"]])


def _padding(lengths: np.ndarray, batches: list[np.ndarray]) -> float:
    return sum(int(lengths[b].max()) * len(b) for b in batches) / int(lengths.sum())


@pytest.mark.parametrize("group", [1, 16])
def test_epoch_batches_hold_every_window_once_in_full_batches(group: int) -> None:
    from vocabswap.finetune import epoch_batches

    lengths = _hebrew_train_lengths()[:601]
    batches = epoch_batches(lengths, 16, group, np.random.default_rng(3))
    assert sorted(np.concatenate(batches).tolist()) == list(range(601))
    assert sorted(len(b) for b in batches) == [9] + [16] * 37  # one short batch, as slicing leaves it
    again = epoch_batches(lengths, 16, group, np.random.default_rng(3))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    other = epoch_batches(lengths, 16, group, np.random.default_rng(4))
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other, strict=True))


def test_epoch_batches_group_one_is_the_plain_shuffle_with_the_same_draws() -> None:
    from vocabswap.finetune import epoch_batches

    lengths = np.arange(50)
    order = np.random.default_rng(7).permutation(50)
    batches = epoch_batches(lengths, 8, 1, np.random.default_rng(7))
    assert all(np.array_equal(b, order[i : i + 8]) for b, i in zip(batches, range(0, 50, 8), strict=True))


def test_length_groups_pad_little_and_stay_random_within_a_group() -> None:
    """On the real Hebrew lengths: shuffled batches of 16 pad ~2x, groups of 16 batches under 1.25x; a group
    is a random draw, so two epochs' batches differ, and the batch order is not longest first."""
    from vocabswap.finetune import epoch_batches

    lengths = _hebrew_train_lengths()
    shuffled = epoch_batches(lengths, 16, 1, np.random.default_rng(0))
    grouped = epoch_batches(lengths, 16, 16, np.random.default_rng(0))
    assert _padding(lengths, shuffled) > 1.8
    assert _padding(lengths, grouped) < 1.25
    maxima = [int(lengths[b].max()) for b in grouped]
    assert maxima != sorted(maxima, reverse=True)
    second = epoch_batches(lengths, 16, 16, np.random.default_rng(1))
    firsts = {tuple(sorted(b.tolist())) for b in grouped}
    assert sum(tuple(sorted(b.tolist())) in firsts for b in second) < len(second) // 10


def test_group_by_length_below_one_is_refused() -> None:
    from vocabswap.errors import VocabswapError
    from vocabswap.training_config import FinetuneConfig

    FinetuneConfig(task="pos", seed=1, group_by_length=1).validate()
    with pytest.raises(VocabswapError, match="--group-by-length must be at least 1, got 0"):
        FinetuneConfig(task="pos", seed=1, group_by_length=0).validate()
