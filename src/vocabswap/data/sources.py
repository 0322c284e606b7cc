"""Raw-corpus and evaluation-data sources: where each lives (transport) and how its files read (parsing).

Source names (config ``languages.<l>.corpus``): ``oscar:LANG`` (OSCAR-2201, a gated Hugging Face
dataset: set ``HF_TOKEN``), ``opus:LANG`` (every OPUS corpus with a monolingual file for LANG) or
``opus:CORPUS/VERSION/LANG``, ``bible:NAME`` (a Bible-corpus file, one verse a line; see
``BIBLE_URL``), ``url:URL``, ``file:PATH``, ``packaged:NAME`` (see ``packaged``).
Evaluation data: ``fetch_ud(name, release)`` (UD treebank by repository name and release) and
``fetch_wikiann(lang)`` (the original per-language WikiAnn archive).

Hosts can be redirected (mirrors, tests) with ``VOCABSWAP_<NAME>_URL`` environment variables for the
names in ``ENDPOINTS``; downloads are cached under ``$VOCABSWAP_DOWNLOADS`` (default
``resources/downloads``) with a ``.provenance.json`` sidecar each.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from vocabswap.atomic import atomic_path, write_json
from vocabswap.data.download import (
    DownloadError,
    download,
    hf_headers,
    provenance_path,
    redact_url,
    redact_urls,
)
from vocabswap.errors import InputError, VocabswapError, first_line, input_file_problem

ENDPOINTS = {
    "HF": "https://huggingface.co",
    "OPUS": "https://object.pouta.csc.fi",
    "OPUS_API": "https://opus.nlpl.eu/opusapi/",
    "GITHUB_API": "https://api.github.com",
    # JHU Bible corpus files are not public; the eBible corpus has the same one-verse-a-line layout.
    "BIBLE": "https://raw.githubusercontent.com/BibleNLP/ebible/main/corpus/{name}.txt",
    # The original WikiAnn (Pan et al. 2017) lives in a Google Drive folder; set a URL template with
    # {lang} (e.g. a mirror), or put {lang}.tar.gz into $VOCABSWAP_DOWNLOADS/wikiann/ yourself.
    "WIKIANN": "",
}
OSCAR_REPO = "oscar-corpus/OSCAR-2201"
# Bounds on what a small hostile input may expand to: one text line, one OSCAR record, one whole source
# (the paper caps each language at about 2 GB).
MAX_LINE_BYTES = 1 << 20
MAX_RECORD_BYTES = 64 << 20
DEFAULT_MAX_BYTES = 2 << 30


def endpoint(name: str) -> str:
    return os.environ.get(f"VOCABSWAP_{name}_URL", ENDPOINTS[name])


def downloads_dir() -> Path:
    return Path(os.environ.get("VOCABSWAP_DOWNLOADS", "resources/downloads"))


def cache_path(root: Path, *parts: str, what: str) -> Path:
    """``root/parts...`` for a download; refused unless it stays inside ``root`` (names from a config, a
    listing or a mirror are not trusted: no absolute part, no ``..``)."""
    dest = root.joinpath(*parts)
    names = [n for part in parts for n in part.replace("\\", "/").split("/")]
    inside = root.resolve() in dest.resolve().parents
    if not inside or any(n in ("", ".", "..") for n in names) or any(Path(p).is_absolute() for p in parts):
        raise DownloadError(
            f"{what}: the name {'/'.join(parts)!r} leads outside the download cache {root}; refusing it"
        )
    return dest


def _get_listing(url: str, headers: dict[str, str] | None = None, *, keys: tuple[str, ...]) -> list[dict]:
    """A JSON list of objects, each with ``keys`` (a hostile or changed API answers otherwise)."""
    listing = _get_json(url, headers)
    if not isinstance(listing, list) or not all(isinstance(e, dict) for e in listing):
        raise DownloadError(f"{redact_url(url)}: the answer is not a JSON list of entries")
    for entry in listing:
        missing = [k for k in keys if not isinstance(entry.get(k), str)]
        if missing:
            raise DownloadError(f"{redact_url(url)}: a listing entry has no {missing[0]!r}: {entry!r:.200}")
    return listing


def _format_endpoint(endpoint_name: str, /, **fields: str) -> str:
    """An endpoint URL template filled in; a template with other fields is one clear error."""
    try:
        return endpoint(endpoint_name).format(**fields)
    except (KeyError, IndexError, ValueError) as err:
        raise VocabswapError(
            f"VOCABSWAP_{endpoint_name}_URL: the URL template may hold only {{{', '.join(fields)}}}: {err!r}"
        ) from None


def _get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    import requests

    try:
        resp = requests.get(url, headers=headers or {}, timeout=60)
    except requests.RequestException as err:
        raise DownloadError(f"{redact_url(url)}: {type(err).__name__}: {redact_urls(str(err))}") from None
    if resp.status_code >= 400:
        raise DownloadError(f"{redact_url(url)}: HTTP {resp.status_code} {resp.reason or ''}".rstrip())
    try:
        return resp.json()
    except ValueError:
        raise DownloadError(f"{redact_url(url)}: the answer is not JSON") from None


# --------------------------------------------------------------------------------------------------
# Parsing (pure functions over the real file formats)


def _maybe_gzip(handle: BinaryIO) -> BinaryIO:
    head = handle.peek(2)[:2] if hasattr(handle, "peek") else b""
    return gzip.GzipFile(fileobj=handle) if head == b"\x1f\x8b" else handle  # type: ignore[return-value]


def bounded_lines(stream: BinaryIO, limit: int, source: str) -> Iterator[bytes]:
    """The lines of a binary stream, each read with at most ``limit`` bytes in memory: a longer line is an
    ``InputError`` naming the source and line, not gigabytes of memory."""
    for lineno in range(1, 1 << 62):
        try:
            raw = stream.readline(limit + 1)
        except (OSError, EOFError, zlib.error) as err:  # a corrupt or cut gzip body
            raise InputError(source, lineno, f"the compressed data is damaged: {first_line(err)}") from None
        if not raw:
            return
        if len(raw) > limit:
            raise InputError(source, lineno, f"a line longer than {limit:,} bytes; refusing to read it")
        yield raw


def parse_oscar_jsonl(handle: BinaryIO, *, source: str = "oscar") -> Iterator[str]:
    """Lines of OSCAR 22.01 documents (JSON Lines, optionally gzipped): each record's ``content``."""
    stream = _maybe_gzip(io.BufferedReader(handle) if not hasattr(handle, "peek") else handle)
    for lineno, raw in enumerate(bounded_lines(stream, MAX_RECORD_BYTES, source), 1):
        if not raw.strip():
            continue
        try:
            doc = json.loads(raw)
            content = doc["content"]
        except (ValueError, KeyError, TypeError):
            raise InputError(source, lineno, "not an OSCAR document (JSON with a 'content' field)") from None
        for line in content.split("\n"):
            if line.strip():
                yield line


