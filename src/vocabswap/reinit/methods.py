"""Method names (from ``vocabswap.registry``) -> compositions of parts, and the composition itself.

Each name resolves to one base filler and optionally ``ident`` (see the registry). Precedence, lowest
first: specials copied from the base < base filler < ident (applied last, identity takes precedence). In
``paper_compat`` mode SCRIPT fills the special rows as well and IDENT leaves them alone, as the paper's
code did (its IDENT skips the special tokens, so they stay script-sampled).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from vocabswap import unicode_scripts
from vocabswap.registry import METHODS, canonical_name
from vocabswap.reinit.core import Context, Rows
from vocabswap.reinit.focus import Focus, FocusOptions
from vocabswap.reinit.overlap import exact
from vocabswap.reinit.parts import (
    FVT,
    CategoryNormal,
    MatrixNormal,
    StandardNormal,
    copy_specials,
    unfilled,
)


class Filler(Protocol):
    name: str

    def fill(self, ctx: Context, rows: Rows, targets: np.ndarray, rng: np.random.Generator) -> None: ...


@dataclass(frozen=True)
class Recipe:
    """One method as a composition: a base filler, and whether IDENT is applied last."""

    name: str
    filler: Filler
    ident: bool
    paper_compat: bool = False

    def apply(self, ctx: Context, rng: np.random.Generator) -> Rows:
        """Fill every row of the new matrix; see the module docstring for the precedence."""
        rows = Rows.empty(ctx.vocab_size, ctx.hidden)
        overwrite_specials = self.paper_compat and getattr(
            self.filler, "overwrites_specials_in_paper_compat", False
        )
        if not overwrite_specials:
            copy_specials(ctx, rows)
        candidates = unfilled(rows)
        if self.ident:
            # The paper code's IDENT skips the special tokens: under paper_compat they keep their samples.
            specials = np.fromiter(ctx.special_map, dtype=np.int64, count=len(ctx.special_map))
            copyable = np.setdiff1d(candidates, specials) if overwrite_specials else candidates
            ident_new, ident_base = exact(ctx, copyable)
        else:
            ident_new = ident_base = np.zeros(0, dtype=np.int64)
        # Rows that IDENT copies last are not sampled first: IDENT would overwrite them anyway.
        self.filler.fill(ctx, rows, np.setdiff1d(candidates, ident_new), rng)
        rows.copy_from_base(ctx, ident_new, ident_base, "ident")
        return rows


@dataclass(frozen=True)
class MethodOptions:
    focus: FocusOptions = field(default_factory=FocusOptions)
    seed: int = 1


def _unicode_version(paper_compat: bool) -> str:
    """SCRIPT's Scripts.txt: the pinned fontTools' table, or under paper_compat the authors' 15.0."""
    return unicode_scripts.PAPER_UNICODE_VERSION if paper_compat else unicode_scripts.UNICODE_VERSION


# Base filler name (the registry's METHODS) -> its part, built from the options and paper_compat.
FILLERS: dict[str, Callable[[MethodOptions, bool], Filler]] = {
    "random": lambda opts, compat: StandardNormal(),
    "mean": lambda opts, compat: MatrixNormal(),
    "script": lambda opts, compat: CategoryNormal(
        name="script", absent_standard_normal=compat, unicode_version=_unicode_version(compat)
    ),
    "script+posn": lambda opts, compat: CategoryNormal(
        position=True,
        name="script+posn",
        absent_standard_normal=compat,
        unicode_version=_unicode_version(compat),
    ),
    "focus": lambda opts, compat: Focus(options=opts.focus, seed=opts.seed),
    "fvt": lambda opts, compat: FVT(),
}


def build_recipe(method: str, *, paper_compat: bool = False, options: MethodOptions | None = None) -> Recipe:
    """Parse ``method`` and compose its parts: its base filler (``FILLERS``), then IDENT if named."""
    name = canonical_name(method)
    base, ident = METHODS[name]
    filler = FILLERS[base](options or MethodOptions(), paper_compat)
    return Recipe(name=name, filler=filler, ident=ident, paper_compat=paper_compat)
