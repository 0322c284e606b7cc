"""Rule figure_base_embeddings: Figure 1 (base embeddings by script and by position) and linear probes."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "figure_base_embeddings")
with job_context(snakemake):
    from vocabswap.figures import base_embedding_figure

    figures = snakemake.params.figures
    base_embedding_figure(
        snakemake.input[0],
        snakemake.output.figure,
        probes_out=snakemake.output.probes,
        max_points=figures["max_points"],
        seed=figures["seed"],
    )
    stamp_outputs(snakemake)
