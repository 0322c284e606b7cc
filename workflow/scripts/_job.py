"""What every workflow script shares: the import path, the job's log, thread limits, provenance.

Under Snakemake a script receives the `snakemake` object. Run standalone for debugging, it builds the same
object from the workflow: `python workflow/scripts/lapt.py target=he regime=full method=script`
(with `--configfile FILE` to pick another config), then runs exactly what the job would run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
try:
    import vocabswap  # noqa: F401
except ImportError:  # a conda env without the package: use the workflow's own source tree
    sys.path.insert(0, str(ROOT / "src"))


def snakemake_job(namespace: Mapping[str, Any], rule: str) -> Any:
    """The `snakemake` object Snakemake injected, or one built for a standalone run of `rule`."""
    if "snakemake" in namespace:
        return namespace["snakemake"]
    return mock_snakemake(rule, sys.argv[1:])


def mock_snakemake(rule: str, argv: list[str]) -> Any:
    """Build the job of `rule` with the wildcards given as key=value, as Snakemake would run it."""
    from snakemake.api import SnakemakeApi
    from snakemake.dag import DAG
    from snakemake.jobs import Job
    from snakemake.script import Snakemake
    from snakemake.settings.types import ConfigSettings, DAGSettings, ResourceSettings, StorageSettings

    configfiles = [Path(argv[argv.index("--configfile") + 1])] if "--configfile" in argv else []
    wildcards = dict(a.split("=", 1) for a in argv if "=" in a and not a.startswith("-"))
    with SnakemakeApi() as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=configfiles),
            storage_settings=StorageSettings(),
            snakefile=ROOT / "Snakefile",
            workdir=Path.cwd(),
        )._workflow
        workflow.dag_settings = DAGSettings()
        job = Job(workflow.get_rule(rule), DAG(workflow, rules=workflow.rules), wildcards_dict=wildcards)
        return Snakemake(
            job.input,
            job.output,
            job.params,
            job.wildcards,
            job.threads,
            job.resources,
            job.log,
            workflow.config,
            rule,
            None,
        )


@contextlib.contextmanager
def job_context(snakemake: Any) -> Iterator[logging.Logger]:
    """Log into the job's log file (stdout and stderr too), and keep torch (if used) to the job's threads."""
    threads = str(getattr(snakemake, "threads", 1) or 1)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = threads
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    log_path = Path(snakemake.log[0]) if len(snakemake.log) else None
    logger = logging.getLogger(f"vocabswap.workflow.{snakemake.rule}")
    if log_path is None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        yield logger
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8", buffering=1) as handle:
        handler = logging.StreamHandler(handle)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            with contextlib.redirect_stdout(handle), contextlib.redirect_stderr(handle):
                limit_torch_threads(int(threads))
                yield logger
        except BaseException:
            logger.exception("job failed")
            raise
        finally:
            root.removeHandler(handler)


def limit_torch_threads(threads: int) -> None:
    """Keep torch to `threads`: a torch imported later reads OMP_NUM_THREADS (set above); one imported
    already is told directly. Jobs that never use torch (downloads, cleaning, tables) never import it."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def provenance(snakemake: Any, inputs: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """This job's provenance record: its params (the config slice it read) and its inputs' checksums;
    ``extra``: collect's sources, device and precision."""
    from vocabswap.provenance import collect

    params = {k: v for k, v in snakemake.params.items()}
    wildcards = {k: v for k, v in snakemake.wildcards.items()}
    files = list(snakemake.input) if inputs is None else inputs
    return collect(
        rule=snakemake.rule, wildcards=wildcards, config=params, inputs=files, workdir=ROOT, **extra
    )


def stamp_outputs(snakemake: Any, record: dict[str, Any] | None = None, **extra: Any) -> None:
    """Record this job's provenance on each declared output: DIR/provenance.json, FILE.provenance.json."""
    from vocabswap.provenance import stamp_dir, stamp_files

    record = provenance(snakemake, **extra) if record is None else record
    outputs = [Path(p) for p in snakemake.output]
    for directory in (p for p in outputs if p.is_dir()):
        stamp_dir(directory, record)
    stamp_files([p for p in outputs if p.is_file()], record)