def parse_text_lines(handle: BinaryIO, *, source: str = "text") -> Iterator[str]:
    """Non-empty lines of a plain (optionally gzipped) UTF-8 text file (OPUS mono, url:)."""
    stream = _maybe_gzip(io.BufferedReader(handle) if not hasattr(handle, "peek") else handle)
    for raw in bounded_lines(stream, MAX_LINE_BYTES, source):
        line = raw.decode("utf-8", errors="surrogateescape").rstrip("\r\n")
        if line.strip():
            yield line


def parse_bible(handle: BinaryIO, *, source: str = "bible") -> Iterator[str]:
    """Verses of a Bible-corpus file: one verse a line (eBible/JHU layout aligned to vref.txt, empty
    lines for missing verses, ``<range>`` for merged ones), or ``VERSE_ID<TAB>text`` lines."""
    for line in parse_text_lines(handle, source=source):
        vid, tab, text = line.partition("\t")
        if tab and vid.strip().isdigit():  # JHU: 8-digit book/chapter/verse id
            line = text
        line = line.strip()
        if line and line != "<range>":
            yield line


def git_blob_sha1(path: Path) -> str:
    """Git's object id of a file (what the GitHub contents API reports as ``sha``)."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------
# Transport


def oscar_files(lang: str, *, token: str | None = None) -> list[dict[str, Any]]:
    """The compressed OSCAR-2201 part files of ``lang`` with their LFS sha256 and size (hub tree API)."""
    url = f"{endpoint('HF')}/api/datasets/{OSCAR_REPO}/tree/main/compressed/{lang}_meta"
    listing = _get_listing(url, hf_headers(token), keys=("path", "type"))
    files = [
        {"path": e["path"], "sha256": (e.get("lfs") or {}).get("oid"), "size": e.get("size")}
        for e in listing
        if e.get("type") == "file" and e["path"].endswith(".jsonl.gz")
    ]
    if not files:
        raise DownloadError(f"{url}: no OSCAR-2201 files for language {lang!r}")
    unverified = [f["path"] for f in files if not isinstance(f["sha256"], str)]
    if unverified:
        raise DownloadError(
            f"{url}: {unverified[0]} has no LFS sha256 in the listing; refusing it unverified"
        )
    return sorted(files, key=lambda f: _natural_key(f["path"]))


def _natural_key(s: str) -> list[Any]:
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def opus_mono_urls(lang: str) -> list[str]:
    """URLs of every OPUS corpus's monolingual plain-text file for ``lang`` (latest versions)."""
    api = f"{endpoint('OPUS_API')}?source={lang}&preprocessing=mono&version=latest"
    corpora = _get_json(api).get("corpora", [])
    urls = sorted({c["url"] for c in corpora if str(c.get("url", "")).endswith(".txt.gz")})
    if not urls:
        raise DownloadError(f"{api}: no OPUS monolingual files for {lang!r}")
    return urls


