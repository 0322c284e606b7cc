"""Rule aggregate: one experiment's table for one task, as Markdown, CSV and LaTeX."""

from pathlib import Path

from _job import job_context, snakemake_job

snakemake = snakemake_job(globals(), "aggregate")
with job_context(snakemake):
    from vocabswap.tables import build_table, load_results

    t = snakemake.params.table
    table = build_table(
        load_results(snakemake.input),
        task=t["task"],
        title=t["title"],
        languages=t["languages"],
        seeds=t["seeds"],
        population_std=t["population_std"],
        scale=t["scale"],
        decimals=t["decimals"],
    )
    table.write(Path(snakemake.output.md).with_suffix(""))
