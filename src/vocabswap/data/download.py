"""HTTP transport for the data sources: resumable, atomic, checksummed, with a provenance sidecar.

``download(url, dest)`` streams into ``dest.part`` (resuming it with an HTTP Range request when the
server allows), checks the size against Content-Length and the SHA-256 against an expected digest if one
is given, and only then renames ``dest.part`` to ``dest`` and writes ``dest.provenance.json`` (URL, size,
SHA-256, time, ETag/Last-Modified). A server error or a truncated transfer raises ``DownloadError`` and
leaves at most the ``.part`` file (to resume from); a checksum mismatch deletes it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vocabswap.atomic import write_json
from vocabswap.checksums import file_sha256
from vocabswap.errors import VocabswapError

log = logging.getLogger(__name__)


class DownloadError(VocabswapError):
    """A download that could not be completed; the message names the URL and what went wrong."""


SCHEMES = ("http", "https")  # what ``download`` fetches; anything else fails at once, without retries
REDACTED = "REDACTED"


def redact_url(url: str) -> str:
    """``url`` without secrets, for messages and provenance: no ``user:pass@``, no query values, no
    fragment (query keys stay, so a record still says which parameters were sent)."""
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port out of range, a bad IPv6 host: still no user:pass@ in the message
        return _USERINFO.sub(rf"\1{REDACTED}@", url.split("?", 1)[0].split("#", 1)[0])
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{host}{port}"
    query = "&".join(f"{k}={REDACTED}" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


_redact = redact_url
# ``//user:pass@`` up to the host, even when the rest does not parse (a space, a bad port).
_USERINFO = re.compile(r"^([^:/?#]*:?//)[^/?#]*@")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_urls(value: Any) -> Any:
    """``value`` (a string, or lists/dicts of them) with every URL in it redacted (see ``redact_url``)."""
    if isinstance(value, str):
        return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), value)
    if isinstance(value, Mapping):
        return {k: redact_urls(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_urls(v) for v in value]
    return value


def check_scheme(url: str) -> None:
    """Refuse a URL that ``download`` cannot fetch (``file://``, ``ftp://``, no scheme): not transient."""
    scheme = url.partition(":")[0].lower() if ":" in url else ""
    if scheme not in SCHEMES:
        raise DownloadError(
            f"{redact_url(url)}: unsupported URL scheme {scheme or '(none)'!r}; downloads need "
            f"{' or '.join(s + '://' for s in SCHEMES)} (give a local file as file:PATH)"
        )


def provenance_path(dest: str | Path) -> Path:
    dest = Path(dest)
    return dest.with_name(dest.name + ".provenance.json")


def hf_headers(token: str | None = None) -> dict[str, str]:
    """Authorization header for Hugging Face (gated datasets such as OSCAR-2201): token from ``HF_TOKEN``."""
    token = token or os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def download(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60,
    retries: int = 3,
    backoff: float = 2.0,
    session: Any = None,
) -> dict[str, Any]:
    """Fetch ``url`` into ``dest``; returns the provenance record (also written beside ``dest``).

    An existing ``dest`` whose sidecar records the same URL (and digest, if given) is reused.
    Connection errors and 5xx answers are retried ``retries`` times, resuming the partial file.
    """
    import requests

    check_scheme(url)
    dest = Path(dest)
    side = provenance_path(dest)
    prev = _reusable(dest, url, sha256)
    if prev is not None:
        return prev
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    http = session or requests.Session()
    info = _fetch_with_retries(
        http, url, part, headers or {}, timeout, retries=retries, backoff=backoff, verified=sha256 is not None
    )
    _validator_path(part).unlink(missing_ok=True)
    digest = file_sha256(part)
    if sha256 is not None and digest != sha256.lower():
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{_redact(url)}: checksum mismatch: expected sha256 {sha256.lower()}, got {digest}; "
            "the partial file was deleted"
        )
    record = {
        "url": redact_url(url),
        "path": dest.name,
        "bytes": part.stat().st_size,
        "sha256": digest,
        "retrieved": datetime.now(UTC).isoformat(timespec="seconds"),
        **info,
    }
    side.unlink(missing_ok=True)
    os.replace(part, dest)
    write_json(side, record)
    return record


def _reusable(dest: Path, url: str, sha256: str | None) -> dict[str, Any] | None:
    """The sidecar record of an earlier download of ``url`` (digest ``sha256``) into ``dest``, or None."""
    side = provenance_path(dest)
    if not (dest.is_file() and side.is_file()):
        return None
    try:
        prev = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        prev = {}
    if prev.get("url") == redact_url(url) and (sha256 is None or prev.get("sha256") == sha256):
        return prev
    return None


