"""Rule lapt_curves: dev-loss table (step 0 vs best checkpoint) and curves of an experiment's LAPT runs."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "lapt_curves")
with job_context(snakemake):
    from vocabswap.lapt_curves import report_runs

    settings = snakemake.params.curves
    out = snakemake.output
    report_runs(
        list(snakemake.input),
        settings["runs"],
        {"md": out.md, "csv": out.csv, "tex": out.tex},
        out.figure,
        title=settings["title"],
    )
    stamp_outputs(snakemake)
