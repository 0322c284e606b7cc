"""Canonical forms of pieces across tokenizer kinds (vocabswap.pieces), on SmolLM2's and XLM-R's real
vocabularies and on Hebrew tokenizers of both kinds trained on the same text."""

from __future__ import annotations

from pathlib import Path

import pytest

from vocabswap.errors import VocabswapError
from vocabswap.family import BYTE_LEVEL_BPE, SENTENCEPIECE_UNIGRAM
from vocabswap.pieces import byte_level_decoder, canonical, canonical_index, canonical_pieces, piece_bytes


@pytest.mark.parametrize(
    ("piece", "kind", "form"),
    [
        ("▁the", SENTENCEPIECE_UNIGRAM, "▁the"),
        ("the", SENTENCEPIECE_UNIGRAM, "the"),
        ("<0xD7>", SENTENCEPIECE_UNIGRAM, "<0xD7>"),
        ("<0x41>", SENTENCEPIECE_UNIGRAM, "A"),
        ("Ġthe", BYTE_LEVEL_BPE, "▁the"),
        ("×©", BYTE_LEVEL_BPE, "ש"),
        ("Ġ×", BYTE_LEVEL_BPE, "▁<0xD7>"),
        ("ĠĠ", BYTE_LEVEL_BPE, "▁▁"),
        ("Ċ", BYTE_LEVEL_BPE, "\n"),
    ],
)
def test_canonical(piece, kind, form):
    assert canonical(piece, kind) == form


def test_byte_level_alphabet_is_the_tokenizers_librarys():
    from tokenizers.pre_tokenizers import ByteLevel

    table = byte_level_decoder()
    assert set(table) == set(ByteLevel.alphabet()) and sorted(table.values()) == list(range(256))
    assert table["Ġ"] == 0x20 and table["A"] == 0x41


def test_bad_pieces():
    with pytest.raises(VocabswapError, match="outside the byte-level alphabet"):
        piece_bytes("▁x", BYTE_LEVEL_BPE)
    with pytest.raises(VocabswapError, match="unknown tokenizer kind"):
        canonical("x", "wordpiece")


def test_smollm2_pieces_decode_as_its_decoder_does(smollm2_tokenizer: Path):
    """Every SmolLM2 piece's bytes are what its own ByteLevel decoder makes of it; forms are unique."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2_tokenizer))
    pieces = tok.convert_ids_to_tokens(list(range(len(tok))))
    specials = tok.all_special_ids
    decoder = tok.backend_tokenizer.decoder
    ordinary = [p for i, p in enumerate(pieces) if i not in set(specials)]
    assert [piece_bytes(p, BYTE_LEVEL_BPE).decode("utf-8", "replace") for p in ordinary] == [
        decoder.decode([p]) for p in ordinary
    ]
    forms = canonical_pieces(pieces, BYTE_LEVEL_BPE, keep=specials)
    assert len(set(forms)) == len(forms)  # the map is reversible: no two pieces share a form
    assert forms[pieces.index("Ġthe")] == "▁the" and forms[0] == "<|endoftext|>"


def test_sentencepiece_pieces_are_their_own_forms(he_tokenizer: Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(he_tokenizer))
    pieces = tok.convert_ids_to_tokens(list(range(len(tok))))
    assert canonical_pieces(pieces, SENTENCEPIECE_UNIGRAM, keep=tok.all_special_ids) == pieces


def test_index_prefers_the_piece_spelt_as_its_form():
    index = canonical_index(["<unk>", "<0x41>", "A", "▁A"], SENTENCEPIECE_UNIGRAM, keep=[0])
    assert index == {"<unk>": 0, "A": 2, "▁A": 3}


def test_hebrew_bpe_meets_hebrew_sentencepiece(
    he_tokenizer: Path, smollm2_tokenizer: Path, hebrew_train_text: Path, tmp_path: Path
):
    """Across kinds, whole Hebrew words match only through canonical forms (as raw strings: none)."""
    from transformers import AutoTokenizer

    from vocabswap.tokenizer_like import train_tokenizer_like

    bpe_dir = train_tokenizer_like([hebrew_train_text], 8002, tmp_path / "bpe", like=smollm2_tokenizer)
    spm, bpe = (AutoTokenizer.from_pretrained(str(d)) for d in (he_tokenizer, bpe_dir))
    spm_pieces = spm.convert_ids_to_tokens(list(range(len(spm))))
    bpe_pieces = bpe.convert_ids_to_tokens(list(range(len(bpe))))
    spm_index = canonical_index(spm_pieces, SENTENCEPIECE_UNIGRAM, keep=spm.all_special_ids)
    bpe_forms = canonical_pieces(bpe_pieces, BYTE_LEVEL_BPE, keep=bpe.all_special_ids)
    hebrew = [f for f in bpe_forms if f in spm_index and any("\u05d0" <= c <= "\u05ea" for c in f)]
    raw_hebrew = [p for p in bpe_pieces if p in spm_index and any("\u05d0" <= c <= "\u05ea" for c in p)]
    assert raw_hebrew == [] and len(hebrew) > 2000, len(hebrew)
    assert "▁של" in hebrew  # "of", the most frequent Hebrew word
