# The target's SentencePiece tokenizer and, for FOCUS, the auxiliary fastText model on its tokenised text.


rule train_tokenizer:
    input:
        tokenizer_text,
    output:
        directory("results/tokenizers/{target}"),
    log:
        "logs/train_tokenizer/{target}.log",
    benchmark:
        "benchmarks/train_tokenizer/{target}.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("tokenizer", "threads")
    resources:
        mem_mb=res("tokenizer", "mem_mb"),
        runtime=res("tokenizer", "runtime"),
    params:
        tokenizer=config_provider("tokenizer", per="target"),
        seed=global_value("init_seed"),
        # SentencePiece's result depends on its thread count: the configured one, not what --cores grants.
        sp_threads=res("tokenizer", "threads"),
    script:
        "../workflow/scripts/train_tokenizer.py"


rule aux_fasttext:
    input:
        text=tokenizer_text,
        tokenizer="results/tokenizers/{target}",
    output:
        "results/aux/{target}/fasttext.bin",
    log:
        "logs/aux_fasttext/{target}.log",
    benchmark:
        "benchmarks/aux_fasttext/{target}.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("tokenizer", "threads")
    resources:
        mem_mb=res("tokenizer", "mem_mb"),
        runtime=res("tokenizer", "runtime"),
    params:
        focus=config_provider("init", "focus", per="target"),
        seed=global_value("init_seed"),
    script:
        "../workflow/scripts/aux_fasttext.py"
