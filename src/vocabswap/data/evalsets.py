"""Evaluation data dirs: ``train.tsv``, ``dev.tsv``, ``test.tsv`` (``word<TAB>tag``, see ``tagged``) and
``meta.json`` for one (language, task), built from a source name:

- ``packaged:ud-hebrew-htb`` (pos, ner), ``packaged:turkish-treebanks`` (pos): see ``packaged``;
- ``ud:DIR``: a UD treebank directory with ``*-ud-train.conllu``, ``*-ud-test.conllu`` and, if it has
  one, ``*-ud-dev.conllu``; a split shipped in parts (``*-ud-train-a.conllu``, ``-b``, ...) is read as
  their concatenation in name order (``meta.json`` lists the parts); without a dev split,
  ``dev_from_train`` sentences are carved from train as the authors' ``tools/downsample_ud.py`` did;
- ``wikiann:FILE``: an original WikiAnn per-language file (``.bio``, or the ``.tar.gz`` holding it),
  re-split 85/5/10 at random with the minimum sizes and the test-only rule (``splits.WikiannSplit``).

A test-only language gets empty ``train.tsv``/``dev.tsv`` and ``"test_only": true`` in meta.json.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vocabswap.atomic import atomic_dir, scratch_dir, write_json
from vocabswap.checksums import file_sha256
from vocabswap.data.conllu import read_conllu
from vocabswap.data.ner import entity_types, read_ner
from vocabswap.data.packaged import packaged_lang, packaged_licence, packaged_tagged
from vocabswap.data.splits import WikiannSplit, carve_dev, random_split
from vocabswap.data.tagged import write_tagged
from vocabswap.errors import InputError, VocabswapError
from vocabswap.registry import TASKS

# A WikiAnn .bio member larger than this many times its archive (or 1 MiB) is refused: real ones compress
# about 5-10x; a decompression bomb far more.
MAX_MEMBER_RATIO = 100

Tagged = list[tuple[list[str], list[str]]]


def ud_split_files(root: Path) -> dict[str, list[Path]]:
    """The ``.conllu`` files of each split of a UD treebank directory, in name order: one
    ``*-ud-<split>.conllu``, or a split shipped in several parts (UD_Russian-SynTagRus r2.11:
    ``ru_syntagrus-ud-train-a.conllu``, ``-train-b``, ``-train-c``), but never both."""
    files: dict[str, list[Path]] = {}
    for split in ("train", "dev", "test"):
        whole = sorted(root.glob(f"*-ud-{split}.conllu"))
        parts = sorted(root.glob(f"*-ud-{split}-*.conllu"))
        if len(whole) > 1 or (whole and parts):
            names = [p.name for p in whole + parts]
            raise InputError(root, None, f"several {split} files that are not one split's parts: {names}")
        files[split] = whole or parts
    for split in ("train", "test"):
        if not files[split]:
            raise InputError(root, None, f"no *-ud-{split}.conllu (nor its parts) in the treebank directory")
    return files


def _ud_dir_splits(root: Path, *, seed: int, dev_from_train: int | None) -> tuple[dict[str, Tagged], dict]:
    paths = ud_split_files(root)
    data = {s: [(x.words, x.upos) for p in ps for x in read_conllu(p)] for s, ps in paths.items() if ps}
    if not data["train"]:  # would silently make the language test-only
        raise InputError(paths["train"][0], None, "no sentences in the UD train file")
    info: dict[str, Any] = {
        "files": {
            s: [{"name": p.name, "sha256": file_sha256(p)} for p in ps] for s, ps in paths.items() if ps
        }
    }
    if not paths["dev"]:
        if not dev_from_train:
            raise VocabswapError(
                f"{root}: the treebank has no dev split; set dev_from_train (Erzya: 300, North Sami: 256)"
            )
        data["train"], data["dev"] = carve_dev(data["train"], dev_from_train, seed=seed)
        info["dev_from_train"] = {"sentences": dev_from_train, "seed": seed}
    elif dev_from_train:
        raise VocabswapError(f"{root}: the treebank has a dev split; dev_from_train must not be set")
    return data, info


def _read_wikiann(path: Path) -> Tagged:
    if path.name.endswith((".tar.gz", ".tgz", ".tar")):
        return _read_wikiann_archive(path)
    return read_ner(path)


def _read_wikiann_archive(path: Path) -> Tagged:
    """The one ``.bio`` member of a WikiAnn archive, read through the archive object: a member's name
    never becomes a path on this host (absolute or ``..`` names are refused). The member is streamed
    to a scratch copy beside the archive (not the system temp folder), which the next run reaps if this one
    is killed."""
    try:
        with tarfile.open(path) as tar, scratch_dir(path) as tmp:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".bio")]
            if len(members) != 1:
                raise InputError(path, None, f"expected one .bio file in the archive, found {len(members)}")
            name = members[0].name
            if name.startswith("/") or ".." in name.split("/"):
                raise InputError(path, None, f"unsafe member name {name!r} (absolute or with '..')")
            size = members[0].size
            if size > MAX_MEMBER_RATIO * max(path.stat().st_size, 1 << 20):
                why = f"member {name!r} expands to {size:,} bytes, over {MAX_MEMBER_RATIO}x the archive"
                raise InputError(path, None, why + "; refusing to unpack it")
            handle = tar.extractfile(members[0])
            copy = Path(tmp) / "member.bio"
            with open(copy, "wb") as dest:
                shutil.copyfileobj(handle or io.BytesIO(), dest)  # streamed: memory stays flat
            try:
                return read_ner(copy)
            except InputError as err:
                where = f"{copy}:{err.line}" if err.line is not None else str(copy)
                raise InputError(f"{path}[{name}]", err.line, str(err)[len(where) + 2 :]) from err
    except (tarfile.TarError, EOFError, OSError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(path, None, f"not a readable .tar.gz archive: {reason}") from err


def _resolve_ud(arg: str) -> Path:
    """``ud:DIR`` (an existing directory) or ``ud:NAME@RELEASE`` (downloaded from GitHub, cached)."""
    path = Path(arg)
    if path.is_dir():
        return path
    name, at, release = arg.partition("@")
    if not at:
        raise VocabswapError(f"ud:{arg}: neither a directory nor NAME@RELEASE (e.g. UD_Erzya-JR@2.11)")
    from vocabswap.data.sources import fetch_ud

    return fetch_ud(name, release)


def _resolve_wikiann(arg: str) -> Path:
    """``wikiann:FILE`` (a .bio file or the archive) or ``wikiann:LANG`` (downloaded, cached)."""
    path = Path(arg)
    if path.is_file():
        return path
    if "/" in arg or "." in arg:
        raise InputError(path, None, "WikiAnn file not found")
    from vocabswap.data.sources import fetch_wikiann

    return fetch_wikiann(arg)


def _packaged_data(
    name: str, source: str, lang: str | None, task: str, meta: dict, *, dev_from_train: int | None
) -> dict:
    if lang is not None and packaged_lang(name) != lang:
        raise VocabswapError(f"{source} is {packaged_lang(name)} data, not {lang}")
    meta["lang"] = packaged_lang(name)
    data = packaged_tagged(name, task)
    if dev_from_train:
        raise VocabswapError(f"{source} has a dev split; dev_from_train must not be set")
    meta["split"] = "the source's own split"
    meta["licence"] = packaged_licence(name)
    return data


def _ud_data(arg: str, task: str, meta: dict, *, seed: int, dev_from_train: int | None) -> dict:
    if task != "pos":
        raise VocabswapError("UD treebanks give POS data only")
    data, info = _ud_dir_splits(_resolve_ud(arg), seed=seed, dev_from_train=dev_from_train)
    meta.update(info)
    meta["split"] = "UD standard" + (" + dev carved from train" if dev_from_train else "")
    return data


def _wikiann_data(arg: str, task: str, meta: dict, *, resplit: bool | None) -> dict:
    if task != "ner":
        raise VocabswapError("WikiAnn gives NER data only")
    path = _resolve_wikiann(arg)
    data = {"train": _read_wikiann(path), "dev": [], "test": []}
    meta["files"] = {"all": [{"name": path.name, "sha256": file_sha256(path)}]}
    if resplit is False:
        raise VocabswapError("WikiAnn has no standard split; it must be re-split")
    return data


def _resplit(data: dict, protocol: WikiannSplit, meta: dict, *, seed: int) -> dict:
    """All sentences pooled and re-split with the WikiAnn protocol (seeded)."""
    pooled = data["train"] + data["dev"] + data["test"]
    meta["split"] = (
        f"random {protocol.train:.0%}/{protocol.dev:.0%}/{protocol.test:.0%} (seed {seed}), "
        f"dev >= {protocol.min_dev}, test >= {protocol.min_test}, "
        f"test-only below {protocol.min_sentences} sentences"
    )
    return random_split(pooled, seed=seed, protocol=protocol)


def _describe(data: dict, task: str) -> dict[str, Any]:
    """Sizes, token counts and the label set of the splits (meta.json's summary)."""
    splits = ("train", "dev", "test")
    meta: dict[str, Any] = {
        "sizes": {s: len(data[s]) for s in splits},
        "tokens": {s: sum(len(w) for w, _ in data[s]) for s in splits},
        "test_only": not data["train"],
    }
    all_sents = [x for s in splits for x in data[s]]
    if task == "ner":
        meta["entity_types"] = entity_types(all_sents)
        meta["labels"] = ["O"] + [f"{p}-{t}" for t in meta["entity_types"] for p in ("B", "I")]
    else:
        meta["labels"] = sorted({t for _, tags in all_sents for t in tags})
    return meta


def build_eval_set(
    source: str,
    lang: str | None,
    task: str,
    out_dir: str | Path,
    *,
    seed: int = 1,
    dev_from_train: int | None = None,
    resplit: bool | None = None,
    wikiann: WikiannSplit | None = None,
    max_sentences: int | None = None,
) -> dict[str, Any]:
    """Write the evaluation data dir for (``lang``, ``task``) from ``source``; returns its meta.json.

    ``resplit`` pools all sentences and re-splits them with the WikiAnn protocol (default: only for
    ``wikiann:`` sources). ``max_sentences`` keeps the first N sentences of each split (demo only).
    ``lang`` (optional) is checked against packaged sources. The workflow's config slice goes through
    :func:`build_eval_set_from_settings`.
    """
    if task not in TASKS:
        raise VocabswapError(f"unknown task {task!r} (expected one of {', '.join(TASKS)})")
    meta: dict[str, Any] = {"source": source, "lang": lang, "task": task, "seed": seed}
    kind, _, arg = source.partition(":")
    if kind == "packaged":
        data = _packaged_data(arg, source, lang, task, meta, dev_from_train=dev_from_train)
    elif kind == "ud":
        data = _ud_data(arg, task, meta, seed=seed, dev_from_train=dev_from_train)
    elif kind == "wikiann":
        data = _wikiann_data(arg, task, meta, resplit=resplit)
        resplit = True
    else:
        raise VocabswapError(f"unknown evaluation source {source!r} (packaged:NAME, ud:..., wikiann:...)")
    if resplit:
        data = _resplit(data, wikiann or WikiannSplit(), meta, seed=seed)
    if max_sentences:
        data = {k: v[:max_sentences] for k, v in data.items()}
        meta["max_sentences"] = max_sentences
    if not data["test"]:
        raise VocabswapError(f"{source}: no test sentences")
    if data["train"] and not data["dev"]:  # fine-tuning selects its epoch on dev: it would fail later
        raise VocabswapError(
            f"{source}: the dev split is empty but train has {len(data['train'])} sentences; give a dev file "
            "or set dev_from_train"
        )
    meta.update(_describe(data, task))
    with atomic_dir(out_dir) as tmp:
        for split in ("train", "dev", "test"):
            write_tagged(tmp / f"{split}.tsv", data[split])
        write_json(tmp / "meta.json", meta)
    return meta


def build_eval_set_from_settings(
    settings: Mapping[str, Any], task: str, out_dir: str | Path, *, lang: str | None = None
) -> dict[str, Any]:
    """``build_eval_set`` from a config slice: ``languages.<l>.eval.<task>`` merged with ``eval_data``."""
    known = {
        "source",
        "dev_from_train",
        "resplit",
        "resplit_fractions",
        "min_dev",
        "min_test",
        "seed",
        "max_sentences",
        "min_sentences",
    }
    unknown = set(settings) - known
    if unknown:
        raise VocabswapError(f"unknown evaluation settings: {', '.join(sorted(unknown))}")
    fractions = settings.get("resplit_fractions", (0.85, 0.05, 0.10))
    protocol = WikiannSplit(
        train=fractions[0],
        dev=fractions[1],
        test=fractions[2],
        min_dev=settings.get("min_dev", 256),
        min_test=settings.get("min_test", 512),
        min_sentences=settings.get("min_sentences", 1792),
    )
    return build_eval_set(
        settings["source"],
        lang,
        task,
        out_dir,
        seed=settings.get("seed", 1),
        dev_from_train=settings.get("dev_from_train"),
        resplit=settings.get("resplit"),
        wikiann=protocol,
        max_sentences=settings.get("max_sentences"),
    )
