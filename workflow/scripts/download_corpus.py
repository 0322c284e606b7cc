"""Rule download_corpus: fetch one raw text source of a language (OSCAR, OPUS, Bible, URL, packaged)."""

from _job import job_context, snakemake_job

snakemake = snakemake_job(globals(), "download_corpus")
with job_context(snakemake):
    from vocabswap.data.sources import fetch_corpus

    fetch_corpus(snakemake.params.source, snakemake.output[0], lang=snakemake.wildcards.lang)
