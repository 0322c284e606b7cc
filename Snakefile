# vocabswap: replace a multilingual masked LM's vocabulary, re-initialise its embeddings, adapt (LAPT),
# fine-tune over seeds, and aggregate into the paper's tables and figures. See README.md and SPEC.md.

from snakemake.utils import min_version

from vocabswap.config import read_yaml, validate_config

min_version("9.11")


# The embedded demo is the default config. A config given with --configfile replaces it instead of being
# merged into it (a merge would mix the demo's languages into the paper's); --config KEY=VALUE still edits.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# Validates against config/schema.yaml before any job runs; an error names the key (e.g. lapt.steps).
# Each config file is read again to refuse a key given twice (Snakemake's YAML reading keeps the last).
for path in workflow.configfiles:
    read_yaml(path)
validate_config(config)


report: "workflow/report/workflow.rst"


wildcard_constraints:
    lang=r"[a-z][a-z0-9_-]*",
    source=r"[a-z][a-z0-9_-]*",
    target=r"[a-z][a-z0-9_-]*",
    size=r"\d+|base",
    experiment=r"[a-z][a-z0-9_-]*",
    method=r"[a-z+]+",
    regime=r"full|emb",
    task=r"pos|ner",
    seed=r"\d+",


localrules:
    all,


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/tokenizer.smk"
include: "rules/init.smk"
include: "rules/lapt.smk"
include: "rules/finetune.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
