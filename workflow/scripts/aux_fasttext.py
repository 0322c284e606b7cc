"""Rule aux_fasttext: FOCUS's auxiliary fastText model on the tokenizer's own training text (the same lines,
subset included), tokenised by the new tokenizer."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "aux_fasttext")
with job_context(snakemake):
    from vocabswap.aux_embeddings import train_fasttext_on_tokenizer_text
    from vocabswap.reinit.focus import focus_options
    from vocabswap.tokenizer_like import load_new_tokenizer

    train_fasttext_on_tokenizer_text(
        [snakemake.input.text],
        load_new_tokenizer(snakemake.input.tokenizer),
        options=focus_options(snakemake.params.focus).fasttext,
        limit_bytes=snakemake.params.tokenizer["max_text_bytes"],
        subset_bytes=snakemake.params.tokenizer["subset_bytes"],
        seed=snakemake.params.seed,
        save_to=snakemake.output.model,
    )
    stamp_outputs(snakemake)
