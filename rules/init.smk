# Re-initialisation: one HF model directory per target, vocabulary size and method, with init_report.json
# (which also records the size's IDENT overlap, FOCUS coverage, embedding parameters and LAPT FLOPs/token;
# for a decoder, step 0 on the target's dev text: bits per byte and the new rows' probability mass).


rule init_model:
    input:
        unpack(init_inputs),
    output:
        directory("results/models/{target}/v{size}/init/{method}"),
    log:
        "logs/init_model/{target}/v{size}/{method}.log",
    benchmark:
        "benchmarks/init_model/{target}/v{size}/{method}.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("init", "threads")
    resources:
        mem_mb=res("init", "mem_mb"),
        runtime=res("init", "runtime"),
    params:
        init=init_settings,
        lapt_shape=lapt_shape,
    script:
        "../workflow/scripts/init_model.py"
