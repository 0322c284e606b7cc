"""Rules finetune and finetune_offtheshelf: fine-tune one model on one language's POS/NER set, one seed."""

from _job import job_context, provenance, snakemake_job

snakemake = snakemake_job(globals(), "finetune")
with job_context(snakemake):
    from vocabswap.device import pick_device, resolve_precision
    from vocabswap.finetune import FinetuneConfig, run_finetune, table_cell

    wildcards = snakemake.wildcards
    config = FinetuneConfig(task=wildcards.task, seed=int(wildcards.seed), **snakemake.params.finetune)
    device = pick_device(config.device)  # what run_finetune picks and resolves too
    ran_in = {"device": str(device), "precision": resolve_precision(config.precision, device)}
    # The table cell this result fills, the LAPT cost of its model (Figure 4) and the provenance: written
    # with the result, in one atomic write.
    run_finetune(
        snakemake.input.model,
        snakemake.input.data,
        snakemake.output[0],
        config,
        annotate=lambda: {
            **table_cell(dict(wildcards.items()), snakemake.input.model),
            "provenance": provenance(snakemake, **ran_in),
        },
    )
