"""Reference implementations and experiments the product does not run, kept beside the tests and benchmarks
that use them: OpusFilter's cleaning (``clean.py`` must match it), softmax/top-k weightings (the other
langsfer compositions of FOCUS's weighting step) and head calibration (measured in ``bench/``,
not adopted)."""
