# The target's tokenizer at each vocabulary size, of the base model's kind (an encoder's SentencePiece
# unigram, a decoder's byte-level BPE: vocabswap.tokenizer_like) and, for FOCUS, the auxiliary fastText
# model on the text it tokenises.


rule train_tokenizer:
    input:
        text=tokenizer_text,
        base=BASE_MODEL,
    output:
        directory("results/tokenizers/{target}/v{size}"),
    log:
        "logs/train_tokenizer/{target}/v{size}.log",
    benchmark:
        "benchmarks/train_tokenizer/{target}/v{size}.tsv"
    # Before every ready init/LAPT job: a size the text cannot support fails before downstream jobs run.
    priority: 50
    conda:
        "../envs/vocabswap.yaml"
    threads: res("tokenizer", "threads")
    resources:
        mem_mb=res("tokenizer", "mem_mb"),
        runtime=res("tokenizer", "runtime"),
    params:
        tokenizer=tokenizer_settings,
        seed=global_value("init_seed"),
        # SentencePiece's result depends on its thread count: the configured one, not what --cores grants.
        sp_threads=res("tokenizer", "threads"),
    script:
        "../workflow/scripts/train_tokenizer.py"


rule aux_fasttext:
    input:
        text=tokenizer_text,
        tokenizer="results/tokenizers/{target}/v{size}",
    output:
        model="results/aux/{target}/v{size}/fasttext.bin",
        # its word vectors, written beside the .bin by vocabswap.aux_embeddings.train_fasttext
        vectors="results/aux/{target}/v{size}/fasttext.vec",
    log:
        "logs/aux_fasttext/{target}/v{size}.log",
    benchmark:
        "benchmarks/aux_fasttext/{target}/v{size}.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("tokenizer", "threads")
    resources:
        mem_mb=res("tokenizer", "mem_mb"),
        runtime=res("tokenizer", "runtime"),
    params:
        focus=config_provider("init", "focus", per="target"),
        # the tokenizer's text selection (all, or its seeded subset): fastText trains on the same lines
        tokenizer=tokenizer_settings,
        seed=global_value("init_seed"),
    script:
        "../workflow/scripts/aux_fasttext.py"
