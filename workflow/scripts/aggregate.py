"""Rule aggregate: one experiment's table for one task, as Markdown, CSV and LaTeX."""

from pathlib import Path

from _job import job_context, snakemake_job

snakemake = snakemake_job(globals(), "aggregate")
with job_context(snakemake):
    from vocabswap.tables import build_table, load_results

    # params.table holds exactly build_table's settings (Grid.table_settings).
    table = build_table(load_results(snakemake.input), **snakemake.params.table)
    table.write(Path(snakemake.output.md).with_suffix(""))
