"""Rules finetune and finetune_offtheshelf: fine-tune one model on one language's POS/NER set, one seed."""

import json
from pathlib import Path

from _job import job_context, provenance, snakemake_job

snakemake = snakemake_job(globals(), "finetune")
with job_context(snakemake):
    from vocabswap.atomic import write_json
    from vocabswap.config import OFF_THE_SHELF
    from vocabswap.finetune import FinetuneConfig, run_finetune
    from vocabswap.provenance import stamp_json

    w = snakemake.wildcards
    out = Path(snakemake.output[0])
    config = FinetuneConfig(task=w.task, seed=int(w.seed), **snakemake.params.finetune)
    result = run_finetune(snakemake.input.model, snakemake.input.data, out, config)
    # The table cell this result fills, and the LAPT cost of its model (Figure 4).
    result["cell"] = {
        "target": w.get("target", OFF_THE_SHELF),
        "regime": w.get("regime", ""),
        "method": w.get("method", ""),
        "size": int(w.size) if w.get("size", "").isdigit() else w.get("size", ""),
        "lang": w.lang,
        "task": w.task,
        "seed": int(w.seed),
    }
    lapt_log = Path(snakemake.input.model) / "lapt_log.json"
    if lapt_log.is_file():
        summary = json.loads(lapt_log.read_text(encoding="utf-8"))
        result["lapt"] = {k: summary[k] for k in ("flops", "steps", "best_step", "best_dev_loss")}
    write_json(out, result)
    stamp_json(out, provenance(snakemake))
