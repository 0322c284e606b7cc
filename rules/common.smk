# Helpers shared by the rules: the plan (from vocabswap.config.Grid), input functions, and config_provider,
# which hands each job only the config slice it reads so that editing one language reruns only its jobs.

from vocabswap.config import FULL_VOCAB, Grid
from vocabswap.data.sampling import plan_sampling

GRID = Grid(config)


BASE_MODEL = "resources/base_model"
EVAL = "results/eval/{lang}/{task}"
TOKENIZER = "results/tokenizers/{target}"
AUX = "results/aux/{target}/fasttext.bin"
INIT = "results/models/{target}/init/{method}"
LAPT = "results/models/{target}/lapt-{regime}/{method}"
# Resumable LAPT state: outside every declared output, because Snakemake deletes a failed job's outputs.
LAPT_STATE = "results/lapt-state/{target}/{regime}/{method}"
FINETUNE = "results/finetune/{target}/{regime}/{method}/{lang}/{task}/seed{seed}.json"
FINETUNE_BASE = "results/finetune/offtheshelf/{lang}/{task}/seed{seed}.json"


def config_provider(*keys, per=None):
    """params function: the config value at `keys`, with the target's (per="target") or language's
    (per="lang") override merged over it; nothing else of the config reaches the job."""

    def provide(wildcards):
        section, *rest = keys
        scope = {per: wildcards[per]} if per else {}
        value = GRID.section(section, **scope)
        for key in rest:
            value = value[key]
        return value

    return provide


def global_value(key):
    return lambda wildcards: config[key]


def res(stage, key):
    """A portable resource of a stage (config `resources`); profiles map them to the executor."""
    return GRID.resources(stage)[key]


# --- data -------------------------------------------------------------------------------------------------
def raw_corpora(wildcards):
    return expand(
        "resources/corpora/{lang}/{source}.txt",
        lang=wildcards.lang,
        source=GRID.corpus_sources(wildcards.lang),
    )


def corpus_source(wildcards):
    return config["languages"][wildcards.lang]["corpus"][wildcards.source]


def eval_settings(wildcards):
    return {
        **config["languages"][wildcards.lang]["eval"][wildcards.task],
        **config["eval_data"],
    }


def sample_inputs(wildcards):
    langs = GRID.target_languages(wildcards.target)
    return {
        "train": expand("results/corpora/{lang}/train.txt", lang=langs),
        "dev": expand("results/corpora/{lang}/dev.txt", lang=langs),
    }


def sampling_plan(wildcards):
    """The target's sampling settings, its LAPT sample sized to its LAPT jobs (vocabswap.data.sampling)."""
    sections = {
        name: GRID.section(name, target=wildcards.target)
        for name in ("sampling", "lapt", "tokenizer")
    }
    return plan_sampling(**sections)


def target_text(split):
    """A target's training/dev text: the language's own split, or the α-sampled mixture."""

    def files(wildcards):
        if GRID.is_multilingual(wildcards.target):
            return f"results/corpora/targets/{wildcards.target}/{split}.txt"
        (lang,) = GRID.target_languages(wildcards.target)
        return f"results/corpora/{lang}/{split}.txt"

    return files


def tokenizer_text(wildcards):
    """Tokenizer (and fastText) training text: the language's train split, or the sampled mixture."""
    if GRID.is_multilingual(wildcards.target):
        return f"results/corpora/targets/{wildcards.target}/tokenizer.txt"
    return target_text("train")(wildcards)


# --- models -----------------------------------------------------------------------------------------------
def init_inputs(wildcards):
    inputs = {
        "base": BASE_MODEL,
        "tokenizer": TOKENIZER.format(target=wildcards.target),
    }
    if "focus" in wildcards.method.split("+"):
        inputs["aux"] = AUX.format(target=wildcards.target)
    return inputs


def init_settings(wildcards):
    """The init slice of one method: FOCUS settings only where the method uses FOCUS."""
    settings = GRID.section("init", target=wildcards.target)
    if "focus" not in wildcards.method.split("+"):
        del settings["focus"]
    settings["seed"] = config["init_seed"]
    settings["paper_compat"] = config["paper_compat"]
    return settings


def lapt_start(wildcards):
    """The model LAPT starts from: an initialised model, or the base model for the full-vocabulary run."""
    if wildcards.method == FULL_VOCAB:
        return BASE_MODEL
    return INIT.format(target=wildcards.target, method=wildcards.method)


def finetune_settings(wildcards):
    return GRID.finetune_settings(wildcards.lang, wildcards.task)


# --- what the tables and figures read ---------------------------------------------------------------------
def cell_path(cell):
    if cell.target == "offtheshelf":
        return FINETUNE_BASE.format(**cell.wildcards)
    return FINETUNE.format(**cell.wildcards)


def table_results(wildcards):
    return [
        cell_path(c)
        for c in GRID.experiment_cells(wildcards.experiment, wildcards.task)
    ]


def table_settings(wildcards):
    return {
        **config["tables"],
        "title": config["experiments"][wildcards.experiment].get(
            "title", wildcards.experiment
        ),
        "task": wildcards.task,
        "languages": GRID.experiment_languages(wildcards.experiment),
        "seeds": config["seeds"],
        "population_std": config["paper_compat"],
    }


def init_models(wildcards):
    return {
        m: INIT.format(target=wildcards.target, method=m)
        for m in GRID.methods(wildcards.target)
    }


def lapt_state_dir(wildcards):
    return LAPT_STATE.format(**wildcards)


def all_outputs():
    """What the default target builds: tables and figures of every experiment, plus the report figures."""
    outs = ["results/figures/base_embeddings.png", "results/figures/base_probes.tsv"]
    outs += expand("results/figures/init/{target}.png", target=GRID.targets)
    for exp in config["experiments"]:
        for task in GRID.experiment_tasks(exp):
            outs += expand(
                "results/tables/{exp}/{task}.{ext}",
                exp=exp,
                task=task,
                ext=["md", "csv", "tex"],
            )
            outs.append(f"results/figures/{exp}/{task}_flops.png")
    return outs
