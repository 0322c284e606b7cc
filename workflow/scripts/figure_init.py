"""Rule figure_init: Figures 2, 3, 5 — each initialised matrix in the base model's PCA space."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "figure_init")
with job_context(snakemake):
    from vocabswap.figures import init_figure

    figures = snakemake.params.figures
    init_figure(
        snakemake.input.base,
        {m: snakemake.input[m] for m in snakemake.params.methods},
        snakemake.output[0],
        max_points=figures["max_points"],
        seed=figures["seed"],
    )
    stamp_outputs(snakemake)
