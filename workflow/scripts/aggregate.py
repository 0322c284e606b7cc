"""Rule aggregate: one experiment's table for one task, as Markdown, CSV and LaTeX."""

from pathlib import Path

from _job import job_context, snakemake_job

snakemake = snakemake_job(globals(), "aggregate")
with job_context(snakemake):
    from vocabswap.tables import build_table, load_results

    table = snakemake.params.table
    table = build_table(
        load_results(snakemake.input),
        task=table["task"],
        title=table["title"],
        languages=table["languages"],
        seeds=table["seeds"],
        population_std=table["population_std"],
        scale=table["scale"],
        decimals=table["decimals"],
    )
    table.write(Path(snakemake.output.md).with_suffix(""))
