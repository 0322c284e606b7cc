"""Rule init_model: the base model with the target's vocabulary, embeddings re-initialised by one method."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "init_model")
with job_context(snakemake):
    from vocabswap.mlm import read_lines
    from vocabswap.reinit import initialise
    from vocabswap.reinit.focus import focus_options
    from vocabswap.vocab_stats import record_vocab_stats

    settings = snakemake.params.init
    # the fastText model is trained by rule aux_fasttext with these same settings
    focus = focus_options(settings["focus"]) if "focus" in settings else None
    initialise(
        snakemake.input.base,
        snakemake.input.tokenizer,
        snakemake.wildcards.method,
        out=snakemake.output[0],
        seed=settings["seed"],
        fasttext_model=snakemake.input.get("aux"),
        paper_compat=settings["paper_compat"],
        focus_options=focus,
        heldout=read_lines(snakemake.input.heldout),  # step 0 on the dev text: decoders only
    )
    record_vocab_stats(snakemake.output[0], snakemake.input.base, **snakemake.params.lapt_shape)
    stamp_outputs(snakemake)
