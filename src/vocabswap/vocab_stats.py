"""What a vocabulary size means for the transfer and for its cost, per target and size.

For a new vocabulary (an initialised model directory): the share of its ordinary pieces (specials aside)
that IDENT copies because the exact piece, ``▁`` included, is a base piece; the share FOCUS built from its
auxiliary fastText vectors (FOCUS methods only; the rest of the non-overlapping pieces fall back to
N(μ, σ)); the embedding parameters (rows × hidden; XLM-R's MLM decoder is tied to them); and the LAPT
training FLOPs per token (`vocabswap.flops`: the paper's all-positions accounting and the executed
masked-only head, encoder trainable). `record_vocab_stats` adds them to ``init_report.json`` under
``vocabulary``; `VocabTable` shows them per target and size beside the base model's own vocabulary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from vocabswap.atomic import write_json
from vocabswap.errors import InputError
from vocabswap.family import ENCODER, Family
from vocabswap.flops import FlopModel, flop_model_for, predicted_fraction
from vocabswap.table_files import TableText, write_table

REPORT_NAME = "init_report.json"  # as vocabswap.reinit.api.REPORT_NAME (not imported: that pulls in torch)
BASE_ROW = "base"
CSV_HEADER = (
    "target",
    "vocab_size",
    "rows",
    "ordinary",
    "ident",
    "ident_share",
    "focus",
    "focus_share",
    "embedding_parameters",
    "lapt_flops_per_token_paper",
    "lapt_flops_per_token_executed",
)


@dataclass(frozen=True)
class VocabStats:
    """One vocabulary's statistics; shares are of the ordinary (non-special) pieces."""

    pieces: int
    ordinary: int
    ident: int
    focus: int | None
    embedding_parameters: int
    lapt_flops_per_token: dict[str, float]

    @property
    def ident_share(self) -> float:
        return self.ident / self.ordinary if self.ordinary else 0.0

    @property
    def focus_share(self) -> float | None:
        return None if self.focus is None or not self.ordinary else self.focus / self.ordinary

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ident_share": self.ident_share, "focus_share": self.focus_share}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VocabStats:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def lapt_flops_per_token(model: FlopModel, max_length: int, mlm_probability: float) -> dict[str, float]:
    """LAPT training FLOPs per token of a full-length sequence: ``paper`` (all positions through the head,
    training = 3 × forward) and ``executed`` (the head on the masked positions of a masked LM, on all but
    the last of a causal LM; blocks trainable)."""
    masked = round(predicted_fraction(model, max_length, mlm_probability) * max_length)
    paper = model.batch_flops(1, max_length, max_length)["total"] / max_length
    executed = model.batch_flops(1, max_length, masked)["total"] / max_length
    return {"paper": float(paper), "executed": float(executed)}


def _flop_model(model_dir: Path, vocab: int) -> FlopModel:
    """The FLOP model of the directory's family (masked or causal LM) with ``vocab`` rows."""
    from transformers import AutoConfig

    return replace(flop_model_for(AutoConfig.from_pretrained(str(model_dir))), vocab=vocab)


def _pieces(model_dir: Path) -> tuple[list[str], set[int]]:
    """A model directory's pieces as IDENT compares them (a decoder's canonicalised) and its special ids."""
    from vocabswap.family import ENCODER, family_of_dir, special_tokens
    from vocabswap.modeldir import load_tokenizer

    family = family_of_dir(model_dir)
    tok = load_tokenizer(model_dir, xlmr_ids=family is ENCODER)
    special = sorted(special_tokens(tok))  # a decoder's every added special (SmolLM2: 17), not 3 roles
    pieces = tok.convert_ids_to_tokens(list(range(len(tok))))
    return family.canonical_pieces(pieces, keep=special), set(special)


def measure(
    init_dir: str | Path, base_dir: str | Path, *, max_length: int, mlm_probability: float
) -> VocabStats:
    """The statistics of an initialised model directory (its tokenizer, config and init report)."""
    init_dir, base_dir = Path(init_dir), Path(base_dir)
    report = read_report(init_dir)
    pieces, special = _pieces(init_dir)
    base_pieces = set(_pieces(base_dir)[0])
    ordinary = [p for i, p in enumerate(pieces) if i not in special]
    flop_model = _flop_model(init_dir, len(pieces))
    return VocabStats(
        pieces=len(pieces),
        ordinary=len(ordinary),
        ident=sum(p in base_pieces for p in ordinary),
        focus=report["counts"].get("focus") if "focus" in report else None,
        embedding_parameters=len(pieces) * flop_model.hidden,
        lapt_flops_per_token=lapt_flops_per_token(flop_model, max_length, mlm_probability),
    )


