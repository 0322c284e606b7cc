# Tables (paper Tables 1-4, 8-9) and figures (Figures 1-5), all flagged for `snakemake --report`.


rule aggregate:
    input:
        table_results,
    output:
        md=report(
            "results/tables/{experiment}/{task}.md",
            caption="../workflow/report/table.rst",
            category="Tables",
            labels={
                "experiment": "{experiment}",
                "task": "{task}",
                "format": "Markdown",
            },
        ),
        csv=report(
            "results/tables/{experiment}/{task}.csv",
            caption="../workflow/report/table.rst",
            category="Tables",
            labels={"experiment": "{experiment}", "task": "{task}", "format": "CSV"},
        ),
        tex="results/tables/{experiment}/{task}.tex",
    log:
        "logs/aggregate/{experiment}/{task}.log",
    conda:
        "../envs/vocabswap.yaml"
    threads: 1
    resources:
        mem_mb=res("report", "mem_mb"),
        runtime=res("report", "runtime"),
    params:
        table=table_settings,
    script:
        "../workflow/scripts/aggregate.py"


rule figure_base_embeddings:
    input:
        "resources/base_model",
    output:
        figure=report(
            "results/figures/base_embeddings.png",
            caption="../workflow/report/base_embeddings.rst",
            category="Figures",
            labels={"figure": "1: base embeddings by script and position"},
        ),
        probes=report(
            "results/figures/base_probes.tsv",
            caption="../workflow/report/base_probes.rst",
            category="Figures",
            labels={"figure": "1: linear probes (script; initial vs medial)"},
        ),
    log:
        "logs/figure_base_embeddings/base_embeddings.log",
    benchmark:
        "benchmarks/figure_base_embeddings/base_embeddings.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("report", "threads")
    resources:
        mem_mb=res("report", "mem_mb"),
        runtime=res("report", "runtime"),
    params:
        figures=config_provider("figures"),
    script:
        "../workflow/scripts/figure_base_embeddings.py"


rule figure_init:
    input:
        unpack(init_models),
        base="resources/base_model",
    output:
        report(
            "results/figures/init/{target}/v{size}.png",
            caption="../workflow/report/init.rst",
            category="Figures",
            labels={
                "figure": "2, 3, 5: initialised embeddings",
                "target": "{target}",
                "vocabulary": "{size}",
            },
        ),
    log:
        "logs/figure_init/{target}/v{size}.log",
    benchmark:
        "benchmarks/figure_init/{target}/v{size}.tsv"
    conda:
        "../envs/vocabswap.yaml"
    threads: res("report", "threads")
    resources:
        mem_mb=res("report", "mem_mb"),
        runtime=res("report", "runtime"),
    params:
        figures=config_provider("figures"),
        methods=lambda wildcards: GRID.methods(wildcards.target),
    script:
        "../workflow/scripts/figure_init.py"


rule figure_flops:
    input:
        table_results,
    output:
        report(
            "results/figures/{experiment}/{task}_flops.png",
            caption="../workflow/report/flops.rst",
            category="Figures",
            labels={
                "figure": "4: score vs LAPT FLOPs",
                "experiment": "{experiment}",
                "task": "{task}",
            },
        ),
    log:
        "logs/figure_flops/{experiment}/{task}.log",
    conda:
        "../envs/vocabswap.yaml"
    threads: 1
    resources:
        mem_mb=res("report", "mem_mb"),
        runtime=res("report", "runtime"),
    params:
        table=table_settings,
    script:
        "../workflow/scripts/figure_flops.py"


rule vocab_table:
    input:
        inits=experiment_inits,
        base="resources/base_model",
    output:
        md=report(
            "results/tables/{experiment}/vocab.md",
            caption="../workflow/report/vocab.rst",
            category="Tables",
            labels={"experiment": "{experiment}", "task": "vocabulary sizes"},
        ),
        csv="results/tables/{experiment}/vocab.csv",
    log:
        "logs/vocab_table/{experiment}.log",
    conda:
        "../envs/vocabswap.yaml"
    threads: 1
    resources:
        mem_mb=res("report", "mem_mb"),
        runtime=res("report", "runtime"),
    params:
        table=vocab_table_settings,
    script:
        "../workflow/scripts/vocab_table.py"


rule figure_vocab_size:
    input:
        table_results,
    output:
        report(
            "results/figures/{experiment}/{task}_vocab_size.png",
            caption="../workflow/report/vocab_size.rst",
            category="Figures",
            labels={
                "figure": "score vs vocabulary size",
                "experiment": "{experiment}",
                "task": "{task}",
            },
        ),
    log:
        "logs/figure_vocab_size/{experiment}/{task}.log",
    conda:
        "../envs/vocabswap.yaml"
    threads: 1
    resources:
        mem_mb=res("report", "mem_mb"),
        runtime=res("report", "runtime"),
    params:
        table=table_settings,
    script:
        "../workflow/scripts/figure_vocab_size.py"


rule lapt_curves:
    input:
        experiment_lapts,
    output:
        md=report(
            "results/tables/{experiment}/lapt_loss.md",
            caption="../workflow/report/lapt_curves.rst",
            category="Tables",
            labels={"experiment": "{experiment}", "task": "LAPT dev loss"},
        ),
        csv="results/tables/{experiment}/lapt_loss.csv",
        tex="results/tables/{experiment}/lapt_loss.tex",
        figure=report(
            "results/figures/{experiment}/lapt_curves.png",
            caption="../workflow/report/lapt_curves.rst",
            category="Figures",
            labels={"figure": "LAPT dev-loss curves", "experiment": "{experiment}"},
        ),
    log:
        "logs/lapt_curves/{experiment}.log",
    conda:
        "../envs/vocabswap.yaml"
    threads: 1
    resources:
        mem_mb=res("report", "mem_mb"),
        runtime=res("report", "runtime"),
    params:
        curves=lapt_curves_settings,
    script:
        "../workflow/scripts/lapt_curves.py"
