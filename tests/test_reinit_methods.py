"""Every re-initialisation method checked against its definition, on the real 250k base model and a
tokenizer trained on real Hebrew (and Hebrew + Turkish) text."""

from __future__ import annotations

import numpy as np
import pytest
from _reinit import assert_normal_sample, base_category_stats, context, turkish_text

from vocabswap import unicode_scripts
from vocabswap.errors import VocabswapError
from vocabswap.registry import METHODS, canonical_name
from vocabswap.reinit import build_recipe, compute
from vocabswap.reinit.core import SOURCES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def he_ctx(base_model_full, he_tokenizer):
    return context(base_model_full, he_tokenizer)


@pytest.fixture(scope="module")
def hetr_ctx(base_model_full, hebrew_train_text, tmp_path_factory):
    """Hebrew + Turkish: a vocabulary with Hebrew, Latin and Common pieces in quantity."""
    from vocabswap.tokenizer import train_tokenizer

    tmp = tmp_path_factory.mktemp("hetr")
    tok = train_tokenizer([hebrew_train_text, turkish_text(tmp / "tr.txt")], 8000, tmp / "tok", seed=1)
    return context(base_model_full, tok)


def run(ctx, method, seed=1, **kw):
    return compute(ctx, build_recipe(method, **kw), seed=seed)


def reference_overlap(ctx):
    """new id -> base id for every non-special new piece whose exact string is a base piece."""
    base = {}
    for i, p in enumerate(ctx.base_pieces):
        base.setdefault(p, i)
    specials = set(ctx.special_map)
    return {i: base[p] for i, p in enumerate(ctx.new_pieces) if i not in specials and p in base}


# --- method names -------------------------------------------------------------------------------------


def test_method_names_are_order_free_and_case_insensitive():
    assert canonical_name("ident+posn+SCRIPT") == "script+posn+ident"
    assert canonical_name(" Focus + Ident ") == "focus+ident"
    assert canonical_name("ident+random") == "ident"
    for name in METHODS:
        assert canonical_name(name) == name


@pytest.mark.parametrize(
    "bad", ["", "posn", "script+focus", "script+script", "ident+ident", "bert", "fvt+mean"]
)
def test_unknown_method_lists_the_valid_ones(bad):
    with pytest.raises(VocabswapError) as err:
        canonical_name(bad)
    assert "valid methods: random, ident, script" in str(err.value) and "\n" not in str(err.value)