def _write_lines(lines: Iterable[str], out: Path, max_bytes: int | None) -> tuple[int, int]:
    n = size = 0
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8", errors="surrogateescape") as w:
        for line in lines:
            data = line.replace("\r", " ") + "\n"
            size += len(data.encode("utf-8", errors="surrogateescape"))
            if max_bytes is not None and size > max_bytes:
                break
            w.write(data)
            n += 1
    if n == 0:
        out.unlink(missing_ok=True)
        raise VocabswapError(f"{out}: the source gave no text")
    return n, size


# Each scheme's inputs: ``(arg, source, cache, files, token) -> paths``; a download appends its record to
# ``files`` (what the provenance lists), in the order the files are read.


def _fetched(
    files: list[dict[str, Any]], url: str, dest: Path, sha256: str | None = None, headers=None
) -> Path:
    files.append(download(url, dest, sha256=sha256, headers=headers))
    return dest


def _oscar_paths(arg: str, source: str, cache: Path, files: list, token: str | None) -> list[Path]:
    try:
        parts = oscar_files(arg, token=token)
    except DownloadError as err:
        if "HTTP 401" in str(err) or "HTTP 403" in str(err):
            raise DownloadError(
                f"{err}. OSCAR-2201 is gated: accept its terms on huggingface.co and set HF_TOKEN"
            ) from None
        raise
    return [
        _fetched(
            files,
            f"{endpoint('HF')}/datasets/{OSCAR_REPO}/resolve/main/{p['path']}",
            cache_path(cache, "oscar-2201", arg, Path(p["path"]).name, what=f"OSCAR {p['path']}"),
            p["sha256"],
            hf_headers(token),
        )
        for p in parts
    ]


def _opus_paths(arg: str, source: str, cache: Path, files: list, token: str | None) -> list[Path]:
    if arg.count("/") == 2:
        corpus, version, code = arg.split("/")
        urls = [f"{endpoint('OPUS')}/OPUS-{corpus}/{version}/mono/{code}.txt.gz"]
    else:
        urls = opus_mono_urls(arg)
    return [
        _fetched(
            files, u, cache_path(cache, "opus", "_".join([*u.split("/")[-4:-2], u.split("/")[-1]]), what=u)
        )
        for u in urls
    ]


def _bible_paths(arg: str, source: str, cache: Path, files: list, token: str | None) -> list[Path]:
    url = _format_endpoint("BIBLE", name=arg)
    return [_fetched(files, url, cache_path(cache, "bible", f"{arg}.txt", what=source))]


def _url_paths(arg: str, source: str, cache: Path, files: list, token: str | None) -> list[Path]:
    return [_fetched(files, arg, cache / "url" / hashlib.sha256(arg.encode()).hexdigest()[:16])]


def _file_paths(arg: str, source: str, cache: Path, files: list, token: str | None) -> list[Path]:
    path = Path(arg)
    problem = input_file_problem(path)
    if problem:
        raise InputError(path, None, f"corpus file {problem}")
    files.append({"path": str(path), "bytes": path.stat().st_size})
    return [path]


_SCHEMES: dict[str, tuple[Callable[..., list[Path]], Callable[..., Iterator[str]]]] = {
    "oscar": (_oscar_paths, parse_oscar_jsonl),
    "opus": (_opus_paths, parse_text_lines),
    "bible": (_bible_paths, parse_bible),
    "url": (_url_paths, parse_text_lines),
    "file": (_file_paths, parse_text_lines),
}