def measure_base(base_dir: str | Path, *, max_length: int, mlm_probability: float) -> VocabStats:
    """The base model's own vocabulary: every piece is its own (IDENT share 1), nothing for FOCUS."""
    base_dir = Path(base_dir)
    pieces, special = _pieces(base_dir)
    flop_model = _flop_model(base_dir, len(pieces))
    ordinary = len(pieces) - len(special)
    return VocabStats(
        pieces=len(pieces),
        ordinary=ordinary,
        ident=ordinary,
        focus=None,
        embedding_parameters=len(pieces) * flop_model.hidden,
        lapt_flops_per_token=lapt_flops_per_token(flop_model, max_length, mlm_probability),
    )


def read_report(init_dir: Path) -> dict[str, Any]:
    path = init_dir / REPORT_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(path, None, f"not a readable init report: {err}") from None


def record_vocab_stats(
    init_dir: str | Path, base_dir: str | Path, *, max_length: int, mlm_probability: float
) -> VocabStats:
    """Measure `init_dir` and add the statistics to its init_report.json under ``vocabulary``."""
    stats = measure(init_dir, base_dir, max_length=max_length, mlm_probability=mlm_probability)
    report = read_report(Path(init_dir))
    report["vocabulary"] = stats.as_dict()
    write_json(Path(init_dir) / REPORT_NAME, report)
    return stats


@dataclass(frozen=True)
class VocabRow:
    target: str
    size: int | str  # the configured size, or BASE_ROW
    stats: VocabStats


def collect_rows(
    inits: Sequence[tuple[str, int, str, str | Path]], base_rows: Mapping[str, VocabStats]
) -> list[VocabRow]:
    """Rows per target (its base-vocabulary row first, then sizes ascending) from (target, size, method,
    init dir); the FOCUS count comes from whichever of a size's methods used FOCUS."""
    by_key: dict[tuple[str, int], VocabStats] = {}
    for target, size, _method, init_dir in inits:
        data = read_report(Path(init_dir)).get("vocabulary")
        if data is None:
            raise InputError(Path(init_dir) / REPORT_NAME, None, "no `vocabulary` block (rerun init_model)")
        stats = VocabStats.from_dict(data)
        known = by_key.get((target, int(size)))
        if known is None or (known.focus is None and stats.focus is not None):
            by_key[(target, int(size))] = stats
    rows = []
    for target in dict.fromkeys(t for t, *_ in inits):
        if target in base_rows:
            rows.append(VocabRow(target, BASE_ROW, base_rows[target]))
        rows += [VocabRow(t, s, v) for (t, s), v in sorted(by_key.items()) if t == target]
    return rows


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def _flops(value: float) -> str:
    return f"{value / 1e6:,.0f}"


HEADERS = (
    *("target", "vocabulary", "rows", "IDENT copies", "FOCUS built", "embedding params"),
    *("LAPT MFLOP/token (paper)", "(executed)"),
)


def _shown(row: VocabRow) -> list[str]:
    s = row.stats
    flops = s.lapt_flops_per_token
    counts = [f"{s.pieces:,}", _pct(s.ident_share), _pct(s.focus_share), f"{s.embedding_parameters:,}"]
    return [row.target, str(row.size), *counts, _flops(flops["paper"]), _flops(flops["executed"])]


def _record(row: VocabRow) -> list[Any]:
    s = row.stats
    flops = s.lapt_flops_per_token
    focus = ["" if s.focus is None else s.focus, "" if s.focus_share is None else f"{s.focus_share:.6f}"]
    counts = [s.pieces, s.ordinary, s.ident, f"{s.ident_share:.6f}", *focus, s.embedding_parameters]
    return [row.target, row.size, *counts, f"{flops['paper']:.6g}", f"{flops['executed']:.6g}"]


def vocab_table(rows: Sequence[VocabRow], title: str, family: Family = ENCODER) -> TableText:
    """The rows as the one writer takes them (shares as percentages shown, as fractions in the CSV)."""
    import pandas as pd

    caption = (
        f"{title}: per target and vocabulary size, the share of the new pieces (specials aside) that IDENT "
        "copies (exact piece in the base vocabulary) and that FOCUS built from auxiliary fastText vectors "
        f"(- : no FOCUS method; the rest fall back to N(μ, σ)); embedding parameters = rows × hidden "
        f"({family.embedding_note}); LAPT training FLOPs per token of a full-length sequence (paper: all "
        f"positions through the head, 3 × forward; executed: {family.executed_flops_note}). `base`: the "
        "base model's own vocabulary."
    )
    return TableText(
        frame=pd.DataFrame([_shown(r) for r in rows], columns=list(HEADERS), dtype=object),
        caption=caption,
        data=pd.DataFrame([_record(r) for r in rows], columns=list(CSV_HEADER), dtype=object),
        label_columns=2,
    )


def write_vocab_table(
    rows: Sequence[VocabRow], md_out: str | Path, csv_out: str | Path, *, title: str, base: str | Path
) -> None:
    """The table of ``rows`` (of models made from the base model ``base``, whose family the caption reads)."""
    from vocabswap.family import family_of_dir

    write_table(vocab_table(rows, title, family_of_dir(base)), {"md": md_out, "csv": csv_out})
