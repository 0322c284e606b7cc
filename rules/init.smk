# Re-initialisation: one HF model directory per target and method, with init_report.json.


rule init_model:
    input:
        unpack(init_inputs),
    output:
        directory("results/models/{target}/init/{method}"),
    log:
        "logs/init_model/{target}/{method}.log",
    benchmark:
        "benchmarks/init_model/{target}/{method}.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("init", "threads")
    resources:
        mem_mb=res("init", "mem_mb"),
        runtime=res("init", "runtime"),
    params:
        init=init_settings,
    script:
        "../workflow/scripts/init_model.py"
