"""Rule figure_vocab_size: score against vocabulary size, one line per regime and method, the
full-vocabulary baseline as a horizontal line, LAPT FLOPs on a second axis."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "figure_vocab_size")
with job_context(snakemake):
    from vocabswap.figures import vocab_size_figure
    from vocabswap.tables import load_results

    table = snakemake.params.table
    results = load_results(snakemake.input)
    vocab_size_figure(results, snakemake.output[0], title=table["title"], task=table["task"])
    stamp_outputs(snakemake)
