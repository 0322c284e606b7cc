"""MLM objective: line-by-line and packed sequences, seeded 80/10/10 masking, the masked-only head."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vocabswap.errors import VocabswapError
from vocabswap.mlm import MaskedLMObjective, MLMMasker, collate, encode_lines, read_lines
from vocabswap.modeldir import load_tokenizer

SPECIALS = [0, 1, 2, 3, 99]  # <s> <pad> </s> <unk> <mask>


def _masker() -> MLMMasker:
    return MLMMasker(mask_token_id=99, special_ids=SPECIALS, vocab_size=100)


def _batch(n: int = 400, width: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(7)
    ids = torch.randint(4, 99, (n, width), generator=gen)
    ids[:, 0], ids[:, -1] = 0, 2
    am = torch.ones_like(ids)
    am[::2, 200:] = 0
    ids[am == 0] = 1
    return ids, am


def test_masking_rates_and_exclusions() -> None:
    ids, am = _batch()
    masked, labels = _masker()(ids, am, torch.Generator().manual_seed(1))
    eligible = (am == 1) & ~torch.isin(ids, torch.tensor(SPECIALS))
    selected = labels != -100
    assert not (selected & ~eligible).any(), "specials and padding are never selected"
    assert torch.equal(labels[selected], ids[selected])
    rate = selected.sum().item() / eligible.sum().item()
    assert rate == pytest.approx(0.15, abs=0.005)
    n = selected.sum().item()
    to_mask = (masked == 99) & selected
    changed = (masked != ids) & selected & ~to_mask
    kept = (masked == ids) & selected
    assert to_mask.sum().item() / n == pytest.approx(0.80, abs=0.01)
    # random replacements that happen to draw the original token count as "kept" (1 in 95)
    assert changed.sum().item() / n == pytest.approx(0.10 * 94 / 95, abs=0.01)
    assert kept.sum().item() / n == pytest.approx(0.10 + 0.10 / 95, abs=0.01)
    assert not torch.isin(masked[changed], torch.tensor(SPECIALS)).any(), "random tokens are never specials"
    assert torch.equal(masked[~selected], ids[~selected])


def test_masking_is_a_function_of_the_seed() -> None:
    ids, am = _batch(20, 50)
    a = _masker()(ids, am, torch.Generator().manual_seed(3))
    b = _masker()(ids, am, torch.Generator().manual_seed(3))
    c = _masker()(ids, am, torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_packed_sequences_keep_every_token_in_order(base_model_enpt: Path) -> None:
    tok = load_tokenizer(base_model_enpt)
    lines = ["Hello world, this is a test.", "Olá mundo", "x" * 3, "Another fairly long sentence " * 6]
    packed = encode_lines(lines, tok, max_length=16, sequences="packed", batch_lines=2)
    blocks = packed.sequences(np.arange(len(packed)))
    assert all(b[0] == tok.bos_token_id for b in blocks)
    stream = np.concatenate([b[1:] for b in blocks])
    expected = [
        i for line in lines for i in [*tok(line, add_special_tokens=False)["input_ids"], tok.eos_token_id]
    ]
    assert stream.tolist() == expected
    assert packed.n_tokens == len(expected) and packed.n_lines == 4
    assert (packed.lengths[:-1] == 16).all() and packed.lengths[-1] <= 16
    ids, am = collate(blocks, tok.pad_token_id)
    assert am.sum().item() == int(packed.lengths.sum())
    assert (ids[-1, packed.lengths[-1] :] == tok.pad_token_id).all()


def test_line_sequences_are_what_the_paper_code_feeds(base_model_enpt: Path) -> None:
    """``lines`` (issue 8.1): one line = one sequence, exactly the HF tokenizer's ``<s> ... </s>`` truncated
    at max_length (what the paper's LineByLineTextDataset holds); a batch is padded to its longest line."""
    tok = load_tokenizer(base_model_enpt)
    lines = ["Hello world, this is a test.", "Olá mundo", "x", "Another fairly long sentence " * 6]
    corpus = encode_lines(lines, tok, max_length=16, batch_lines=3)
    assert len(corpus) == corpus.n_lines == 4
    for line, seq in zip(lines, corpus.sequences(np.arange(4)), strict=True):
        assert seq.tolist() == tok(line, truncation=True, max_length=16)["input_ids"]
    assert corpus.lengths[3] == 16 and corpus.lengths[1] < 16
    ids, am = collate(corpus.sequences(np.array([1, 2])), tok.pad_token_id)
    assert ids.shape[1] == max(corpus.lengths[1], corpus.lengths[2])
    assert am.sum().item() == corpus.lengths[1] + corpus.lengths[2]
    assert (ids[am == 0] == tok.pad_token_id).all()


def test_read_lines_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(VocabswapError, match="no non-blank line"):
        read_lines(empty)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\nbad \xff line\n")
    with pytest.raises(VocabswapError, match=r"bad.txt:2: not valid UTF-8"):
        read_lines(bad)
    with pytest.raises(VocabswapError, match="no such file"):
        read_lines(tmp_path / "missing.txt")


def test_masked_only_head_equals_all_positions_loss_and_gradients() -> None:
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model = XLMRobertaForMaskedLM(config)
    ids, am = _batch(6, 30)
    masked, labels = _masker()(ids, am, torch.Generator().manual_seed(0))
    grads = {}
    for head in ("masked", "all"):
        model.zero_grad()
        loss, n = MaskedLMObjective(model, head)(masked, am, labels)
        loss.backward()
        grads[head] = (loss.item(), n.item(), [p.grad.clone() for p in model.parameters()])
    # Hugging Face's own all-positions loss is the mean over the same positions.
    hf = model(input_ids=masked, attention_mask=am, labels=labels).loss.item()
    assert grads["masked"][1] == grads["all"][1] == (labels != -100).sum().item()
    assert grads["masked"][0] == pytest.approx(grads["all"][0], rel=1e-6)
    assert grads["masked"][0] / grads["masked"][1] == pytest.approx(hf, rel=1e-6)
    for a, b in zip(grads["masked"][2], grads["all"][2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sequences", ["lines", "packed"])
def test_encode_file_streams_the_same_sequences_as_encode_lines(
    base_model_enpt: Path, tmp_path: Path, sequences: str
) -> None:
    from vocabswap.mlm import encode_file, load_encoded

    tok = load_tokenizer(base_model_enpt)
    lines = [f"sentence number {i} " * (1 + i % 5) for i in range(50)]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n\n".join(lines) + "\n", encoding="utf-8")  # blank lines are skipped
    meta = encode_file(corpus, tok, 24, tmp_path / "c.int32", sequences=sequences, batch_lines=7)
    streamed = load_encoded(tmp_path / "c.int32", meta)
    in_memory = encode_lines(lines, tok, 24, sequences=sequences, batch_lines=3)
    assert np.array_equal(streamed.ids, in_memory.ids)
    assert np.array_equal(streamed.offsets, in_memory.offsets)
    assert (streamed.n_lines, streamed.n_tokens) == (50, in_memory.n_tokens)
    assert len(streamed) == (50 if sequences == "lines" else -(-in_memory.n_tokens // 23))
