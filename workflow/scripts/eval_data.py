"""Rule eval_data: one language's POS or NER set as train.tsv/dev.tsv/test.tsv + meta.json."""

from _job import job_context, provenance, snakemake_job

snakemake = snakemake_job(globals(), "eval_data")
with job_context(snakemake):
    from vocabswap.data.evalsets import build_eval_set_from_settings
    from vocabswap.provenance import stamp_dir

    build_eval_set_from_settings(snakemake.params.eval, snakemake.wildcards.task, snakemake.output[0])
    stamp_dir(snakemake.output[0], provenance(snakemake))
