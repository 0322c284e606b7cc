"""Head calibration trains the new MLM head only, lowers its loss, and is a pure function of its seed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from reference.head_calibration import HEAD_PARAMETERS, CalibrationConfig, calibrate_head
from transformers import AutoModelForMaskedLM, AutoTokenizer

from vocabswap.errors import VocabswapError
from vocabswap.mlm import read_lines

CONFIG = CalibrationConfig(steps=12, batch_size=8, max_length=48, lr=3e-3, seed=3)


def calibrated(base: Path, lines: list[str], config: CalibrationConfig = CONFIG):
    torch.manual_seed(0)
    model = AutoModelForMaskedLM.from_pretrained(base)
    tokenizer = AutoTokenizer.from_pretrained(base)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    record = calibrate_head(model, tokenizer, lines, config)
    return model, before, record


@pytest.mark.slow
def test_only_the_head_transform_layernorm_and_bias_train(base_model_enpt: Path, hebrew_train_text: Path):
    lines = read_lines(hebrew_train_text)[:200]
    model, before, record = calibrated(base_model_enpt, lines)
    after = model.state_dict()
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    # lm_head.decoder.bias is lm_head.bias (tied); the decoder weight is the (frozen) embedding matrix.
    assert changed - {"lm_head.decoder.bias"} == set(HEAD_PARAMETERS)
    assert torch.equal(after["lm_head.decoder.weight"], after["roberta.embeddings.word_embeddings.weight"])
    assert record["loss_last"] < record["loss_first"]
    assert record["trained"] == list(HEAD_PARAMETERS) and record["lines"] == 200
    assert all(p.requires_grad for p in model.parameters())  # handed back trainable, as it came


@pytest.mark.slow
def test_same_seed_same_bits_other_seed_other_head(base_model_enpt: Path, hebrew_train_text: Path):
    lines = read_lines(hebrew_train_text)[:200]
    first, _, _ = calibrated(base_model_enpt, lines)
    again, _, _ = calibrated(base_model_enpt, lines)
    other, _, _ = calibrated(base_model_enpt, lines, CalibrationConfig(**{**CONFIG.__dict__, "seed": 4}))
    weight = "lm_head.dense.weight"
    assert torch.equal(first.state_dict()[weight], again.state_dict()[weight])
    assert not torch.equal(first.state_dict()[weight], other.state_dict()[weight])


def test_no_text_is_an_error(base_model_enpt: Path):
    model = AutoModelForMaskedLM.from_pretrained(base_model_enpt)
    tokenizer = AutoTokenizer.from_pretrained(base_model_enpt)
    with pytest.raises(VocabswapError, match="needs text"):
        calibrate_head(model, tokenizer, [], CONFIG)
