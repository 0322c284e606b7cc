"""Rule clean_corpus: clean a language's raw sources, read in order as one stream, with the paper's chain."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "clean_corpus")
with job_context(snakemake):
    from vocabswap.data.clean import CleanParams, clean_corpus

    clean_corpus(
        list(snakemake.input),
        snakemake.output.text,
        lang=snakemake.wildcards.lang,
        stats_path=snakemake.output.stats,
        params=CleanParams(**snakemake.params.cleaning),
        workers=snakemake.threads,
    )
    stamp_outputs(snakemake)
