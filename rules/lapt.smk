# Language-adaptive pre-training of every initialised model at every vocabulary size (and of the base model
# with its full vocabulary: method "fullvocab", size "base"), under each regime. Resumable: the training
# state lives in LAPT_STATE, outside the declared output, so a killed or pre-empted job continues where it
# stopped. Each job's settings: lapt, the target's lapt block, then the matching lapt_overrides rules (the
# paper's per-run differences: config/paper.yaml).

from vocabswap.lapt_settings import check_overrides, job_settings

check_overrides(config)


rule lapt:
    input:
        model=lapt_start,
        train=target_text("train"),
        dev=target_text("dev"),
    output:
        directory("results/models/{target}/v{size}/lapt-{regime}/{method}"),
    log:
        "logs/lapt/{target}/v{size}/{regime}/{method}.log",
    benchmark:
        "benchmarks/lapt/{target}/v{size}/{regime}/{method}.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("lapt", "threads")
    resources:
        mem_mb=res("lapt", "mem_mb"),
        runtime=res("lapt", "runtime"),
        gpu=res("lapt", "gpu"),
    params:
        lapt=lambda wildcards: job_settings(
            GRID, config.get("lapt_overrides"), wildcards
        ),
        state_dir=lapt_state_dir,
    script:
        "../workflow/scripts/lapt.py"
