"""Rule download_corpus: fetch one raw text source of a language (OSCAR, OPUS, Bible, URL, packaged)."""

from _job import job_context, snakemake_job

snakemake = snakemake_job(globals(), "download_corpus")
with job_context(snakemake):
    from vocabswap.data.sources import fetch_corpus

    lang, name = snakemake.wildcards.lang, snakemake.wildcards.source
    # The source with its credentials comes from the config, never from params (recorded by Snakemake).
    fetch_corpus(snakemake.config["languages"][lang]["corpus"][name], snakemake.output[0], lang=lang)
