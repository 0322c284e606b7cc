"""`vocabswap init` on decoders: every method over canonical piece forms, specials, tied and untied heads.

The bases are small Llamas built here (hidden 16, one layer) with SmolLM2's real tokenizer (49,152 ids,
17 specials); the new tokenizer is a byte-level BPE trained like it on UD Hebrew-HTB's train text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _cli import one_line_error, run_cli

from vocabswap.errors import VocabswapError

BPE_VOCAB = 1500
METHODS = ("random", "ident", "script", "script+posn+ident", "mean+ident", "fvt", "focus")
HELDOUT = ["שלום עולם, מה שלומך היום?", "הבית הלבן נמצא בוושינגטון."]


@pytest.fixture(scope="module")
def he_bpe(he_bpe_of_size) -> Path:
    return he_bpe_of_size(BPE_VOCAB)


def _tiny_llama(tokenizer_dir: Path, out: Path, *, tied: bool) -> Path:
    import shutil

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=49152, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        tie_word_embeddings=tied, bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # distinct scales, so an output row copied from the input matrix would show
        model.get_input_embeddings().weight.normal_(0.0, 0.05)
        if not tied:
            model.get_output_embeddings().weight.normal_(0.3, 0.01)
    model.save_pretrained(str(out))
    for path in tokenizer_dir.iterdir():
        if path.is_file():
            shutil.copy2(path, out / path.name)
    return out


@pytest.fixture(scope="module")
def bases(smollm2_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("decoder-bases")
    return {
        "tied": _tiny_llama(smollm2_tokenizer, root / "tied", tied=True),
        "untied": _tiny_llama(smollm2_tokenizer, root / "untied", tied=False),
    }


@pytest.fixture(scope="module")
def aux_corpus(hebrew_train_text: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = hebrew_train_text.read_text(encoding="utf-8").splitlines()[:1500]
    path = tmp_path_factory.mktemp("aux") / "he.aux.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _load(path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(str(path)), AutoTokenizer.from_pretrained(str(path))


def _rows(model) -> tuple[np.ndarray, np.ndarray]:
    inp = model.get_input_embeddings().weight.detach().numpy()
    return inp, model.get_output_embeddings().weight.detach().numpy()


@pytest.fixture(scope="module")
def inits(bases, he_bpe: Path, aux_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    from vocabswap.aux_embeddings import FastTextOptions
    from vocabswap.reinit import FocusOptions, initialise

    focus = FocusOptions(fasttext=FastTextOptions(min_count=3))
    done = {}
    for head, base in bases.items():
        for method in METHODS:
            out = tmp_path_factory.mktemp("init") / f"{head}-{method}"
            kwargs = {"aux_corpus": aux_corpus, "focus_options": focus, "heldout": HELDOUT}
            report = initialise(base, he_bpe, method, out=out, seed=1, **kwargs)
            done[head, method] = (out, report)
    return done


@pytest.mark.parametrize("head", ["tied", "untied"])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_keeps_specials_and_the_head(inits, bases, head: str, method: str):
    out, report = inits[head, method]
    base, base_tok = _load(bases[head])
    model, _ = _load(out)
    inp, outp = _rows(model)
    base_in, base_out = _rows(base)
    assert inp.shape == (BPE_VOCAB, 16) and sum(report["counts"].values()) == BPE_VOCAB
    assert (out / "chat_template.jinja").is_file()  # the chat template `train-tokenizer --like` wrote
    assert model.config.tie_word_embeddings is (head == "tied")
    shared = model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert shared is (head == "tied")
    # all 17 of SmolLM2's specials keep their rows (ids 0..16 in both vocabularies), input and output
    assert report["counts"]["special"] == 17 == len(base_tok.added_tokens_decoder)
    assert np.array_equal(inp[:17], base_in[:17]) and np.array_equal(outp[:17], base_out[:17])
    assert report["output_rows"] == (
        "tied to the input rows" if head == "tied" else "the method applied to the output matrix"
    )
    # an untied head's new rows come from the output matrix (mean 0.3), not the input one (mean 0)
    if head == "untied" and not report["counts"]["random"]:
        assert abs(float(outp[17:].mean()) - 0.3) < 0.05 and abs(float(inp[17:].mean())) < 0.05
    step0 = report["step0"]
    assert 0.0 <= step0["new_row_mass"] <= 1.0 and step0["bits_per_byte"] > 0
    # the new rows are the tokens that are not base pieces (IDENT's candidates), whatever the method
    assert step0["new_rows"] == inits["untied", "ident"][1]["counts"]["random"]
    assert step0["base_tokens"] > step0["tokens"] > 0  # the base's tokens of the text, and the new model's


def test_ident_copies_canonical_matches(inits, bases, he_bpe: Path):
    """IDENT matches `Ġ`-pieces and byte pieces by their canonical forms; every copy is the base row."""
    from vocabswap.pieces import BYTE_LEVEL_BPE, canonical

    out, report = inits["untied", "ident"]
    base, base_tok = _load(bases["untied"])
    model, tok = _load(out)
    pairs = np.asarray(report["source"]["ident"])
    # SmolLM2 has 235 of the 256 byte pieces (not 0xC0, 0xC1, 0xF5..0xFF ...), and some Hebrew merges
    assert len(pairs) > 250
    new_pieces = tok.convert_ids_to_tokens(pairs[:, 0].tolist())
    base_pieces = base_tok.convert_ids_to_tokens(pairs[:, 1].tolist())
    forms = [canonical(p, BYTE_LEVEL_BPE) for p in new_pieces]
    assert forms == [canonical(p, BYTE_LEVEL_BPE) for p in base_pieces]
    assert {"▁ה", "▁א", "ר", "▁<0xD7>"} <= set(forms)  # Ġ×Ķ, Ġ×Ĳ, ×¨, Ġ×
    inp, outp = _rows(model)
    base_in, base_out = _rows(base)
    assert np.array_equal(inp[pairs[:, 0]], base_in[pairs[:, 1]])
    assert np.array_equal(outp[pairs[:, 0]], base_out[pairs[:, 1]])


def test_fvt_is_the_mean_of_the_base_bpe_split(inits, bases):
    out, report = inits["tied", "fvt"]
    base, base_tok = _load(bases["tied"])
    model, tok = _load(out)
    bpe = base_tok.backend_tokenizer.model
    inp, base_in = _rows(model)[0], _rows(base)[0]
    vocab = tok.convert_ids_to_tokens(list(range(17, BPE_VOCAB)))
    long = [(i, p) for i, p in enumerate(vocab, start=17) if len(bpe.tokenize(p)) > 1][:20]
    assert len(long) == 20 and report["counts"]["fvt"] > 1000
    for new_id, piece in long:
        ids = [t.id for t in bpe.tokenize(piece)]
        np.testing.assert_allclose(inp[new_id], base_in[ids].mean(axis=0), rtol=1e-5, atol=1e-7)


def test_script_categories_read_the_canonical_word_start(inits):
    report = inits["tied", "script+posn+ident"][1]
    assert report["category_base_rows"].get("Hebrew_initial", 0) > 0
    assert report["category_base_rows"].get("Hebrew_medial", 0) > 0


def test_new_row_mass_is_exact_on_known_cases():
    from vocabswap.causal_lm import new_row_mass

    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(50, 8)).astype(np.float32)
    base_out = rng.normal(size=(30, 8)).astype(np.float32)
    targets = rng.integers(0, 30, size=50)
    none = new_row_mass(hidden, targets, base_out, np.zeros((0, 8), np.float32))
    assert none["new_row_mass"] == 0.0
    assert none["nats_per_token_with_new_rows"] == none["nats_per_token_base_rows"]
    twin = new_row_mass(hidden, targets, base_out, base_out.copy(), chunk=7)  # every row twice: half the mass
    assert twin["new_row_mass"] == pytest.approx(0.5, abs=1e-6)
    assert twin["nats_per_token_with_new_rows"] == pytest.approx(none["nats_per_token_base_rows"] + np.log(2))


def test_decoder_base_with_a_sentencepiece_tokenizer(bases, he_tokenizer: Path, tmp_path: Path, capsys):
    argv = ["init", "--base", bases["tied"], "--tokenizer", he_tokenizer, "--method", "mean"]
    rc, err = run_cli([*argv, "--out", tmp_path / "out"], capsys)
    one_line_error(rc, err, "sentencepiece-unigram tokenizer, but the base is a causal language model")
    assert not (tmp_path / "out").exists()


def test_install_rows_wants_output_rows_exactly_when_untied(bases):
    from vocabswap.causal_lm import install_rows

    tied, _ = _load(bases["tied"])
    untied, _ = _load(bases["untied"])
    emb = np.zeros((40, 16), np.float32)
    with pytest.raises(VocabswapError, match="tied decoder takes no output rows"):
        install_rows(tied, emb, emb)
    with pytest.raises(VocabswapError, match="width is 16"):
        install_rows(untied, emb, emb[:, :8])
