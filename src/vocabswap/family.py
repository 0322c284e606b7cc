"""The model family seam: encoder masked LMs and decoder causal LMs behind one small interface.

vocabswap replaces the vocabulary of two families of language model. What differs between them lives
here, in one :class:`Family` record per family, and nowhere else:

=====================  ==========================================  ==========================================
                       encoder (XLM-R, multilingual-e5)            decoder (Llama: SmolLM2)
=====================  ==========================================  ==========================================
read from              ``config.json``: an architecture ending in ``ForMaskedLM`` / ``ForCausalLM``; else
                       the ``model_type`` in transformers' masked-LM / causal-LM mapping (masked first)
objective (loss)       masked LM: 15 % of positions, 80/10/10      next token: every position predicts the
                       (mean cross-entropy over masked positions)  next (mean cross-entropy, shifted by one)
LAPT's frozen blocks   ``roberta.encoder.*`` (embeddings and the   ``model.layers.*`` (embeddings, final norm,
                       MLM head always train)                      ``lm_head`` always train)
LAPT sequence          ``<s> line </s>``; dev: MLM loss            context token (eos, else bos), line, eos;
                                                                   dev: nats per token and bits per byte
auto class / head      ``AutoModelForMaskedLM``; dense + LN +      ``AutoModelForCausalLM``; a linear
                       decoder with an output bias                 ``lm_head``, no bias
input/output tying     tied (XLM-R ties the MLM decoder)           read from ``config.tie_word_embeddings``
                                                                   (SmolLM2: tied); untied models have
                                                                   their own output rows
special-token roles    bos ``<s>``, pad, eos ``</s>``, unk, mask   bos, eos, unk, pad as the base's
                                                                   tokenizer names them (SmolLM2: bos
                                                                   ``<|im_start|>``, eos = pad
                                                                   ``<|im_end|>``, unk ``<|endoftext|>``);
                                                                   no mask
tokenizer kind         SentencePiece unigram (``▁`` marks a word   byte-level BPE (``Ġ``, the byte-level
                       start; XLM-R's fairseq id layout)           alphabet's space, marks a word start;
                                                                   ids 0.. are the base's added specials)
pieces as re-init      as they are (encoder outputs unchanged)     canonical forms (:mod:`vocabswap.pieces`:
compares them                                                      ``Ġ`` -> ``▁``, stray bytes ``<0xNN>``)
FVT's split of a new   the base tokenizer on its text (``▁`` ->    the base BPE model on the byte-level
piece                  space)                                      string itself (no pre-tokenizer)
output rows at init    tied; the MLM bias remapped by the rule     tied: follow the input rows; untied: the
                                                                   method applied to the output matrix
                                                                   (same seed); no bias
tagging body           ``AutoModel`` without its pooler            ``AutoModel`` (``LlamaModel``): the body
(POS/NER fine-tuning)  (``add_pooling_layer=False``)               without its ``lm_head``
tagging window         ``<s>`` (else cls) pieces ``</s>`` (else    the context token (:func:`vocabswap.
                       sep)                                        causal_lm.context_id`) then the pieces;
                                                                   no closing token (nothing after it would
                                                                   be attended to by the words)
a word's pieces        the tokenizer's pieces of the word alone    of `` " " + word``, the sentence's first
(tagging)              (SentencePiece prefixes ``▁`` itself)       word alone (as in running text: the
                                                                   byte-level pre-tokenizer adds a prefix
                                                                   space itself only where it says so)
a word's vector        mean of its pieces' states                  its last piece's state: under causal
                                                                   attention the only one that has seen
                                                                   every piece of the word
=====================  ==========================================  ==========================================

Callers ask :func:`family_of_config` or :func:`family_of_dir` which family a model is, then use the
record's fields and methods (:meth:`Family.load_model`, :meth:`Family.is_tied`); they do not branch on
model types themselves. The tokenizer kind of an existing tokenizer directory is read from its
``tokenizer.json`` by :func:`tokenizer_kind` (it must agree with the family's for ``--like BASE``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vocabswap.errors import VocabswapError, first_line

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel

ENCODER_NAME, DECODER_NAME = "encoder", "decoder"
SENTENCEPIECE_UNIGRAM, BYTE_LEVEL_BPE = "sentencepiece-unigram", "byte-level-bpe"


@dataclass(frozen=True)
class Family:
    """Everything that differs between the encoder and the decoder family (see the module docstring)."""

    name: str
    objective: str  # "masked-lm" or "causal-lm"
    description: str  # "masked language model" / "causal language model", for messages
    short: str  # "masked LM" / "causal LM", for messages
    auto_class: str  # the transformers Auto class that loads a model of the family with its LM head
    architecture_suffix: str  # "ForMaskedLM" / "ForCausalLM"
    tokenizer_kind: str
    word_start: str  # the piece prefix that marks the start of a word
    special_roles: tuple[str, ...]  # tokenizer attributes (``bos_token`` ...) a tokenizer of it may set
    always_tied: bool  # the output matrix is the input matrix whatever the config says
    output_bias: bool  # the LM head has an output bias (remapped at init)
    # the vocabulary table's caption: what the embedding parameters include, what "executed" FLOPs count
    embedding_note: str
    executed_flops_note: str
    blocks_prefix: str  # parameter-name prefix of the transformer blocks (frozen by LAPT's schedule)
    layout_name: str  # the model layout that prefix is read from, for messages
    # POS/NER fine-tuning (:mod:`vocabswap.tagging`)
    body_kwargs: tuple[tuple[str, Any], ...]  # AutoModel keyword arguments for the body without its head
    word_pooling: str  # "mean" (of a word's pieces) or "last" (its last piece)
    word_space: str  # put before every word but a sentence's first before tokenising it
    closes_window: bool  # a window ends with the eos (sep) token

    def auto_model(self) -> Any:
        import transformers

        return getattr(transformers, self.auto_class)

    def load_model(self, source: str | Path, **kwargs: Any) -> PreTrainedModel:
        """The model with its LM head, loaded in fp32 with ``from_pretrained`` (one-line errors)."""
        import torch

        kwargs.setdefault("dtype", torch.float32)
        try:
            return self.auto_model().from_pretrained(str(source), **kwargs)
        except (OSError, ValueError) as err:
            raise VocabswapError(f"cannot load the {self.name} model {source}: {first_line(err)}") from err

    def load_body(self, source: str | Path) -> PreTrainedModel:
        """The model's body without its LM head (``AutoModel``), fp32, for fine-tuning a tagger on it."""
        import pickle

        import torch
        from safetensors import SafetensorError
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # the LM head's weights are expected to be left out: no report
        try:
            return AutoModel.from_pretrained(str(source), dtype=torch.float32, **dict(self.body_kwargs))
        except (OSError, ValueError, TypeError, SafetensorError, pickle.UnpicklingError) as err:
            raise VocabswapError(
                f"{source}: the model does not load as the body of a {self.short}: {first_line(err)}"
            ) from err
        finally:
            hf_logging.set_verbosity(verbosity)

    def window_ids(self, tokenizer: Any) -> tuple[int, int | None]:
        """The ids that open and close a tagging window (``None``: nothing closes it)."""
        if self.closes_window:  # the encoder's <s> ... </s> (cls/sep where a tokenizer has no bos/eos)
            start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id
            end = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
            return start, end
        from vocabswap.causal_lm import context_id

        return context_id(tokenizer), None

    def is_tied(self, config: PretrainedConfig) -> bool:
        """Whether the output embeddings are the input embeddings."""
        return self.always_tied or bool(getattr(config, "tie_word_embeddings", True))

    def special_ids(self, tokenizer: Any) -> dict[str, int]:
        """Role (``bos_token`` ...) -> id of each special token role the tokenizer sets."""
        ids = {}
        for role in self.special_roles:
            token_id = getattr(tokenizer, f"{role}_id", None)
            if token_id is not None:
                ids[role] = int(token_id)
        return ids

    def canonical_pieces(self, pieces: Sequence[str], *, keep: Sequence[int] = ()) -> list[str]:
        """Pieces as the re-initialisation compares them (IDENT, SCRIPT/POSN, FOCUS's overlap): the
        encoder's as they are, the decoder's in canonical form; the ids in ``keep`` stay as they are."""
        if self.tokenizer_kind == SENTENCEPIECE_UNIGRAM:
            return list(pieces)
        from vocabswap.pieces import canonical_pieces

        return canonical_pieces(pieces, self.tokenizer_kind, keep=keep)

    def split_in_base(self, base_tokenizer: Any, pieces: Sequence[str]) -> list[list[int]]:
        """Base ids of the pieces that the base tokenizer splits each new piece (as spelt by its own
        tokenizer) into, for FVT: a SentencePiece piece's text (``▁`` -> space) through the whole
        tokenizer; a byte-level piece through the base's BPE model directly (both share the alphabet)."""
        if self.tokenizer_kind == BYTE_LEVEL_BPE:
            bpe = base_tokenizer.backend_tokenizer.model
            return [[token.id for token in bpe.tokenize(piece)] for piece in pieces]
        texts = [piece.replace(self.word_start, " ") for piece in pieces]
        backend = getattr(base_tokenizer, "backend_tokenizer", None)  # fast: no per-text Python wrapping
        if backend is not None:
            return [e.ids for e in backend.encode_batch(texts, add_special_tokens=False)]
        return base_tokenizer(texts, add_special_tokens=False)["input_ids"]


