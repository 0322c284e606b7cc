# POS / NER fine-tuning, one seed per job: every LAPT model, and the off-the-shelf base model.


rule finetune:
    input:
        model="results/models/{target}/v{size}/lapt-{regime}/{method}",
        data="results/eval/{lang}/{task}",
    output:
        "results/finetune/{target}/v{size}/{regime}/{method}/{lang}/{task}/seed{seed}.json",
    log:
        "logs/finetune/{target}/v{size}/{regime}/{method}/{lang}/{task}/seed{seed}.log",
    benchmark:
        "benchmarks/finetune/{target}/v{size}/{regime}/{method}/{lang}/{task}/seed{seed}.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("finetune", "threads")
    resources:
        mem_mb=res("finetune", "mem_mb"),
        runtime=res("finetune", "runtime"),
        gpu=res("finetune", "gpu"),
    params:
        finetune=finetune_settings,
    script:
        "../workflow/scripts/finetune.py"


# The same job on the base model: only the paths differ.
use rule finetune as finetune_offtheshelf with:
    input:
        model="resources/base_model",
        data="results/eval/{lang}/{task}",
    output:
        "results/finetune/offtheshelf/{lang}/{task}/seed{seed}.json",
    log:
        "logs/finetune_offtheshelf/{lang}/{task}/seed{seed}.log",
    benchmark:
        "benchmarks/finetune_offtheshelf/{lang}/{task}/seed{seed}.tsv"