def test_cli_help_lists_exactly_the_methods(capsys):
    from vocabswap.cli import main

    with pytest.raises(SystemExit):
        main(["init", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert ", ".join(METHODS) in help_text


# --- definitions ----------------------------------------------------------------------------------------


def check_counts(result, ctx):
    counts = result.report["counts"]
    assert list(counts) == list(SOURCES)
    assert sum(counts.values()) == ctx.vocab_size == result.report["vocab_size"]
    assert counts == {s: int((result.rows.how == i).sum()) for i, s in enumerate(SOURCES)}
    assert len(result.report["source"]["ident"]) == counts["ident"]
    assert len(result.report["source"]["special"]) == counts["special"]


def check_specials(result, ctx):
    for new_id, base_id in ctx.special_map.items():
        assert np.array_equal(result.rows.emb[new_id], ctx.base_emb[base_id])
    assert {ctx.new_pieces[n]: ctx.base_pieces[b] for n, b in ctx.special_map.items()} == {
        p: p for p in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
    }


def test_ident_copies_every_exact_overlap_and_nothing_else(he_ctx):
    result = run(he_ctx, "ident")
    check_counts(result, he_ctx)
    check_specials(result, he_ctx)
    overlap = reference_overlap(he_ctx)
    assert len(overlap) > 1000  # a Hebrew vocabulary shares thousands of pieces with XLM-R's
    pairs = {n: b for n, b in result.report["source"]["ident"]}
    assert pairs == overlap
    new_ids = np.fromiter(overlap, dtype=np.int64)
    assert np.array_equal(result.rows.emb[new_ids], he_ctx.base_emb[list(overlap.values())])
    assert all(he_ctx.new_pieces[n] == he_ctx.base_pieces[b] for n, b in overlap.items())
    # the rest is RANDOM: N(0, 1)
    rest = result.rows.how == SOURCES.index("random")
    assert rest.sum() == he_ctx.vocab_size - len(overlap) - len(he_ctx.special_map)
    sample = result.rows.emb[rest]
    assert abs(sample.mean()) < 0.01 and abs(sample.std() - 1) < 0.01


def test_random_is_standard_normal(he_ctx):
    result = run(he_ctx, "random")
    check_counts(result, he_ctx)
    check_specials(result, he_ctx)
    sample = result.rows.emb[result.rows.how == SOURCES.index("random")]
    assert len(sample) == he_ctx.vocab_size - 5
    assert abs(float(sample.mean())) < 0.005 and abs(float(sample.std()) - 1) < 0.005
    assert_normal_sample(sample, np.zeros(he_ctx.hidden), np.ones(he_ctx.hidden), "random")


def test_mean_samples_the_whole_matrix_normal(he_ctx):
    result = run(he_ctx, "mean")
    check_counts(result, he_ctx)
    base = he_ctx.base_emb[he_ctx.ordinary_base_rows].astype(np.float64)
    sample = result.rows.emb[result.rows.how == SOURCES.index("mean")]
    assert_normal_sample(sample, base.mean(axis=0), base.std(axis=0, ddof=1), "mean")


@pytest.mark.parametrize("method", ["script", "script+posn", "script+ident", "script+posn+ident"])
def test_script_rows_follow_their_base_category(hetr_ctx, method):
    ctx = hetr_ctx
    position = "posn" in method
    result = run(ctx, method)
    check_counts(result, ctx)
    check_specials(result, ctx)
    rows = result.rows
    sampled = np.flatnonzero(rows.how == SOURCES.index("script"))
    if "ident" in method:
        assert {n: b for n, b in result.report["source"]["ident"]} == reference_overlap(ctx)
        assert len(sampled) == ctx.vocab_size - len(reference_overlap(ctx)) - 5
    else:
        assert len(sampled) == ctx.vocab_size - 5
    # categories as SPEC §3 defines them
    labels = rows.category_labels
    assert [labels[c] for c in rows.category[sampled]] == [
        unicode_scripts.category_of(ctx.new_pieces[i], position=position) for i in sampled
    ]
    base_codes, base_labels = unicode_scripts.categorise(
        [ctx.base_pieces[i] for i in ctx.ordinary_base_rows], position=position
    )
    assert base_labels == labels
    tested = []
    for code in np.unique(rows.category[sampled]):
        members = sampled[rows.category[sampled] == code]
        if len(members) < 50:
            continue
        mean, std, n_base = base_category_stats(ctx, base_codes, code)
        assert n_base >= 2
        assert_normal_sample(rows.emb[members], mean, std, f"{method} {labels[code]}")
        tested.append(labels[code])
    wanted = (
        {"Hebrew", "Latin", "Common"}
        if not position
        else {"Hebrew_initial", "Hebrew_medial", "Latin_initial", "Latin_medial"}
    )
    if "ident" in method:  # most Common pieces (digits, punctuation) are in XLM-R's vocabulary: copied
        wanted -= {"Common"}
    assert wanted <= set(tested), tested
    assert sum(result.report["categories"].values()) == len(sampled) + result.report["counts"]["fallback"]


def test_script_categories_absent_from_the_base_fall_back(he_ctx):
    """A category with fewer than two base rows (here Egyptian hieroglyphs, absent from XLM-R) is drawn from
    the whole-matrix Normal and recorded as 'fallback'; the other rows are unaffected."""
    import dataclasses

    pieces = list(he_ctx.new_pieces)
    odd = np.arange(100, 400)
    for i in odd:
        pieces[i] = f"▁\U00013000{chr(0x13001 + int(i))}"
    assert unicode_scripts.category_of(pieces[100]) == "Egyptian_Hieroglyphs"
    ctx = dataclasses.replace(he_ctx, new_pieces=pieces)
    result = run(ctx, "script")
    check_counts(result, ctx)
    assert result.report["counts"]["fallback"] == len(odd)
    assert result.report["fallback_categories"] == ["Egyptian_Hieroglyphs"]
    assert np.flatnonzero(result.rows.how == SOURCES.index("fallback")).tolist() == odd.tolist()
    mean, std, bias = ctx.whole_stats
    assert np.allclose(result.bias[odd], bias)
    sample = result.rows.emb[odd]
    assert (
        abs(float(((sample - mean) / std).mean())) < 0.02
        and abs(float(((sample - mean) / std).std()) - 1) < 0.02
    )


def test_paper_compat_script_keeps_standard_normal_rows_for_categories_absent_from_the_base(he_ctx):
    """Issue 8.7: under paper_compat a category with no base row keeps N(0, 1) (the paper code's untouched
    nn.Embedding init), not the whole-matrix Normal; categories present in the base are unaffected."""
    import dataclasses

    pieces = list(he_ctx.new_pieces)
    odd = np.arange(100, 400)
    for i in odd:
        pieces[i] = f"▁\U00013000{chr(0x13001 + int(i))}"
    ctx = dataclasses.replace(he_ctx, new_pieces=pieces)
    for method in ("script", "script+posn+ident"):
        paper, default = run(ctx, method, paper_compat=True), run(ctx, method)
        assert np.flatnonzero(paper.rows.how == SOURCES.index("random")).tolist() == odd.tolist()
        assert paper.report["counts"]["fallback"] == 0 and default.report["counts"]["fallback"] == len(odd)
        assert_normal_sample(paper.rows.emb[odd], np.zeros(ctx.hidden), np.ones(ctx.hidden), method)
        # the other rows are script samples either way (paper_compat samples the specials too)
        assert paper.report["counts"]["script"] == default.report["counts"]["script"] + 5 > 1000


def test_paper_compat_script_reads_unicode_15(he_ctx):
    """The authors' Scripts-15.0.0.txt: under paper_compat a piece of characters added since (U+1C89-1C8A,
    Cyrillic in Unicode 16) is Unknown, by default it is Cyrillic; the report names the version read."""
    import dataclasses

    pieces = list(he_ctx.new_pieces)
    added = np.arange(100, 110)
    for k, i in enumerate(added, 1):
        pieces[i] = "▁" + "\u1c89\u1c8a" * k
    ctx = dataclasses.replace(he_ctx, new_pieces=pieces)
    paper, default = run(ctx, "script", paper_compat=True), run(ctx, "script")
    assert (paper.report["unicode_version"], default.report["unicode_version"]) == ("15.0.0", "18.0.0")
    unknown = paper.report["categories"].get("Unknown", 0) - default.report["categories"].get("Unknown", 0)
    cyrillic = default.report["categories"]["Cyrillic"] - paper.report["categories"].get("Cyrillic", 0)
    assert unknown == cyrillic == len(added)


def test_fvt_is_the_mean_of_the_base_pieces(he_ctx):
    ctx = he_ctx
    result = run(ctx, "fvt+ident")
    check_counts(result, ctx)
    assert {n: b for n, b in result.report["source"]["ident"]} == reference_overlap(ctx)
    fvt_rows = np.flatnonzero(result.rows.how == SOURCES.index("fvt"))
    assert len(fvt_rows) > 0.9 * (ctx.vocab_size - len(reference_overlap(ctx)) - 5)
    tok = ctx.base_tokenizer
    checked = 0
    for row in fvt_rows[:: max(1, len(fvt_rows) // 50)]:
        piece = ctx.new_pieces[row]
        if not piece.startswith("▁"):
            continue
        ids = tok(piece.replace("▁", " "), add_special_tokens=False)["input_ids"]
        ids = [i for i in ids if i != tok.unk_token_id]
        np.testing.assert_allclose(result.rows.emb[row], ctx.base_emb[ids].mean(axis=0), rtol=1e-5, atol=1e-6)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("method", ["random", "script+posn+ident", "mean", "fvt"])
def test_same_seed_same_rows_other_seed_other_samples(he_ctx, method):
    a, b, c = run(he_ctx, method, seed=1), run(he_ctx, method, seed=1), run(he_ctx, method, seed=2)
    assert a.rows.emb.tobytes() == b.rows.emb.tobytes() and a.bias.tobytes() == b.bias.tobytes()
    sampled = np.isin(a.rows.how, [SOURCES.index(s) for s in ("random", "script", "mean", "fallback")])
    copied = a.rows.base_id >= 0
    assert np.array_equal(a.rows.emb[copied], c.rows.emb[copied])
    if method == "fvt":  # deterministic by definition: no samples (unless a token falls back)
        assert np.array_equal(a.rows.emb[~sampled], c.rows.emb[~sampled])
    else:
        assert sampled.sum() > 1000
        assert not np.isclose(a.rows.emb[sampled], c.rows.emb[sampled]).any(axis=1).all()
        assert (a.rows.emb[sampled] != c.rows.emb[sampled]).all(axis=1).mean() > 0.99
