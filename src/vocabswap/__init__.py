"""vocabswap: specialise a multilingual masked LM to a language with a compact vocabulary."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vocabswap")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
