"""Cleaning speed: vocabswap vs OpusFilter on the same real corpus in the same run, plus a parity check.

    python bench/clean_speed.py                      # builds the corpus (Debian libreoffice-help, root)
    python bench/clean_speed.py --corpus FILE [--english] [--workers 2] [--repeat 3]

Without --corpus it runs bench/parity_corpus.py (apt-get download of libreoffice-help-{eu,et,ru} + the
treebank text: ~300k lines) and falls back to the pip-installed mix of tests/_data.py if apt fails.
Prints lines/second of each (best of --repeat runs), the ratio, and whether the kept lines are identical.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build_corpus(work: Path) -> Path:
    out = work / "parity.txt"
    try:
        subprocess.run([sys.executable, str(HERE / "parity_corpus.py"), "--out", str(out)], check=True)
        return out
    except (subprocess.CalledProcessError, FileNotFoundError) as err:
        print(f"(libreoffice-help corpus unavailable: {err}; using the pip-installed mix)", file=sys.stderr)
        sys.path.insert(0, str(HERE.parent / "tests"))
        from _data import real_corpus

        return real_corpus(out, n_lines=300_000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--english", action="store_true", help="include the lid.176 English filter")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    sys.path.insert(0, str(HERE.parent / "tests"))
    from reference.opusfilter_ref import run_opusfilter

    from vocabswap.data.clean import CleanParams, clean_corpus

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = args.corpus or build_corpus(work)
        with open(corpus, "rb") as f:
            n = sum(1 for _ in f)
        params = CleanParams(filter_english=args.english)
        ours_t, ref_t = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            clean_corpus(corpus, work / "ours.txt", params=params, workers=args.workers)
            ours_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            run_opusfilter(corpus, work / "ref.txt", params)
            ref_t.append(time.perf_counter() - t0)
        a = (work / "ours.txt").read_bytes()
        b = (work / "ref.txt").read_bytes()
        ours, ref = n / min(ours_t), n / min(ref_t)
        print(f"corpus: {corpus} ({n} lines), english filter: {args.english}, workers: {args.workers}")
        print(f"vocabswap : {ours:>10,.0f} lines/s  (best of {args.repeat}: {min(ours_t):.2f} s)")
        print(f"opusfilter: {ref:>10,.0f} lines/s  (best of {args.repeat}: {min(ref_t):.2f} s)")
        print(f"ratio     : {ours / ref:.1f}x")
        kept = a.count(b"\n")
        same = a == b or sorted(a.splitlines()) == sorted(b.splitlines())
        print(f"parity    : {'identical' if same else 'DIFFERENT'} kept lines ({kept} kept)")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
