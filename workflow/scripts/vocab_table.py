"""Rule vocab_table: per target and vocabulary size, IDENT overlap, FOCUS coverage, embedding parameters
and LAPT FLOPs per token (read from the init reports), beside the base model's own vocabulary."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "vocab_table")
with job_context(snakemake):
    from vocabswap.vocab_stats import collect_rows, measure_base, write_vocab_table

    table = snakemake.params.table
    inits = [(*key, path) for key, path in zip(table["inits"], snakemake.input.inits, strict=True)]
    shapes = table["lapt_shape"].items()
    base = {target: measure_base(snakemake.input.base, **shape) for target, shape in shapes}
    rows = collect_rows(inits, base)
    write_vocab_table(
        rows, snakemake.output.md, snakemake.output.csv, title=table["title"], base=snakemake.input.base
    )
    stamp_outputs(snakemake)
