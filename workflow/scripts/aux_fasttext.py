"""Rule aux_fasttext: FOCUS's auxiliary fastText model on the target text tokenised by the new tokenizer."""

from _job import job_context, snakemake_job

snakemake = snakemake_job(globals(), "aux_fasttext")
with job_context(snakemake):
    from vocabswap.aux_embeddings import FastTextOptions, train_fasttext
    from vocabswap.tokenizer import load_tokenizer

    f = snakemake.params.focus
    options = (
        FastTextOptions.paper()
        if f["paper_settings"]
        else FastTextOptions(dim=f["dim"], epochs=f["epochs"], min_count=f["min_count"])
    )
    train_fasttext(
        snakemake.input.text,
        load_tokenizer(snakemake.input.tokenizer),
        options=options,
        seed=snakemake.params.seed,
        save_to=snakemake.output[0],
    )