def _fetch_with_retries(
    http: Any,
    url: str,
    part: Path,
    headers: Mapping[str, str],
    timeout: float,
    *,
    retries: int,
    backoff: float,
    verified: bool,
) -> dict[str, Any]:
    """``_fetch_into`` retried ``retries`` times on connection errors and retryable answers."""
    import requests

    attempt = 0
    while True:
        try:
            return _fetch_into(http, url, part, headers, timeout, verified=verified)
        except DownloadError as err:
            retryable = getattr(err, "retryable", False)
            if not retryable or attempt >= retries:
                raise
        except requests.RequestException as err:
            if attempt >= retries or isinstance(err, _not_transient(requests)):
                reason = f"{type(err).__name__}: {_redact_text(err, url)}"
                raise DownloadError(f"{_redact(url)}: {reason}") from None
        attempt += 1
        log.warning("download of %s failed, retry %d/%d", _redact(url), attempt, retries)
        time.sleep(backoff * attempt)


def _not_transient(requests: Any) -> tuple[type[BaseException], ...]:
    """Request errors that a retry cannot cure: a malformed or unsupported URL or header."""
    exc = requests.exceptions
    return (
        exc.InvalidSchema,
        exc.InvalidURL,
        exc.MissingSchema,
        exc.InvalidHeader,
        exc.URLRequired,
        exc.TooManyRedirects,  # a redirect loop stays a loop
        exc.SSLError,  # a certificate does not become valid in 12 seconds
    )


def _redact_text(err: BaseException, url: str) -> str:
    """An error's text with the URL (which may carry credentials) replaced by its redacted form."""
    if not str(err):
        return type(err).__name__
    return redact_urls(str(err).replace(url, redact_url(url)).splitlines()[0])


def _validator_path(part: Path) -> Path:
    return part.with_name(part.name + ".validator")


def _response_validator(resp: Any) -> str | None:
    """What identifies this version of the file (a strong ETag, else Last-Modified), for ``If-Range``."""
    etag = resp.headers.get("ETag")
    return etag if etag and not etag.startswith("W/") else resp.headers.get("Last-Modified")


def _drop_part(part: Path) -> None:
    part.unlink(missing_ok=True)
    _validator_path(part).unlink(missing_ok=True)


def _fetch_into(
    http: Any, url: str, part: Path, headers: Mapping[str, str], timeout: float, *, verified: bool
) -> dict[str, Any]:
    """Fetch into ``part``, resuming it only when the server still has the version it was cut from (its
    validator, sent as ``If-Range`` and compared with the answer's): never a splice of two versions. A
    part of unknown version is resumed only when a checksum (``verified``) will judge the result."""
    validator = _validator_path(part).read_text(encoding="utf-8") if _validator_path(part).is_file() else None
    if part.exists() and validator is None and not verified:
        _drop_part(part)
    have = part.stat().st_size if part.exists() else 0
    req = dict(headers)
    if have:
        req["Range"] = f"bytes={have}-"
        if validator:
            req["If-Range"] = validator
    with http.get(url, headers=req, stream=True, timeout=timeout, allow_redirects=True) as resp:
        status = resp.status_code
        changed = validator is not None and _response_validator(resp) != validator
        if have and (status == 416 or (status == 206 and changed)):
            _drop_part(part)  # complete already, or the file changed since the part was cut: start over
            return _fetch_into(http, url, part, headers, timeout, verified=verified)
        if status >= 400:
            err = DownloadError(f"{_redact(url)}: HTTP {status} {resp.reason or ''}".rstrip())
            err.retryable = status >= 500 or status == 429  # type: ignore[attr-defined]
            raise err
        resumed = status == 206 and have > 0
        if status == 206 and not resumed:
            raise DownloadError(f"{_redact(url)}: unexpected partial content without a Range request")
        mode = "ab" if resumed else "wb"
        if not resumed:
            _drop_part(part)
            if _response_validator(resp):
                _validator_path(part).write_text(_response_validator(resp), encoding="utf-8")
        length = resp.headers.get("Content-Length")
        expected = (have if resumed else 0) + int(length) if length is not None else None
        if resumed:
            crange = resp.headers.get("Content-Range", "")
            if not crange.startswith(f"bytes {have}-"):
                raise DownloadError(f"{_redact(url)}: server answered Range {have}- with {crange!r}")
        with open(part, mode) as f:
            try:
                for block in resp.iter_content(1 << 14):  # small: a dropped connection loses little
                    f.write(block)
            except Exception as err:  # connection dropped mid-body: keep the part for resuming
                e = DownloadError(f"{_redact(url)}: transfer interrupted after {f.tell()} bytes: {err}")
                e.retryable = True  # type: ignore[attr-defined]
                raise e from None
        got = part.stat().st_size
        if expected is not None and got != expected:
            e = DownloadError(f"{_redact(url)}: truncated download: got {got} of {expected} bytes")
            e.retryable = True  # type: ignore[attr-defined]
            raise e
        return {
            "resumed_from": have if resumed else 0,
            "etag": resp.headers.get("ETag"),
            "last_modified": resp.headers.get("Last-Modified"),
        }
