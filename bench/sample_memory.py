"""Peak memory of α-sampling when the input grows 10x (the output size fixed): it should stay flat.

    python bench/sample_memory.py [--lines 200000] [--base-lines 300000]

Builds three languages' corpora from the pip-installed real text (tests/_data.py), repeated to 1x and
10x size, and runs ``sample_multilingual`` on each in a fresh process; prints the peak RSS of each run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# VmHWM (this process's peak resident set; unlike ru_maxrss it is not inherited across exec)
CHILD = """
import json, re, sys, time
from vocabswap.data.sampling import sample_multilingual
def hwm():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
inputs, out, lines = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
before = hwm()
t = time.perf_counter()
sample_multilingual(inputs, out, alpha=0.2, lines=lines, seed=1)
print(json.dumps({"peak_kb": hwm(), "import_kb": before, "seconds": time.perf_counter() - t}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=200_000, help="sampled output lines (fixed)")
    ap.add_argument("--base-lines", type=int, default=300_000, help="input lines at 1x, all languages")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE.parent / "tests"))
    from _data import source_lines, treebank_texts

    texts = treebank_texts()
    he, tr = texts[:6153], texts[6153:]
    code = source_lines(args.base_lines)
    shares = {"he": he, "tr": tr, "code": code}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for scale in (1, 10):
            inputs = {}
            for lang, lines in shares.items():
                want = {"he": args.base_lines // 6, "tr": args.base_lines // 12}.get(
                    lang, args.base_lines // 2
                )
                path = work / f"{lang}.{scale}x.txt"
                with open(path, "w", encoding="utf-8") as f:
                    for i in range(want * scale):  # exactly 10x the lines at 10x
                        f.write(lines[i % len(lines)] + "\n")
                inputs[lang] = str(path)
            size = sum(Path(p).stat().st_size for p in inputs.values())
            run = subprocess.run(
                [sys.executable, "-c", CHILD, json.dumps(inputs), str(work / "out.txt"), str(args.lines)],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(run.stdout)
            print(
                f"{scale:>2}x input: {size / 1e6:8.1f} MB -> {args.lines} lines: "
                f"peak RSS {r['peak_kb'] / 1024:7.1f} MiB (after imports {r['import_kb'] / 1024:.1f} MiB), "
                f"{r['seconds']:.1f} s"
            )
            for p in inputs.values():
                Path(p).unlink()


if __name__ == "__main__":
    main()
