"""Rule figure_flops: Figure 4 — score against LAPT FLOPs (reduced vs full vocabulary)."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "figure_flops")
with job_context(snakemake):
    from vocabswap.figures import flops_figure
    from vocabswap.tables import load_results

    table = snakemake.params.table
    flops_figure(load_results(snakemake.input), snakemake.output[0], title=table["title"], task=table["task"])
    stamp_outputs(snakemake)
