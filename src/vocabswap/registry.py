"""The one registry of names the workflow, the CLI and the library share: methods, tasks, LAPT regimes.

Import-light on purpose (standard library only): config validation imports it before any job runs, so a
method name the re-initialisation code would reject fails there, naming the config key, instead of after
the download, cleaning and tokenizer jobs.

A method name is lower-case, ``+``-joined and order-free (``posn+script+ident`` == ``script+posn+ident``).
It resolves to one base filler (random | mean | script | script+posn | focus | fvt) and optionally
``ident`` (applied last). ``focus`` alone equals ``focus+ident``: FOCUS copies the overlap by definition.
"""

from __future__ import annotations

from vocabswap.errors import VocabswapError

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
# The order in which a method's words are spelled in its canonical name.
WORD_ORDER = ("random", "mean", "script", "posn", "focus", "fvt", "ident")
ALIASES = {"random+ident": "ident"}  # IDENT's rest is RANDOM by definition

# Rows of the paper's tables, top to bottom (Table 1); extras follow in config order.
PAPER_METHOD_ORDER = (
    "focus+ident",
    "script+posn+ident",
    "script+ident",
    "script+posn",
    "script",
    "ident",
    "random",
)
TASKS = ("pos", "ner")
REGIMES = ("full", "emb")
# Training precision: auto = bf16 autocast where the device computes bf16 natively, fp32 elsewhere.
PRECISIONS = ("auto", "bf16", "fp32")
FULL_VOCAB = "fullvocab"  # pseudo-method: LAPT of the base model with its own vocabulary
OFF_THE_SHELF = "offtheshelf"  # pseudo-target: the base model fine-tuned without LAPT


def method_order(methods: list[str]) -> list[str]:
    """Table row order: the paper's rows first (Table 1), extras after in the given order."""
    paper = [m for m in PAPER_METHOD_ORDER if m in methods]
    return paper + [m for m in methods if m not in paper]


def method_help() -> str:
    """The valid method names and their grammar, for ``--help`` texts."""
    return f"{', '.join(METHODS)} (lower-case, '+'-joined, any order)"


class UnknownMethodError(VocabswapError):
    """A method name that is not in METHODS under any spelling."""


def canonical_name(method: str) -> str:
    """The canonical spelling of a method name; UnknownMethodError (listing the valid ones) if unknown."""
    words = [w.strip() for w in method.strip().lower().split("+")]
    if all(w in WORD_ORDER for w in words) and len(set(words)) == len(words):
        name = "+".join(sorted(words, key=WORD_ORDER.index))
        name = ALIASES.get(name, name)
        if name in METHODS:
            return name
    raise UnknownMethodError(f"unknown method {method!r}; valid methods: {method_help()}")


def uses_focus(method: str) -> bool:
    """Whether a method needs the auxiliary fastText model (a FOCUS base filler)."""
    return METHODS[canonical_name(method)][0] == "focus"
