"""`vocabswap init` / `initialise`: the output directory, init_report.json, model surgery (tied decoder,
remapped or paper-truncated MLM bias), reproducibility, and one-line errors that leave no output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from vocabswap import unicode_scripts
from vocabswap.cli import main
from vocabswap.reinit import initialise


@pytest.fixture(scope="module")
def biased_base(base_model_enpt, tmp_path_factory):
    """The 47k base with a non-zero MLM bias (the packaged head's bias is zeros), to test the bias rule."""
    import torch
    from transformers import AutoModelForMaskedLM

    out = tmp_path_factory.mktemp("base") / "enpt-biased"
    model = AutoModelForMaskedLM.from_pretrained(base_model_enpt)
    with torch.no_grad():
        model.lm_head.bias.copy_(
            torch.randn(model.lm_head.bias.shape, generator=torch.Generator().manual_seed(3))
        )
    model.save_pretrained(out)
    for path in base_model_enpt.iterdir():
        if path.name.startswith(("tokenizer", "sentencepiece")):
            shutil.copy2(path, out / path.name)
    return out


def load_out(out: Path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    return AutoModelForMaskedLM.from_pretrained(out), AutoTokenizer.from_pretrained(out)


def base_arrays(base: Path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    model, tok = AutoModelForMaskedLM.from_pretrained(base), AutoTokenizer.from_pretrained(base)
    n = len(tok)
    emb = model.get_input_embeddings().weight.detach().numpy()[:n]
    bias = model.lm_head.bias.detach().numpy()[:n]
    return emb, bias, tok.convert_ids_to_tokens(list(range(n))), set(tok.all_special_ids)


@pytest.mark.slow
def test_output_directory_loads_and_follows_the_report(biased_base, he_tokenizer, tmp_path):
    out = tmp_path / "init"
    report = initialise(biased_base, he_tokenizer, "script+posn+ident", out=out, seed=1)
    assert json.loads((out / "init_report.json").read_text(encoding="utf-8")) == report
    for key in (
        "method",
        "seed",
        "vocab_size",
        "base_vocab_size",
        "counts",
        "source",
        "categories",
        "seconds",
    ):
        assert key in report
    model, tok = load_out(out)
    from transformers import AutoTokenizer

    source_tok = AutoTokenizer.from_pretrained(he_tokenizer)
    v = len(tok)
    emb = model.get_input_embeddings().weight.detach().numpy()
    bias = model.lm_head.bias.detach().numpy()
    # tokenizer ids == embedding rows; config follows the new vocabulary
    assert tok.get_vocab() == source_tok.get_vocab() and sorted(tok.get_vocab().values()) == list(range(v))
    assert emb.shape == (v, 384) and model.config.vocab_size == v == report["vocab_size"]
    assert (model.config.pad_token_id, model.config.bos_token_id, model.config.eos_token_id) == (
        tok.pad_token_id,
        tok.bos_token_id,
        tok.eos_token_id,
    )
    assert tok.mask_token_id == v - 1
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert model.lm_head.decoder.bias.data_ptr() == model.lm_head.bias.data_ptr()
    # counts sum to the vocabulary and every copied row equals its base row, bias included
    assert sum(report["counts"].values()) == v
    base_emb, base_bias, base_pieces, base_specials = base_arrays(biased_base)
    pieces = tok.convert_ids_to_tokens(list(range(v)))
    for kind in ("ident", "special"):
        pairs = np.asarray(report["source"][kind])
        assert len(pairs) == report["counts"][kind]
        assert np.array_equal(emb[pairs[:, 0]], base_emb[pairs[:, 1]])
        assert np.array_equal(bias[pairs[:, 0]], base_bias[pairs[:, 1]])
        assert all(pieces[n] == base_pieces[b] for n, b in pairs)
    # sampled rows: MLM bias = the mean bias of the base rows of the row's (script, position) category
    copied = {int(n) for n, _ in report["source"]["ident"] + report["source"]["special"]}
    ordinary = [i for i in range(len(base_pieces)) if i not in base_specials]
    base_codes, labels = unicode_scripts.categorise([base_pieces[i] for i in ordinary], position=True)
    new_codes, _ = unicode_scripts.categorise(pieces, position=True)
    sampled = [i for i in range(v) if i not in copied]
    assert len(sampled) == report["counts"]["script"] + report["counts"]["fallback"]
    expected = {c: base_bias[np.asarray(ordinary)[base_codes == c]].mean() for c in set(new_codes[sampled])}
    np.testing.assert_allclose(bias[sampled], [expected[new_codes[i]] for i in sampled], rtol=1e-5, atol=1e-6)
    assert report["categories"] == {
        labels[c]: int(n) for c, n in zip(*np.unique(new_codes[sampled], return_counts=True), strict=True)
    }
    # the model runs
    import torch

    with torch.no_grad():
        logits = model(**tok(["שלום עולם"], return_tensors="pt")).logits
    assert logits.shape[-1] == v and torch.isfinite(logits).all()


@pytest.mark.slow
def test_random_rows_get_the_mean_base_bias(biased_base, he_tokenizer, tmp_path):
    report = initialise(biased_base, he_tokenizer, "random", out=tmp_path / "r", seed=1)
    model, _ = load_out(tmp_path / "r")
    bias = model.lm_head.bias.detach().numpy()
    _, base_bias, _, base_specials = base_arrays(biased_base)
    ordinary = np.setdiff1d(np.arange(len(base_bias)), list(base_specials))
    special = [n for n, _ in report["source"]["special"]]
    rest = np.setdiff1d(np.arange(len(bias)), special)
    np.testing.assert_allclose(bias[rest], base_bias[ordinary].mean(), rtol=1e-5)


@pytest.mark.slow
def test_paper_compat_truncates_the_bias_and_script_overwrites_specials(biased_base, he_tokenizer, tmp_path):
    _, base_bias, _, _ = base_arrays(biased_base)
    base_emb = base_arrays(biased_base)[0]
    report = initialise(biased_base, he_tokenizer, "script", out=tmp_path / "p", seed=1, paper_compat=True)
    model, tok = load_out(tmp_path / "p")
    v = len(tok)
    bias = model.lm_head.bias.detach().numpy()
    emb = model.get_input_embeddings().weight.detach().numpy()
    assert np.array_equal(bias, base_bias[:v])  # the first V_new entries of the old bias
    assert report["paper_compat"] is True and report["counts"]["special"] == 0
    assert report["counts"]["script"] + report["counts"]["fallback"] == v
    for special in (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id):
        assert not np.array_equal(emb[special], base_emb[special])  # sampled, not copied
    # The paper code's IDENT skips the special tokens (issue 8.6): with script+ident and
    # script+posn+ident they stay script-sampled although their strings are base pieces.
    specials = [tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.mask_token_id]
    for method, name in (("script+ident", "q"), ("script+posn+ident", "r")):
        report = initialise(biased_base, he_tokenizer, method, out=tmp_path / name, seed=1, paper_compat=True)
        assert report["counts"]["special"] == 0 and report["counts"]["ident"] > 0
        assert not {n for n, _ in report["source"]["ident"]} & set(specials)
        emb = load_out(tmp_path / name)[0].get_input_embeddings().weight.detach().numpy()
        for special in specials:
            assert not np.array_equal(emb[special], base_emb[special]), (method, special)
    # without paper_compat the specials are copied from the base
    report = initialise(biased_base, he_tokenizer, "script+ident", out=tmp_path / "s", seed=1)
    assert report["counts"]["special"] == 5
    # the default keeps specials from the base and remaps the bias
    report = initialise(biased_base, he_tokenizer, "script", out=tmp_path / "d", seed=1)
    assert report["counts"]["special"] == 5 and report["paper_compat"] is False
    model, _ = load_out(tmp_path / "d")
    assert not np.array_equal(model.lm_head.bias.detach().numpy(), base_bias[:v])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["random", "script+posn+ident"])
def test_same_seed_gives_byte_identical_weights(base_model_enpt, he_tokenizer, tmp_path, method):
    paths = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        initialise(base_model_enpt, he_tokenizer, method, out=tmp_path / name, seed=seed)
        paths[name] = (tmp_path / name / "model.safetensors").read_bytes()
    assert paths["a"] == paths["b"]
    assert paths["a"] != paths["c"]


@pytest.mark.slow
def test_focus_through_the_cli_reports_tokens_without_vectors(
    base_model_enpt, he_tokenizer, hebrew_train_text, tmp_path
):
    """deepfocus's defaults (min count 10) on ~5k Hebrew sentences: many new tokens get no vector."""
    out = tmp_path / "focus"
    rc = main(
        [
            "init",
            "--base",
            str(base_model_enpt),
            "--tokenizer",
            str(he_tokenizer),
            "--method",
            "focus",
            "--aux-corpus",
            str(hebrew_train_text),
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    report = json.loads((out / "init_report.json").read_text(encoding="utf-8"))
    assert report["no_vector"] == report["counts"]["fallback"] > 0
    assert report["fasttext"]["min_count"] == 10 and report["fasttext"]["dim"] == 100
    assert sum(report["counts"].values()) == report["vocab_size"]
    assert report["counts"]["focus"] > 0


# --- bad input: a one-line error and no output directory --------------------------------------------------


def run_cli(capsys, args, out: Path) -> str:
    rc = main(["init", *args, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.startswith("vocabswap init: error:")]
    assert len(lines) == 1, err
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    return lines[0]


@pytest.mark.slow
def test_bad_input_gives_one_line_and_no_output(
    base_model_enpt, he_tokenizer, hebrew_train_text, tmp_path, capsys
):
    base, tok = str(base_model_enpt), str(he_tokenizer)
    out = tmp_path / "outdir" / "model"
    out.parent.mkdir()

    assert "unknown method 'scrpit'" in run_cli(
        capsys, ["--base", base, "--tokenizer", tok, "--method", "scrpit"], out
    )
    assert "does not exist" in run_cli(
        capsys, ["--base", base, "--tokenizer", str(tmp_path / "nope"), "--method", "ident"], out
    )

    corrupt = tmp_path / "corrupt-tok"
    shutil.copytree(he_tokenizer, corrupt)
    (corrupt / "tokenizer.json").write_text("{not json", encoding="utf-8")
    (corrupt / "sentencepiece.bpe.model").write_bytes(b"\x00garbage")
    assert str(corrupt) in run_cli(
        capsys, ["--base", base, "--tokenizer", str(corrupt), "--method", "ident"], out
    )

    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    assert "empty" in run_cli(
        capsys, ["--base", base, "--tokenizer", tok, "--method", "focus", "--aux-corpus", str(empty)], out
    )
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("שלום\n".encode() + "caf\xe9\n".encode("latin-1"))
    assert f"{latin1}:2: not UTF-8" in run_cli(
        capsys, ["--base", base, "--tokenizer", tok, "--method", "focus", "--aux-corpus", str(latin1)], out
    )
    assert "needs --aux-corpus" in run_cli(
        capsys, ["--base", base, "--tokenizer", tok, "--method", "focus"], out
    )

    # a base model that is not a masked LM (the encoder without its MLM head)
    from transformers import AutoModel

    encoder = tmp_path / "encoder-only"
    AutoModel.from_pretrained(base_model_enpt).save_pretrained(encoder)
    for path in base_model_enpt.glob("tokenizer*"):
        shutil.copy2(path, encoder / path.name)
    assert "not a masked LM" in run_cli(
        capsys, ["--base", str(encoder), "--tokenizer", tok, "--method", "ident"], out
    )

    # hidden-size mismatch between the config and the weights
    mismatched = tmp_path / "mismatched"
    shutil.copytree(base_model_enpt, mismatched)
    config = json.loads((mismatched / "config.json").read_text())
    config["hidden_size"] = 768
    (mismatched / "config.json").write_text(json.dumps(config))
    assert "hidden-size mismatch" in run_cli(
        capsys, ["--base", str(mismatched), "--tokenizer", tok, "--method", "ident"], out
    )

    # a vocabulary larger than the text supports: train-tokenizer refuses, init then has no tokenizer
    too_big = tmp_path / "too-big-tok"
    assert (
        main(
            [
                "train-tokenizer",
                "--corpus",
                str(hebrew_train_text),
                "--vocab-size",
                "60000",
                "--out",
                str(too_big),
            ]
        )
        == 2
    )
    assert "larger than the text" in capsys.readouterr().err and not too_big.exists()
    assert "does not exist" in run_cli(
        capsys, ["--base", base, "--tokenizer", str(too_big), "--method", "ident"], out
    )


def test_new_matrix_of_another_width_is_a_hidden_size_mismatch(base_model_enpt, he_tokenizer):
    from vocabswap import surgery
    from vocabswap.errors import VocabswapError
    from vocabswap.modeldir import load_tokenizer

    model, _ = surgery.load_base(base_model_enpt)
    tok = load_tokenizer(he_tokenizer, xlmr_ids=True)
    with pytest.raises(VocabswapError, match="hidden-size mismatch"):
        surgery.install(model, np.zeros((len(tok), 768), np.float32), np.zeros(len(tok), np.float32), tok)
