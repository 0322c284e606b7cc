"""Rule lapt: language-adaptive pre-training; resumes from the state directory after a kill."""

import hashlib
import json
from pathlib import Path

from _job import job_context, snakemake_job, stamp_outputs

snakemake = snakemake_job(globals(), "lapt")
with job_context(snakemake):
    from vocabswap.lapt import LaptConfig, run_lapt

    settings = snakemake.params.lapt
    # One state directory per settings; a changed input model or text restarts it afresh (never resumes a
    # stale run: the state is keyed by the model's and the texts' digests too).
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    summary = run_lapt(
        snakemake.input.model,
        snakemake.input.train,
        snakemake.input.dev,
        snakemake.output[0],
        LaptConfig(regime=snakemake.wildcards.regime, **settings),
        state_dir=Path(snakemake.params.state_dir) / key,
        on_change="restart",
        overwrite=True,
    )
    ran = summary["settings"]  # the device and precision the run resolved
    stamp_outputs(snakemake, device=ran["device"], precision=ran["precision"])
