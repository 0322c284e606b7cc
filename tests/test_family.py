"""The family seam: which family a config is, and what each family says (vocabswap.family)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vocabswap.errors import VocabswapError
from vocabswap.family import (
    BYTE_LEVEL_BPE,
    DECODER,
    ENCODER,
    SENTENCEPIECE_UNIGRAM,
    family_of_config,
    family_of_dir,
    tokenizer_kind,
)


def _config(name: str, **kwargs):
    from transformers import AutoConfig

    return AutoConfig.for_model(name, **kwargs)


@pytest.mark.parametrize(
    ("model_type", "architectures", "family"),
    [
        ("xlm-roberta", ["XLMRobertaForMaskedLM"], ENCODER),
        ("xlm-roberta", None, ENCODER),  # no architectures: masked-LM mapping first
        ("xlm-roberta", ["XLMRobertaForCausalLM"], DECODER),  # the architecture decides
        ("bert", None, ENCODER),
        ("llama", ["LlamaForCausalLM"], DECODER),
        ("llama", None, DECODER),
        ("gpt2", None, DECODER),
    ],
)
def test_family_of_config(model_type, architectures, family):
    assert family_of_config(_config(model_type, architectures=architectures)) is family


@pytest.mark.parametrize(("model_type", "needle"), [("t5", "encoder-decoder"), ("vit", "not a masked")])
def test_other_models_are_refused(model_type, needle):
    with pytest.raises(VocabswapError, match=needle):
        family_of_config(_config(model_type), where="m")


def test_families_differ_where_the_seam_says():
    assert (ENCODER.objective, DECODER.objective) == ("masked-lm", "causal-lm")
    assert (ENCODER.word_start, DECODER.word_start) == ("▁", "Ġ")
    assert (ENCODER.tokenizer_kind, DECODER.tokenizer_kind) == (SENTENCEPIECE_UNIGRAM, BYTE_LEVEL_BPE)
    assert "mask_token" in ENCODER.special_roles and "mask_token" not in DECODER.special_roles
    untied, tied = _config("llama", tie_word_embeddings=False), _config("llama", tie_word_embeddings=True)
    assert not DECODER.is_tied(untied) and DECODER.is_tied(tied)
    assert ENCODER.is_tied(_config("xlm-roberta", tie_word_embeddings=False))  # the MLM decoder is tied


def test_real_base_directories(base_model_enpt: Path, he_tokenizer: Path):
    assert family_of_dir(base_model_enpt) is ENCODER
    assert tokenizer_kind(base_model_enpt) == tokenizer_kind(he_tokenizer) == SENTENCEPIECE_UNIGRAM
    from transformers import AutoTokenizer

    ids = ENCODER.special_ids(AutoTokenizer.from_pretrained(str(he_tokenizer)))
    assert ids == {"bos_token": 0, "pad_token": 1, "eos_token": 2, "unk_token": 3, "mask_token": 8001,
                   "cls_token": 0, "sep_token": 2}  # fmt: skip


def test_decoder_tokenizer_roles(smollm2_tokenizer: Path):
    from transformers import AutoTokenizer

    assert tokenizer_kind(smollm2_tokenizer) == BYTE_LEVEL_BPE
    ids = DECODER.special_ids(AutoTokenizer.from_pretrained(str(smollm2_tokenizer)))
    assert ids == {"bos_token": 1, "eos_token": 2, "unk_token": 0, "pad_token": 2}


def test_unreadable_directories(tmp_path: Path):
    with pytest.raises(VocabswapError, match="cannot read the model config"):
        family_of_dir(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"model": {"type": "WordPiece"}}')
    with pytest.raises(VocabswapError, match="neither a SentencePiece unigram nor a byte-level BPE"):
        tokenizer_kind(tmp_path)
