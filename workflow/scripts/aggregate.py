"""Rule aggregate: one experiment's table for one task, as Markdown, CSV and LaTeX."""

from pathlib import Path

from _job import job_context, provenance, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "aggregate")
with job_context(snakemake):
    from vocabswap.provenance import table_cells
    from vocabswap.tables import build_table, load_results

    # params.table holds exactly build_table's settings (Grid.table_settings).
    results = load_results(snakemake.input)
    table = build_table(results, **snakemake.params.table)
    table.write(Path(snakemake.output.md).with_suffix(""))
    # which result JSONs (by digest: the record's inputs) feed each cell, for `vocabswap trace --cell`
    cells = table_cells(list(snakemake.input), results)
    stamp_outputs(snakemake, {**provenance(snakemake), "cells": cells})
