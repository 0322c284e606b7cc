"""Decoder rows and bits per byte (vocabswap.causal_lm) on a small tied Llama with a byte-level tokenizer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vocabswap.errors import VocabswapError

LINES = ["שלום עולם", "The capital of France is Paris.", "a"]


@pytest.fixture(scope="module")
def tiny():
    import torch
    from test_base_model import _byte_level_tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = _byte_level_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
        tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    return LlamaForCausalLM(config).eval(), tok


def test_bits_per_byte_is_the_summed_nll_per_byte(tiny):
    import torch

    model, tok = tiny
    got = bits_per_byte_of(model, tok)
    nats, tokens = 0.0, 0
    eos = tok.eos_token_id
    for line in LINES:  # one line at a time, unpadded, by hand: context (eos), the line, eos
        ids = torch.tensor([[eos, *tok(line, add_special_tokens=False)["input_ids"], eos]])
        with torch.no_grad():
            logp = model(input_ids=ids).logits[0, :-1].log_softmax(-1)
        nats -= float(logp.gather(1, ids[0, 1:, None]).sum())
        tokens += ids.shape[1] - 1
    n_bytes = sum(len(x.encode()) + 1 for x in LINES)  # the closing eos stands for the line end
    assert got["tokens"] == tokens == n_bytes  # a byte-level tokenizer without merges: one token a byte
    assert got["bits_per_byte"] == pytest.approx(nats / math.log(2) / n_bytes, rel=1e-5)
    assert got["nats_per_token"] == pytest.approx(nats / tokens, rel=1e-5)


def bits_per_byte_of(model, tok, **kwargs):
    from vocabswap.causal_lm import bits_per_byte

    return bits_per_byte(model, tok, LINES, batch_size=2, **kwargs)


def test_too_long_line_is_refused(tiny):
    model, tok = tiny
    with pytest.raises(VocabswapError, match="line 2 has more than 17 tokens"):
        bits_per_byte_of(model, tok, max_length=19)  # line 1: 17 bytes, line 2: 31; + context and eos


def test_install_rows_keeps_the_tie(tiny):
    import copy

    from vocabswap.causal_lm import install_rows

    model = copy.deepcopy(tiny[0])
    emb = np.random.default_rng(0).normal(size=(40, 16)).astype(np.float32)
    install_rows(model, emb)
    assert np.array_equal(model.get_input_embeddings().weight.detach().numpy(), emb)
    assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert model.config.vocab_size == 40
    with pytest.raises(VocabswapError, match="width is 16"):
        install_rows(model, emb[:, :8])
    model.config.tie_word_embeddings = False
    with pytest.raises(VocabswapError, match="untied"):
        install_rows(model, emb)
