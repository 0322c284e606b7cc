"""Rule train_tokenizer: the target's tokenizer of the base model's kind as an HF tokenizer directory."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "train_tokenizer")
with job_context(snakemake):
    from vocabswap.errors import VocabswapError
    from vocabswap.tokenizer_like import train_tokenizer_like

    settings = snakemake.params.tokenizer
    try:
        train_tokenizer_like(
            [snakemake.input.text],
            settings["vocab_size"],
            snakemake.output[0],
            like=snakemake.input.base,
            seed=snakemake.params.seed,
            # SentencePiece's (an encoder's tokenizer); a byte-level BPE reads the whole text
            character_coverage=settings["character_coverage"],
            full_text_limit_bytes=settings["max_text_bytes"],
            subset_bytes=settings["subset_bytes"],
            num_threads=snakemake.params.sp_threads,
        )
    except VocabswapError as err:  # one line that also names the target (the size and maximum are in err)
        raise VocabswapError(f"target {snakemake.wildcards.target}: {err}") from None
    stamp_outputs(snakemake)
