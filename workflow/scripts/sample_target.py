"""Rule sample_target: α-sampled LAPT, dev and tokenizer text of a multi-language target, sized to their use,
with the composition and disk/time accounting in composition.json."""

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "sample_target")
with job_context(snakemake):
    from vocabswap.data.sampling import sample_target

    langs = snakemake.params.languages
    sample_target(
        dict(zip(langs, snakemake.input.train, strict=True)),
        dict(zip(langs, snakemake.input.dev, strict=True)),
        {split: snakemake.output[split] for split in ("train", "dev", "tokenizer")},
        snakemake.params.sampling,
        composition_path=snakemake.output.composition,
    )
    stamp_outputs(snakemake)
