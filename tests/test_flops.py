"""The analytic FLOP count: the issue's reference numbers for XLM-R base, and torch's own op counter."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

from vocabswap.flops import MLMFlopModel, step_flops
from vocabswap.lapt import set_encoder_frozen
from vocabswap.mlm import MaskedLMObjective


@pytest.mark.parametrize(
    ("vocab", "all_positions", "masked_only"),
    [(250_002, 564, 237), (32_770, 231, 187)],
)
def test_xlmr_base_reference_numbers(vocab: int, all_positions: int, masked_only: int) -> None:
    # XLM-R base's architecture (the config's defaults; no weights needed), L = 256, 15% masked.
    model = MLMFlopModel.from_config(XLMRobertaConfig(vocab_size=vocab))
    assert (model.hidden, model.layers, model.intermediate) == (768, 12, 3072)
    assert round(model.forward_per_token(256, 1.0) / 1e6) == all_positions
    assert round(model.forward_per_token(256, 0.15) / 1e6) == masked_only


def test_head_share_of_forward_is_68_percent_at_250k() -> None:
    model = MLMFlopModel.from_config(XLMRobertaConfig(vocab_size=250_002))
    share = 0.85 * model.head_per_prediction() / model.forward_per_token(256, 1.0)
    assert share == pytest.approx(0.58, abs=0.01)  # what the masked-only head saves
    assert model.head_per_prediction() / model.forward_per_token(256, 1.0) == pytest.approx(0.68, abs=0.01)


@pytest.mark.parametrize("head", ["masked", "all"])
@pytest.mark.parametrize("frozen", [False, True])
def test_analytic_count_equals_torch_flop_counter(head: str, frozen: bool) -> None:
    """Forward and forward+backward FLOPs equal torch's matmul counter exactly (eager attention)."""
    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128
    )
    config._attn_implementation = "eager"  # the CPU SDPA kernel is invisible to FlopCounterMode
    model = XLMRobertaForMaskedLM(config)
    set_encoder_frozen(model, frozen)
    ids = torch.randint(5, 1000, (3, 20))
    labels = torch.full_like(ids, -100)
    labels[:, ::4] = ids[:, ::4]
    with FlopCounterMode(display=False) as counter:
        loss, _ = MaskedLMObjective(model, head)(ids, torch.ones_like(ids), labels)
        forward = counter.get_total_flops()
        loss.backward()
    n_pred = int((labels != -100).sum()) if head == "masked" else ids.numel()
    expected = MLMFlopModel.from_config(config).batch_flops(3, 20, n_pred, encoder_trainable=not frozen)
    assert forward == expected["forward"]
    assert counter.get_total_flops() == expected["total"]


def test_step_flops_paper_accounting_ignores_freezing_and_masking() -> None:
    model = MLMFlopModel.from_config(XLMRobertaConfig(vocab_size=32_770))
    frozen = step_flops(model, 4, 256, 150, encoder_trainable=False)
    trainable = step_flops(model, 4, 256, 150, encoder_trainable=True)
    assert frozen["paper"] == trainable["paper"] == 3 * model.batch_flops(4, 256, 4 * 256)["forward"]
    assert frozen["executed"] < trainable["executed"] < trainable["paper"]


def test_sequences_step_flops_count_real_tokens_only() -> None:
    """``lines`` batches (issue 8.1): equal lengths give step_flops exactly; padding a short sequence to
    the batch's longest is not counted; the attention term grows with each sequence's own length."""
    from vocabswap.flops import sequences_step_flops

    model = MLMFlopModel(hidden=768, layers=12, intermediate=3072, vocab=32_770)
    for trainable in (True, False):
        assert sequences_step_flops(model, [256] * 4, 150, encoder_trainable=trainable) == step_flops(
            model, 4, 256, 150, encoder_trainable=trainable
        )
    short, padded = (
        sequences_step_flops(model, [200, 30], 30, encoder_trainable=True),
        step_flops(model, 2, 200, 30, encoder_trainable=True),
    )
    assert short["paper"] < padded["paper"] and short["executed"] < padded["executed"]
    alone = [sequences_step_flops(model, [n], 0, encoder_trainable=True)["paper"] for n in (200, 30)]
    assert short["paper"] == sum(alone)  # additive over sequences: no cross-sequence attention


def test_smollm2_forward_per_token_by_hand() -> None:
    """SmolLM2-135M (d 576, 30 layers, MLP 1536, 9 query heads and 3 key/value heads of 64, V 49,152)."""
    from transformers import LlamaConfig

    from vocabswap.flops import CausalLMFlopModel, flop_model_for

    config = LlamaConfig(
        vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
        num_attention_heads=9, num_key_value_heads=3, architectures=["LlamaForCausalLM"],
    )  # fmt: skip
    model = flop_model_for(config)
    assert isinstance(model, CausalLMFlopModel) and (model.kv_heads, model.head_dim) == (3, 64)
    # per layer and position, multiply-adds: Q and O 576·576 each, K and V 576·192 each, MLP 3·576·1536
    macs = 2 * 331_776 + 2 * 110_592 + 2_654_208
    assert model.encoder_per_position() == 2 * 30 * macs == 212_336_640
    assert model.attention_per_position(64) == 2 * 30 * 2 * 64 * 576 == 4_423_680  # QKᵀ and PV, 64 keys
    assert model.head_per_prediction() == 2 * 576 * 49152 == 56_623_104
    assert model.forward_per_token(64, 1.0) == 212_336_640 + 4_423_680 + 56_623_104  # 273.4 MFLOP


@pytest.mark.parametrize("frozen", [False, True])
def test_causal_count_equals_torch_flop_counter(frozen: bool) -> None:
    """A small Llama with grouped-query attention and an untied head: the analytic count equals torch's
    matmul counter exactly (eager attention)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from vocabswap.causal_lapt import CausalLMObjective
    from vocabswap.family import DECODER
    from vocabswap.flops import flop_model_for

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=500, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, tie_word_embeddings=False, architectures=["LlamaForCausalLM"],
    )  # fmt: skip
    config._attn_implementation = "eager"
    model = LlamaForCausalLM(config)
    set_encoder_frozen(model, frozen, DECODER)
    ids = torch.randint(3, 500, (3, 20))
    with FlopCounterMode(display=False) as counter:
        loss, count = CausalLMObjective(model)(ids, torch.ones_like(ids), ids)
        forward = counter.get_total_flops()
        loss.backward()
    expected = flop_model_for(config).batch_flops(3, 20, int(count), encoder_trainable=not frozen)
    assert int(count) == 3 * 19
    assert forward == expected["forward"]
    assert counter.get_total_flops() == expected["total"]


def test_causal_lapt_flops_per_token_predict_all_but_the_last_position() -> None:
    from vocabswap.flops import CausalLMFlopModel
    from vocabswap.vocab_stats import lapt_flops_per_token

    model = CausalLMFlopModel(576, 30, 1536, 4000, heads=9, kv_heads=3, head_dim=64)
    got = lapt_flops_per_token(model, 256, 0.15)  # the masking probability plays no part
    assert got["paper"] == 3 * model.forward_per_token(256, 1.0)
    assert got["paper"] - got["executed"] == 3 * model.head_per_prediction() / 256  # one head fewer a row
