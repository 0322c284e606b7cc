# Helpers shared by the rules: the plan (from vocabswap.config.Grid), input functions, and config_provider,
# which hands each job only the config slice it reads so that editing one language reruns only its jobs.

from vocabswap.config import BASE_VOCAB, Grid
from vocabswap.data.download import redact_urls
from vocabswap.data.packaged import packaged_vocab_bound
from vocabswap.data.sampling import plan_sampling
from vocabswap.lapt_settings import lapt_settings
from vocabswap.registry import FULL_VOCAB

GRID = Grid(config)
# A size above what a packaged corpus supports fails here, before any job (others at their tokenizer job).
GRID.check_vocab_sizes(packaged_vocab_bound)


# Every vocabulary size is a level of the layout, v<size> (vbase: the base model's own vocabulary), also
# when there is only one: adding a size adds paths and reruns nothing else.
BASE_MODEL = "resources/base_model"
EVAL = "results/eval/{lang}/{task}"
TOKENIZER = "results/tokenizers/{target}/v{size}"
AUX = "results/aux/{target}/v{size}/fasttext.bin"
INIT = "results/models/{target}/v{size}/init/{method}"
LAPT = "results/models/{target}/v{size}/lapt-{regime}/{method}"
# Resumable LAPT state: outside every declared output, because Snakemake deletes a failed job's outputs.
LAPT_STATE = "results/lapt-state/{target}/v{size}/{regime}/{method}"
FINETUNE = (
    "results/finetune/{target}/v{size}/{regime}/{method}/{lang}/{task}/seed{seed}.json"
)
FINETUNE_BASE = "results/finetune/offtheshelf/{lang}/{task}/seed{seed}.json"
INIT_FIGURE = "results/figures/init/{target}/v{size}.png"


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


def corpus_source_redacted(wildcards):
    """The source as params may record it (no user:pass@, no query values)."""
    return redact_urls(corpus_source(wildcards))


def eval_settings(wildcards):
    return GRID.eval_settings(wildcards.lang, wildcards.task)


def sample_inputs(wildcards):
    langs = GRID.target_languages(wildcards.target)
    return {
        "train": expand("results/corpora/{lang}/train.txt", lang=langs),
        "dev": expand("results/corpora/{lang}/dev.txt", lang=langs),
    }


def sampling_plan(wildcards):
    """The target's sampling settings, its LAPT sample sized to its LAPT jobs (vocabswap.data.sampling)."""
    target = wildcards.target
    runs = [
        lapt_settings(
            GRID.section("lapt", target=target),
            config.get("lapt_overrides"),
            target=target,
            regime=regime,
            method=method,
        )
        for _, regime, method in GRID.lapt_models(target)
    ]
    return plan_sampling(
        GRID.section("sampling", target=target),
        runs,
        GRID.section("tokenizer", target=target),
    )


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
def tokenizer_settings(wildcards):
    """The tokenizer slice of this size only (so that another size's edit reruns nothing here)."""
    return GRID.tokenizer_settings(wildcards.target, int(wildcards.size))


def init_inputs(wildcards):
    inputs = {
        "base": BASE_MODEL,
        "tokenizer": TOKENIZER.format(target=wildcards.target, size=wildcards.size),
        # a decoder is measured on it at step 0 (init_report.json `step0`); an encoder is not
        "heldout": target_text("dev")(wildcards),
    }
    if GRID.init_reads_aux(wildcards.method):
        inputs["aux"] = AUX.format(target=wildcards.target, size=wildcards.size)
    return inputs


def lapt_shape_of(target):
    """The two LAPT settings the per-token FLOPs depend on (nothing else of lapt, so init is not rerun)."""
    lapt = GRID.section("lapt", target=target)
    return {
        "max_length": lapt["max_length"],
        "mlm_probability": lapt["mlm_probability"],
    }


def lapt_shape(wildcards):
    return lapt_shape_of(wildcards.target)


