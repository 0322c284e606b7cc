"""Rule download_corpus: fetch one raw text source of a language (OSCAR, OPUS, Bible, URL, packaged)."""

from _job import job_context, provenance, snakemake_job

snakemake = snakemake_job(globals(), "download_corpus")
with job_context(snakemake):
    from vocabswap.data.sources import fetch_corpus
    from vocabswap.provenance import packaged_sources, stamp_files

    lang, name = snakemake.wildcards.lang, snakemake.wildcards.source
    # The source with its credentials comes from the config, never from params (recorded by Snakemake).
    source = snakemake.config["languages"][lang]["corpus"][name]
    download = fetch_corpus(source, snakemake.output.text, lang=lang)
    # the sidecar fetch_corpus wrote becomes the common record (params: the redacted source), its download
    # record (URLs without credentials, checksums) kept under "download"
    sources = packaged_sources(source) or download.get("files", [])
    record = provenance(snakemake, inputs=[], sources=sources)
    stamp_files([snakemake.output.text], {**record, "download": download})
