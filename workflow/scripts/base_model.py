"""Rule base_model: materialise the base model (hub id, local dir or packaged) as an HF directory."""

from _job import job_context, provenance, snakemake_job

snakemake = snakemake_job(globals(), "base_model")
with job_context(snakemake):
    from vocabswap.base_model import materialise_base_model
    from vocabswap.provenance import stamp_dir

    materialise_base_model(snakemake.params.spec, snakemake.output[0])
    stamp_dir(snakemake.output[0], provenance(snakemake))
