"""Rule train_tokenizer: the target's SentencePiece unigram tokenizer as an HF tokenizer directory."""

from _job import job_context, provenance, snakemake_job

snakemake = snakemake_job(globals(), "train_tokenizer")
with job_context(snakemake):
    from vocabswap.provenance import stamp_dir
    from vocabswap.tokenizer import train_tokenizer

    t = snakemake.params.tokenizer
    train_tokenizer(
        list(snakemake.input),
        t["vocab_size"],
        snakemake.output[0],
        seed=snakemake.params.seed,
        character_coverage=t["character_coverage"],
        full_text_limit_bytes=t["max_text_bytes"],
        subset_bytes=t["subset_bytes"],
        num_threads=snakemake.params.sp_threads,
    )
    stamp_dir(snakemake.output[0], provenance(snakemake))