ENCODER = Family(
    name=ENCODER_NAME,
    objective="masked-lm",
    description="masked language model",
    short="masked LM",
    auto_class="AutoModelForMaskedLM",
    architecture_suffix="ForMaskedLM",
    tokenizer_kind=SENTENCEPIECE_UNIGRAM,
    word_start="▁",
    special_roles=(
        "bos_token",
        "pad_token",
        "eos_token",
        "unk_token",
        "mask_token",
        "cls_token",
        "sep_token",
    ),
    always_tied=True,
    output_bias=True,
    embedding_note="the MLM decoder is tied",
    executed_flops_note="masked positions only",
    blocks_prefix="roberta.encoder",
    layout_name="XLM-R",
    body_kwargs=(("add_pooling_layer", False),),
    word_pooling="mean",
    word_space="",
    closes_window=True,
)
DECODER = Family(
    name=DECODER_NAME,
    objective="causal-lm",
    description="causal language model",
    short="causal LM",
    auto_class="AutoModelForCausalLM",
    architecture_suffix="ForCausalLM",
    tokenizer_kind=BYTE_LEVEL_BPE,
    word_start="Ġ",
    special_roles=("bos_token", "eos_token", "unk_token", "pad_token"),
    always_tied=False,
    output_bias=False,
    embedding_note="a tied output layer shares them; an untied one has as many again",
    executed_flops_note="the head on every predicting position, all but each sequence's last",
    blocks_prefix="model.layers",
    layout_name="Llama",
    body_kwargs=(),
    word_pooling="last",
    word_space=" ",
    closes_window=False,
)
FAMILIES = (ENCODER, DECODER)


