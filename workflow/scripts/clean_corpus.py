"""Rule clean_corpus: concatenate a language's raw sources and clean them with the paper's chain."""

import shutil
import tempfile
from pathlib import Path

from _job import job_context, snakemake_job

snakemake = snakemake_job(globals(), "clean_corpus")
with job_context(snakemake):
    from vocabswap.data.clean import CleanParams, clean_corpus

    with tempfile.TemporaryDirectory(dir=Path(snakemake.output.text).parent) as tmp:
        raw = Path(tmp) / "raw.txt"
        with open(raw, "wb") as joined:
            for source in snakemake.input:
                with open(source, "rb") as part:
                    shutil.copyfileobj(part, joined)
        clean_corpus(
            raw,
            snakemake.output.text,
            lang=snakemake.wildcards.lang,
            stats_path=snakemake.output.stats,
            params=CleanParams(**snakemake.params.cleaning),
            workers=snakemake.threads,
        )
