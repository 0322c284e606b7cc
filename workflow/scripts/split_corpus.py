"""Rule split_corpus: hold out random lines of a cleaned corpus as the LAPT dev set."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "split_corpus")
with job_context(snakemake):
    from vocabswap.data.splits import split_lines

    split_lines(
        snakemake.input[0],
        train=snakemake.output.train,
        dev=snakemake.output.dev,
        dev_lines=snakemake.params.split["dev_lines"],
        seed=snakemake.params.split["seed"],
    )
    stamp_outputs(snakemake)
