"""vocabswap: specialise a multilingual masked LM to a language with a compact vocabulary.

Naming: the package's own verbs and adjectives are spelt -ise (initialise, tokenise, materialise,
normalise); a name that mirrors a library's object keeps that library's spelling (tokenizer, optimizer,
``initializer_range``, ``normalizer_spec``).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vocabswap")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