def init_settings(wildcards):
    return GRID.init_settings(wildcards.target, wildcards.method)


def lapt_start(wildcards):
    """The model LAPT starts from: an initialised model, or the base model for the full-vocabulary run."""
    if wildcards.method == FULL_VOCAB:
        return BASE_MODEL
    return INIT.format(
        target=wildcards.target, size=wildcards.size, method=wildcards.method
    )


def finetune_settings(wildcards):
    """A method's run, or the off-the-shelf model's (rule finetune_offtheshelf has no method wildcard)."""
    model = getattr(wildcards, "method", "offtheshelf")
    return GRID.finetune_settings(wildcards.lang, wildcards.task, model)


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
    return GRID.table_settings(wildcards.experiment, wildcards.task)


def init_models(wildcards):
    return {
        m: INIT.format(target=wildcards.target, size=wildcards.size, method=m)
        for m in GRID.methods(wildcards.target)
    }


def experiment_init_keys(exp):
    """(target, size, method) of every initialised model of an experiment."""
    return [
        (t, size, m)
        for t in config["experiments"][exp]["targets"]
        for size in GRID.vocab_sizes(t, exp)
        for m in GRID.methods(t)
    ]


def experiment_inits(wildcards):
    """Every initialised model of an experiment (the vocabulary table reads their init reports)."""
    return [
        INIT.format(target=t, size=size, method=m)
        for t, size, m in experiment_init_keys(wildcards.experiment)
    ]


def vocab_table_settings(wildcards):
    exp = wildcards.experiment
    return {
        "title": config["experiments"][exp].get("title", exp),
        "inits": [list(key) for key in experiment_init_keys(exp)],
        "lapt_shape": {
            t: lapt_shape_of(t) for t in config["experiments"][exp]["targets"]
        },
    }


def experiment_lapt_keys(exp):
    """(target, size, regime, method) of every LAPT run of an experiment, baselines first."""
    return [
        (t, size, regime, method)
        for t in config["experiments"][exp]["targets"]
        for size, regime, method in GRID.lapt_models(t, exp)
    ]


def experiment_lapts(wildcards):
    """Every LAPT output of an experiment (the LAPT-curves table reads their lapt_log.json)."""
    return [
        LAPT.format(target=t, size=size, regime=regime, method=method)
        for t, size, regime, method in experiment_lapt_keys(wildcards.experiment)
    ]


def lapt_curves_settings(wildcards):
    exp = wildcards.experiment
    return {
        "title": config["experiments"][exp].get("title", exp),
        "runs": [list(key) for key in experiment_lapt_keys(exp)],
    }


def size_figures(experiment, task):
    """The score-vs-size figure of a table, when its experiment has more than one size."""
    if len(GRID.experiment_sizes(experiment)) < 2:
        return []
    return [f"results/figures/{experiment}/{task}_vocab_size.png"]


def lapt_state_dir(wildcards):
    return LAPT_STATE.format(**wildcards)


def all_outputs():
    """What the default target builds: tables and figures of every experiment, plus the report figures."""
    outs = ["results/figures/base_embeddings.png", "results/figures/base_probes.tsv"]
    for target in GRID.targets:
        outs += expand(INIT_FIGURE, target=target, size=GRID.vocab_sizes(target))
    for exp in config["experiments"]:
        outs += expand("results/tables/{exp}/vocab.{ext}", exp=exp, ext=["md", "csv"])
        outs += expand(
            "results/tables/{exp}/lapt_loss.{ext}", exp=exp, ext=["md", "csv", "tex"]
        )
        outs.append(f"results/figures/{exp}/lapt_curves.png")
        for task in GRID.experiment_tasks(exp):
            outs += expand(
                "results/tables/{exp}/{task}.{ext}",
                exp=exp,
                task=task,
                ext=["md", "csv", "tex"],
            )
            outs.append(f"results/figures/{exp}/{task}_flops.png")
            outs += size_figures(exp, task)
    return outs
