"""The committed decoder-demo evidence (docs/decoder/, a fresh-clone run of config/decoder.yaml exported by
docs/showcase/export.py) is what its run wrote: every file matches MANIFEST.json, and the POS and LAPT-loss
tables rebuild byte for byte from the committed result JSONs and LAPT logs. The README's decoder numbers
are read from these tables."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from vocabswap.config import Grid, load_config
from vocabswap.tables import build_table, load_results

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "docs" / "decoder"
TABLES = EVIDENCE / "results" / "tables" / "decoder"


def test_every_exported_file_matches_its_manifest_digest():
    manifest = json.loads((EVIDENCE / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest, "MANIFEST.json lists no files"
    for rel, digest in manifest.items():
        path = EVIDENCE / rel
        assert path.is_file(), f"{rel} is in MANIFEST.json but not committed"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{rel} differs from its run's output"


def test_the_pos_table_rebuilds_from_the_committed_result_jsons():
    settings = Grid(load_config(ROOT / "config" / "decoder.yaml")).table_settings("decoder", "pos")
    results = load_results(sorted((EVIDENCE / "results" / "finetune").rglob("*.json")))
    assert {r["settings"]["family"] for r in results} == {"decoder"}
    table = build_table(results, **settings)
    assert table.to_csv() == (TABLES / "pos.csv").read_text(encoding="utf-8")
    assert table.to_markdown() == (TABLES / "pos.md").read_text(encoding="utf-8")


def test_the_lapt_loss_table_rewrites_from_the_committed_logs(tmp_path):
    """Bits per byte and the new rows' mass included: the LAPT logs carry both."""
    from vocabswap.lapt_curves import report_runs

    config = load_config(ROOT / "config" / "decoder.yaml")
    # the runs in the order the rule hands them over (rules/common.smk experiment_lapt_keys)
    keys = [
        ("he", str(size), regime, method)
        for size, regime, method in Grid(config).lapt_models("he", "decoder")
    ]
    models = EVIDENCE / "results" / "models" / "he"
    logs = [
        models / f"v{size}" / f"lapt-{regime}" / method / "lapt_log.json" for _, size, regime, method in keys
    ]
    title = config["experiments"]["decoder"]["title"]
    out = {fmt: tmp_path / f"lapt_loss.{fmt}" for fmt in ("md", "csv", "tex")}
    rows = report_runs(logs, keys, out, tmp_path / "curves.png", title=title)
    for fmt, path in out.items():
        assert path.read_bytes() == (TABLES / f"lapt_loss.{fmt}").read_bytes(), fmt
    assert len(rows) == 9 * 2 + 1 and all(r["best_dev_bpb"] > 0 for r in rows)
