"""Rule base_model: materialise the base model (hub id, local dir or packaged) as an HF directory."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "base_model")
with job_context(snakemake):
    from vocabswap.base_model import materialise_base_model
    from vocabswap.provenance import packaged_sources

    spec = snakemake.params.spec
    materialise_base_model(spec, snakemake.output[0])
    stamp_outputs(snakemake, sources=packaged_sources(spec) or [{"spec": spec}])
