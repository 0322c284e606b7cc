"""Rule sample_target: α-sampled multilingual training, dev and tokenizer text for a multi-language target."""

from _job import job_context, snakemake_job

snakemake = snakemake_job(globals(), "sample_target")
with job_context(snakemake):
    from vocabswap.atomic import write_json
    from vocabswap.data.sampling import sample_multilingual

    s = snakemake.params.sampling
    langs = snakemake.params.languages
    composition = {}
    for split, lines, files in (
        ("train", s["train_lines"], snakemake.input.train),
        ("dev", s["dev_lines"], snakemake.input.dev),
        ("tokenizer", s["tokenizer_lines"], snakemake.input.train),
    ):
        composition[split] = sample_multilingual(
            dict(zip(langs, files, strict=True)),
            snakemake.output[split],
            alpha=s["alpha"],
            lines=lines,
            cap_bytes=s["cap_bytes"],
            seed=s["seed"],
        )
    write_json(snakemake.output.composition, composition)
