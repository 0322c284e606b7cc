"""Embedding re-initialisation for a new vocabulary: methods composed of parts (see ``methods``).

The parts: base fillers (``parts``, ``focus``; registered in ``methods.FILLERS``), the token overlap IDENT
and FOCUS share (``overlap``), and FOCUS's weighting over anchors (``weights``: sparsemax). Method names
are the registry's (``vocabswap.registry``).
"""

from vocabswap.reinit.api import REPORT_NAME, compute, initialise, make_context
from vocabswap.reinit.focus import FocusOptions
from vocabswap.reinit.methods import build_recipe

__all__ = [
    "REPORT_NAME",
    "FocusOptions",
    "build_recipe",
    "compute",
    "initialise",
    "make_context",
]