def _fetch_packaged(name: str, source: str, out: Path, lang: str | None) -> dict[str, Any]:
    from vocabswap.data.packaged import packaged_lang, packaged_raw_text

    if lang is not None and packaged_lang(name) != lang:
        raise VocabswapError(f"{source} is {packaged_lang(name)} text, not {lang}")
    n = packaged_raw_text(name, out)
    record = {"source": source, "lines": n, "note": "train sentences only"}
    write_json(provenance_path(out), record)
    return record


def fetch_corpus(
    source: str,
    out: str | Path,
    *,
    lang: str | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    token: str | None = None,
) -> dict[str, Any]:
    """Materialise one raw text source as a plain UTF-8 file, one line a line (atomically), of at most
    ``max_bytes`` (None: no bound).

    Writes ``<out>.provenance.json`` listing every file read (URL, size, sha256) and returns it.
    """
    out = Path(out)
    kind, _, arg = source.partition(":")
    if not arg:
        raise VocabswapError(f"source {redact_urls(source)!r} is not 'scheme:value'")
    cache = downloads_dir()
    if kind == "packaged":
        return _fetch_packaged(arg, source, out, lang)
    if kind not in _SCHEMES:
        raise VocabswapError(f"unknown corpus source scheme {kind!r} in {redact_urls(source)!r}")
    inputs, parse = _SCHEMES[kind]
    files: list[dict[str, Any]] = []
    paths = inputs(arg, source, cache, files, token)

    def lines() -> Iterator[str]:
        for p in paths:
            with open(p, "rb") as handle:
                yield from parse(handle, source=str(p))

    n, size = _write_lines(lines(), out, max_bytes)
    record = {
        "source": redact_urls(source),
        "lang": lang,
        "lines": n,
        "bytes": size,
        "max_bytes": max_bytes,
        "files": files,
    }
    write_json(provenance_path(out), record)
    return record


def fetch_ud(name: str, release: str, out_dir: str | Path | None = None) -> Path:
    """Download a UD treebank's ``.conllu`` files at release tag ``r<release>`` (GitHub), each verified
    against the git object id the API reports. Returns the directory."""
    release = release.removeprefix("r")
    what = f"UD {name} r{release}"
    out = Path(out_dir) if out_dir else cache_path(downloads_dir(), "ud", f"{name}@{release}", what=what)
    listing = _get_listing(
        f"{endpoint('GITHUB_API')}/repos/UniversalDependencies/{name}/contents?ref=r{release}",
        keys=("name", "type"),
    )
    conllu = [e for e in listing if e.get("type") == "file" and e["name"].endswith(".conllu")]
    if any(not isinstance(e.get("download_url"), str) for e in conllu):
        raise DownloadError(f"UD {name} r{release}: a .conllu entry of the listing has no download_url")
    if not conllu:
        raise DownloadError(f"UD {name} r{release}: no .conllu files in the listing")
    out.mkdir(parents=True, exist_ok=True)
    for entry in conllu:
        dest = cache_path(out, str(entry.get("name")), what=f"{what}: listing entry")
        download(entry["download_url"], dest)
        if entry.get("sha") and git_blob_sha1(dest) != entry["sha"]:
            dest.unlink()
            provenance_path(dest).unlink(missing_ok=True)
            raise DownloadError(
                f"{redact_url(entry['download_url'])}: checksum mismatch against git object {entry['sha']}"
            )
    return out


def fetch_wikiann(lang: str, out: str | Path | None = None) -> Path:
    """The original WikiAnn archive of ``lang`` (``{lang}.tar.gz`` holding ``wikiann-{lang}.bio``)."""
    what = f"WikiAnn {lang}"
    dest = Path(out) if out else cache_path(downloads_dir(), "wikiann", f"{lang}.tar.gz", what=what)
    if dest.is_file():
        return dest
    template = endpoint("WIKIANN")
    if not template:
        raise VocabswapError(
            f"WikiAnn {lang}: no download URL. The original files are in a Google Drive folder "
            f"(https://elisa-ie.github.io/wikiann/); put {lang}.tar.gz at {dest} or set "
            "VOCABSWAP_WIKIANN_URL to a URL template with {lang}"
        )
    download(_format_endpoint("WIKIANN", lang=lang), dest)
    return dest
