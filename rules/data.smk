# Inputs: the base model, raw corpora, cleaning, splits, multilingual sampling, evaluation sets.


rule base_model:
    output:
        directory("resources/base_model"),
    log:
        "logs/base_model/base_model.log",
    benchmark:
        "benchmarks/base_model/base_model.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("base_model", "threads")
    resources:
        mem_mb=res("base_model", "mem_mb"),
        runtime=res("base_model", "runtime"),
    params:
        spec=global_value("base_model"),
    script:
        "../workflow/scripts/base_model.py"


rule download_corpus:
    output:
        text="resources/corpora/{lang}/{source}.txt",
        # what was read (URLs, sizes, checksums), written beside the text by vocabswap.data.sources
        provenance="resources/corpora/{lang}/{source}.txt.provenance.json",
    log:
        "logs/download_corpus/{lang}/{source}.log",
    benchmark:
        "benchmarks/download_corpus/{lang}/{source}.tsv"
    retries: 2
    conda:
        "../envs/vocabswap.yaml"
    threads: res("data", "threads")
    resources:
        mem_mb=res("data", "mem_mb"),
        runtime=res("data", "runtime"),
    params:
        # without credentials: Snakemake records params in .snakemake/metadata; the script reads the
        # source itself from the config
        source=corpus_source_redacted,
    script:
        "../workflow/scripts/download_corpus.py"


rule clean_corpus:
    input:
        raw_corpora,
    output:
        text="results/corpora/{lang}/clean.txt",
        stats="results/corpora/{lang}/clean.stats.json",
    log:
        "logs/clean_corpus/{lang}.log",
    benchmark:
        "benchmarks/clean_corpus/{lang}.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("data", "threads")
    resources:
        mem_mb=res("data", "mem_mb"),
        runtime=res("data", "runtime"),
    params:
        cleaning=config_provider("cleaning", per="lang"),
    script:
        "../workflow/scripts/clean_corpus.py"


rule split_corpus:
    input:
        "results/corpora/{lang}/clean.txt",
    output:
        train="results/corpora/{lang}/train.txt",
        dev="results/corpora/{lang}/dev.txt",
    log:
        "logs/split_corpus/{lang}.log",
    conda:
        "../envs/vocabswap.yaml"
    threads: 1
    resources:
        mem_mb=res("data", "mem_mb"),
        runtime=res("data", "runtime"),
    params:
        split=config_provider("corpus_split"),
    script:
        "../workflow/scripts/split_corpus.py"


rule sample_target:
    input:
        unpack(sample_inputs),
    output:
        train="results/corpora/targets/{target}/train.txt",
        dev="results/corpora/targets/{target}/dev.txt",
        tokenizer="results/corpora/targets/{target}/tokenizer.txt",
        composition="results/corpora/targets/{target}/composition.json",
    log:
        "logs/sample_target/{target}.log",
    benchmark:
        "benchmarks/sample_target/{target}.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: 1
    resources:
        mem_mb=res("data", "mem_mb"),
        runtime=res("data", "runtime"),
    params:
        # resolved sizes only (LAPT sample = steps × batch / passes), so a new LAPT lr resamples nothing
        sampling=sampling_plan,
        languages=lambda wildcards: GRID.target_languages(wildcards.target),
    script:
        "../workflow/scripts/sample_target.py"


rule eval_data:
    output:
        directory("results/eval/{lang}/{task}"),
    log:
        "logs/eval_data/{lang}/{task}.log",
    conda:
        "../envs/vocabswap.yaml"
    threads: 1
    resources:
        mem_mb=res("data", "mem_mb"),
        runtime=res("data", "runtime"),
    params:
        eval=eval_settings,
    script:
        "../workflow/scripts/eval_data.py"
