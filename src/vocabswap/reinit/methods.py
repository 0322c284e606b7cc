"""Method names -> compositions of parts, and the composition itself.

A method name is lower-case, ``+``-joined and order-free (``posn+script+ident`` == ``script+posn+ident``).
It resolves to one base filler (random | mean | script | script+posn | focus | fvt) and optionally
``ident``. Precedence, lowest first: specials copied from the base < base filler < ident (applied last,
identity takes precedence). In ``paper_compat`` mode SCRIPT fills the special rows as well, as the
paper's code did. ``focus`` alone equals ``focus+ident``: FOCUS copies the overlap by definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from vocabswap.errors import VocabswapError
from vocabswap.reinit.core import Context, Rows
from vocabswap.reinit.focus import Focus, FocusOptions
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


# Canonical method names (the paper's seven, `focus`, and the extras) -> (base filler word, ident?).
METHODS: dict[str, tuple[str, bool]] = {
    "random": ("random", False),
    "ident": ("random", True),
    "script": ("script", False),
    "script+posn": ("script+posn", False),
    "script+ident": ("script", True),
    "script+posn+ident": ("script+posn", True),
    "focus": ("focus", True),
    "focus+ident": ("focus", True),
    "mean": ("mean", False),
    "mean+ident": ("mean", True),
    "fvt": ("fvt", False),
    "fvt+ident": ("fvt", True),
}
WORD_ORDER = ("random", "mean", "script", "posn", "focus", "fvt", "ident")
ALIASES = {"random+ident": "ident"}  # IDENT's rest is RANDOM by definition


def canonical_name(method: str) -> str:
    """The canonical spelling of a method name; VocabswapError (listing the valid ones) if unknown."""
    words = [w.strip() for w in method.strip().lower().split("+")]
    if all(w in WORD_ORDER for w in words) and len(set(words)) == len(words):
        name = "+".join(sorted(words, key=WORD_ORDER.index))
        name = ALIASES.get(name, name)
        if name in METHODS:
            return name
    raise VocabswapError(
        f"unknown method {method!r}; valid methods: {', '.join(METHODS)} (lower-case, '+'-joined, any order)"
    )


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
            ident_new, ident_base = ctx.exact_overlap(candidates)
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


def build_recipe(method: str, *, paper_compat: bool = False, options: MethodOptions | None = None) -> Recipe:
    """Parse ``method`` and compose its parts."""
    options = options or MethodOptions()
    name = canonical_name(method)
    base, ident = METHODS[name]
    filler: Filler
    if base == "random":
        filler = StandardNormal()
    elif base == "mean":
        filler = MatrixNormal()
    elif base in ("script", "script+posn"):
        filler = CategoryNormal(position=base == "script+posn", name=base)
    elif base == "focus":
        filler = Focus(options=options.focus, seed=options.seed)
    else:
        filler = FVT()
    return Recipe(name=name, filler=filler, ident=ident, paper_compat=paper_compat)
