"""Rule eval_data: one language's POS or NER set as train.tsv/dev.tsv/test.tsv + meta.json."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "eval_data")
with job_context(snakemake):
    from vocabswap.data.evalsets import build_eval_set_from_settings
    from vocabswap.provenance import packaged_sources

    settings = snakemake.params.eval
    build_eval_set_from_settings(settings, snakemake.wildcards.task, snakemake.output[0])
    source = settings["source"]
    stamp_outputs(snakemake, sources=packaged_sources(source) or [{"spec": source}])