def special_tokens(tok: Any) -> dict[int, str]:
    """Id -> string of every special token: the named ones, then each added token marked special (a
    decoder's chat-template tokens, e.g. SmolLM2's 17). Every one keeps its row through re-initialisation."""
    specials = {int(i): t for t, i in zip(tok.all_special_tokens, tok.all_special_ids, strict=True)}
    for token_id, added in sorted(tok.added_tokens_decoder.items()):
        if added.special:
            specials.setdefault(int(token_id), str(added))
    return specials


def family_of_config(config: PretrainedConfig, *, where: str = "the model") -> Family:
    """The family of a model config: by its architecture name, else by its ``model_type``."""
    if getattr(config, "is_encoder_decoder", False):
        raise VocabswapError(
            f"{where} is an encoder-decoder model (model_type {config.model_type!r}); vocabswap handles "
            "masked LMs (encoders) and causal LMs (decoders)"
        )
    for arch in getattr(config, "architectures", None) or []:
        for family in FAMILIES:
            if arch.endswith(family.architecture_suffix):
                return family
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    if config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return ENCODER
    if config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return DECODER
    raise VocabswapError(
        f"{where} is not a masked language model or a causal language model "
        f"(model_type {config.model_type!r}, architectures {getattr(config, 'architectures', None)})"
    )


def family_of_dir(model_dir: str | Path) -> Family:
    """The family of a Hugging Face model directory (read from its ``config.json``)."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(model_dir))
    except (OSError, ValueError) as err:
        raise VocabswapError(f"cannot read the model config in {model_dir}: {first_line(err)}") from err
    return family_of_config(config, where=str(model_dir))


def tokenizer_kind(tokenizer_dir: str | Path) -> str:
    """``sentencepiece-unigram`` or ``byte-level-bpe``, read from a directory's ``tokenizer.json``."""
    path = Path(tokenizer_dir) / "tokenizer.json"
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise VocabswapError(f"{path}: cannot read the tokenizer: {first_line(err)}") from err
    model_type = (spec.get("model") or {}).get("type")
    if model_type == "Unigram":
        return SENTENCEPIECE_UNIGRAM
    if model_type == "BPE" and "ByteLevel" in json.dumps(spec.get("pre_tokenizer")):
        return BYTE_LEVEL_BPE
    raise VocabswapError(
        f"{path}: tokenizer model {model_type!r} is neither a SentencePiece unigram nor a byte-level BPE"
    )
