# Language-adaptive pre-training of every initialised model (and of the base model with its full
# vocabulary, method "fullvocab"), under each regime. Resumable: the training state lives in LAPT_STATE,
# outside the declared output, so a killed or pre-empted job continues where it stopped.


rule lapt:
    input:
        model=lapt_start,
        train=target_text("train"),
        dev=target_text("dev"),
    output:
        directory("results/models/{target}/lapt-{regime}/{method}"),
    log:
        "logs/lapt/{target}/{regime}/{method}.log",
    benchmark:
        "benchmarks/lapt/{target}/{regime}/{method}.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("lapt", "threads")
    resources:
        mem_mb=res("lapt", "mem_mb"),
        runtime=res("lapt", "runtime"),
        gpu=res("lapt", "gpu"),
    params:
        lapt=config_provider("lapt", per="target"),
        state_dir=lapt_state_dir,
    script:
        "../workflow/scripts/lapt.py"
