"""FOCUS: batched sparsemax, convex combinations of anchors, and parity with the deepfocus package."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from _reinit import context

from vocabswap import aux_embeddings
from vocabswap.aux_embeddings import FastTextOptions
from vocabswap.errors import VocabswapError
from vocabswap.reinit import build_recipe, compute
from vocabswap.reinit.core import SOURCES
from vocabswap.reinit.focus import FocusOptions
from vocabswap.reinit.methods import MethodOptions
from vocabswap.reinit.sparsemax import sparsemax, sparsemax_topk

# fastText for the FOCUS tests: deepfocus's CBOW/negatives, but more epochs and a lower min count than its
# defaults, so that the 60k-word Hebrew text gives informative vectors for most of the vocabulary, and
# fewer subword buckets (an 80 MB .bin instead of 800 MB; both implementations read the same file).
TEST_FASTTEXT = FastTextOptions(epochs=30, min_count=3, threads=1, bucket=200_000)


# --- sparsemax -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [0.05, 0.3, 1.0, 5.0])
def test_batched_sparsemax_equals_entmax(scale):
    import entmax

    gen = torch.Generator().manual_seed(0)
    z = torch.randn(300, 2000, generator=gen, dtype=torch.float64) * scale
    z[0, :10] = z[0].max() + 1  # ties at the top
    z[1] = 0.5  # a constant row: uniform weights
    expected = entmax.sparsemax(z, dim=-1)
    got = sparsemax(z)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)
    weights, indices = sparsemax_topk(z.float(), k=4)  # too small a first guess: grown automatically
    dense = torch.zeros_like(z).scatter_(1, indices, weights)
    torch.testing.assert_close(dense, expected, atol=1e-6, rtol=0)
    assert (weights >= 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(300, dtype=torch.float64))


# --- FOCUS on real data ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def he_fasttext(he_tokenizer, hebrew_train_text, tmp_path_factory):
    from vocabswap.modeldir import load_tokenizer

    path = tmp_path_factory.mktemp("fasttext") / "he.bin"
    aux_embeddings.train_fasttext(
        hebrew_train_text,
        load_tokenizer(he_tokenizer, xlmr_ids=True),
        options=TEST_FASTTEXT,
        seed=1,
        save_to=path,
    )
    return path


@pytest.fixture(scope="module")
def focus_ctx(base_model_full, he_tokenizer, he_fasttext):
    import dataclasses

    # the same loaded base as the other modules' (loading the 250k model once per session)
    return dataclasses.replace(context(base_model_full, he_tokenizer), fasttext_model=he_fasttext)


@pytest.fixture(scope="module")
def focus_result(focus_ctx):
    return compute(focus_ctx, build_recipe("focus"), seed=1)


@pytest.mark.slow
def test_focus_rows_are_sparse_convex_combinations_of_anchor_rows(focus_ctx, focus_result):
    ctx, rows, report = focus_ctx, focus_result.rows, focus_result.report
    info = rows.focus
    weights, anchor_new, anchor_base = info["weights"], info["anchor_new"], info["anchor_base"]
    built = info["rows"]
    assert np.array_equal(np.flatnonzero(rows.how == SOURCES.index("focus")), np.sort(built))
    assert len(built) > 0.5 * ctx.vocab_size
    # anchors: copied tokens (overlap + specials) that have a fastText vector, rows equal to their base row
    assert np.array_equal(rows.emb[anchor_new], ctx.base_emb[anchor_base])
    assert set(anchor_new.tolist()) <= set(np.flatnonzero(rows.base_id >= 0).tolist())
    # convex: weights >= 0, each row sums to 1, and sparse
    assert weights.data.min() > 0
    np.testing.assert_allclose(np.asarray(weights.sum(axis=1)).ravel(), 1.0, atol=1e-9)
    support = np.diff(weights.indptr)
    assert support.max() < 0.2 * len(anchor_new) and np.median(support) < 0.05 * len(anchor_new)
    # each built row is exactly that combination of anchor base rows, and so is its MLM bias
    np.testing.assert_allclose(rows.emb[built], weights @ ctx.base_emb[anchor_base], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(focus_result.bias[built], weights @ ctx.base_bias[anchor_base], atol=1e-6)
    # report
    assert sum(report["counts"].values()) == ctx.vocab_size
    assert report["counts"]["focus"] == len(built) == report["focus"]["built_from_anchors"]
    assert report["focus"]["anchors"] == len(anchor_new)
    # the rate the fastText .bin was trained at (TEST_FASTTEXT's, or a halved one where it diverged)
    assert 0 < report["focus"]["fasttext"]["lr_trained"] <= TEST_FASTTEXT.lr


@pytest.mark.slow
def test_tokens_without_a_fasttext_vector_fall_back_and_are_counted(focus_ctx, focus_result, he_fasttext):
    ctx, rows, report = focus_ctx, focus_result.rows, focus_result.report
    _, has = aux_embeddings.token_vectors(aux_embeddings.load_fasttext(he_fasttext), ctx.new_pieces)
    fallback = np.flatnonzero(rows.how == SOURCES.index("fallback"))
    assert not has[fallback].any()
    assert report["no_vector"] == report["counts"]["fallback"] == len(fallback) > 0
    copied = rows.base_id >= 0
    assert ((~has) & ~copied).sum() == len(fallback)


@pytest.mark.slow
def test_focus_equals_focus_plus_ident(focus_ctx, focus_result):
    other = compute(focus_ctx, build_recipe("focus+ident"), seed=1)
    assert other.rows.emb.tobytes() == focus_result.rows.emb.tobytes()
    assert other.report["counts"] == focus_result.report["counts"]


@pytest.mark.slow
def test_paper_focus_overlap_is_case_insensitive_and_keeps_the_word_start_marker(focus_ctx):
    """FOCUS of May 2023: exact match first, else the lower-cased piece with its ``▁`` (never stripped);
    among base case variants the greatest string wins (FOCUS's lower-case dict from the sorted vocab)."""
    from vocabswap.reinit.overlap import overlap

    # Hebrew has no case: give a few new pieces odd casings (and one without its marker)
    pieces = list(focus_ctx.new_pieces)
    pieces[100], pieces[101], pieces[102] = "▁tHe", "tHe", "▁WoRlD"
    ctx = dataclasses.replace(focus_ctx, new_pieces=pieces)
    targets = np.arange(ctx.vocab_size)
    exact_new, _ = overlap(ctx, targets, "exact")
    fuzzy_new, fuzzy_base = overlap(ctx, targets, "fuzzy")
    assert set(exact_new.tolist()) <= set(fuzzy_new.tolist())
    got = dict(zip(fuzzy_new.tolist(), fuzzy_base.tolist(), strict=True))
    assert got[100] == ctx.base_index["▁the"]  # "▁the" > "▁The" > "▁THE": the greatest variant wins
    assert got.get(101) == ctx.base_index.get("the")  # never "▁the": the marker is kept
    assert ctx.base_pieces[got[102]] == "▁world"  # "▁WORLD" is no XLM-R piece: "▁world" > "▁World"
    # the reference: FOCUS's own construction, spelled out
    lower = {}
    for i in sorted(ctx.ordinary_base_rows.tolist(), key=lambda i: ctx.base_pieces[i]):
        lower[ctx.base_pieces[i].lower()] = i
    exact = ctx.base_index
    expected = {}
    for t in targets.tolist():
        piece = ctx.new_pieces[t]
        hit = exact.get(piece, lower.get(piece.lower()))
        if hit is not None:
            expected[t] = hit
    assert dict(zip(fuzzy_new.tolist(), fuzzy_base.tolist(), strict=True)) == expected
    for n, b in zip(fuzzy_new, fuzzy_base, strict=True):
        assert ctx.new_pieces[n].lower() == ctx.base_pieces[b].lower()  # "▁x" never matches "x"
    assert FocusOptions.paper().fasttext == FastTextOptions(dim=300, epochs=3, min_count=1, model="cbow")


@pytest.mark.slow
def test_paper_mode_gives_every_new_token_a_focus_vector_and_every_overlap_token_is_an_anchor(
    focus_ctx, focus_result, he_fasttext
):
    """Paper mode (issue 8.8) with the .bin model: out-of-dictionary pieces get n-gram vectors, so no token
    falls back and no overlapping token is pruned as an anchor; deepfocus mode on the same model does both."""
    from vocabswap.reinit.overlap import overlap

    ctx = focus_ctx
    paper_opts = dataclasses.replace(FocusOptions.paper(), fasttext=TEST_FASTTEXT)
    result = compute(ctx, build_recipe("focus", options=MethodOptions(focus=paper_opts)), seed=1)
    report, rows = result.report, result.rows
    ov_new, ov_base = overlap(ctx, np.setdiff1d(np.arange(ctx.vocab_size), list(ctx.special_map)), "fuzzy")
    assert report["focus"]["mode"] == "paper"
    assert report["counts"]["fallback"] == 0 and report["no_vector"] == 0
    assert report["focus"]["pruned_overlap_without_vector"] == 0
    assert report["focus"]["anchors"] == len(ov_new) + len(ctx.special_map)
    assert report["counts"]["ident"] == len(ov_new)
    assert report["counts"]["focus"] == ctx.vocab_size - len(ov_new) - len(ctx.special_map)
    assert np.array_equal(rows.emb[ov_new], ctx.base_emb[ov_base])
    # deepfocus on the same model leaves tokens below min count without a vector
    assert focus_result.report["no_vector"] > 0 and focus_result.report["focus"]["mode"] == "deepfocus"
    # paper mode needs the n-gram buckets of the .bin: a .vec is refused in one line
    vec_ctx = dataclasses.replace(ctx, fasttext_model=he_fasttext.with_suffix(".vec"))
    with pytest.raises(VocabswapError, match=r"needs the fastText \.bin model") as err:
        compute(vec_ctx, build_recipe("focus", options=MethodOptions(focus=paper_opts)), seed=1)
    assert "\n" not in str(err.value)


def test_workflow_focus_settings_select_the_mode():
    from vocabswap.reinit.focus import focus_options

    paper = focus_options({"mode": "paper", "dim": 300, "epochs": 3, "min_count": 1})
    assert paper == FocusOptions.paper()
    deep = focus_options({"mode": "deepfocus", "dim": 100, "epochs": 3, "min_count": 10})
    assert deep == FocusOptions() and deep.mode == "deepfocus"
    slower = focus_options({"mode": "deepfocus", "dim": 100, "epochs": 3, "min_count": 10, "lr": 0.01})
    assert slower.fasttext.lr == 0.01 and FocusOptions().fasttext.lr == 0.05


@pytest.mark.slow
def test_corpus_too_small_for_fasttext_is_a_one_line_error(base_model_full, he_tokenizer, hebrew_train_text):
    import dataclasses

    ctx = dataclasses.replace(
        context(base_model_full, he_tokenizer), aux_corpus=hebrew_train_text, fasttext_model=None
    )
    options = FocusOptions(fasttext=FastTextOptions(min_count=10**8, epochs=1))
    with pytest.raises(VocabswapError, match="too small for fastText") as err:
        compute(ctx, build_recipe("focus", options=MethodOptions(focus=options)), seed=1)
    assert "\n" not in str(err.value)


@pytest.fixture
def short_hebrew_text(hebrew_train_text, tmp_path):
    """The first 300 lines of the Hebrew training text: fastText diverges on it at a high learning rate."""
    path = tmp_path / "he.300.txt"
    path.write_text("".join(hebrew_train_text.open(encoding="utf-8").readlines()[:300]), encoding="utf-8")
    return path


def test_fasttext_that_diverges_is_retried_at_half_the_learning_rate(
    he_tokenizer, short_hebrew_text, monkeypatch, caplog
):
    """lr 16 diverges on this text, lr 1 does not (measured here: NaN at 16, 8, 4 and 2, finite at 1); each
    retry halves the rate, says so in the log, and the model (and so its .bin) records the rate that
    trained it."""
    from vocabswap.modeldir import load_tokenizer

    monkeypatch.setattr(aux_embeddings, "NAN_RETRIES", 4)
    options = FastTextOptions(epochs=3, min_count=3, lr=16.0, bucket=200_000)
    with caplog.at_level("WARNING", logger="vocabswap.aux_embeddings"):
        model = aux_embeddings.train_fasttext(
            short_hebrew_text, load_tokenizer(he_tokenizer, xlmr_ids=True), options=options, seed=1
        )
    retries = [r.getMessage() for r in caplog.records if "diverged (NaN)" in r.getMessage()]
    lr = aux_embeddings.trained_lr(model)
    assert lr is not None and 1.0 <= lr < 16.0
    assert len(retries) == round(np.log2(16.0 / lr))
    assert "he.300.txt" in retries[0] and "lr 16" in retries[0] and "retrying at lr 8" in retries[0]
    assert np.isfinite(np.stack([model.get_word_vector(w) for w in model.words])).all()


def test_fasttext_that_diverges_at_every_rate_is_a_one_line_error(
    he_tokenizer, short_hebrew_text, monkeypatch, tmp_path
):
    from vocabswap.modeldir import load_tokenizer

    monkeypatch.setattr(aux_embeddings, "NAN_RETRIES", 1)
    options = FastTextOptions(epochs=3, min_count=3, lr=10_000.0, bucket=200_000)
    save_to = tmp_path / "ft.bin"
    with pytest.raises(VocabswapError, match="diverged") as err:
        aux_embeddings.train_fasttext(
            short_hebrew_text,
            load_tokenizer(he_tokenizer, xlmr_ids=True),
            options=options,
            seed=1,
            save_to=save_to,
        )
    message = str(err.value)
    assert "\n" not in message and "he.300.txt" in message
    assert "from 10000 down to 5000" in message
    assert not save_to.exists() and not save_to.with_suffix(".vec").exists()


@pytest.mark.slow
def test_parity_with_deepfocus(focus_ctx, focus_result, he_fasttext, tmp_path, monkeypatch):
    """Same tokenizers, corpus and fastText model: deepfocus.FOCUS and vocabswap's focus agree on the
    overlap set and give rows with cosine >= 0.99 for every token both build from anchors."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # deepfocus's cache, not ~/.cache
    import deepfocus
    from deepfocus.focus import get_overlapping_tokens

    ctx = focus_ctx
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deepfocus's per-token loop is faster single-threaded on small tensors
    try:
        ref = deepfocus.FOCUS(
            target_tokenizer=ctx.new_tokenizer,
            source_tokenizer=ctx.base_tokenizer,
            source_embeddings=torch.from_numpy(ctx.base_emb),
            fasttext_model_path=str(he_fasttext),
            verbosity="silent",
            seed=1,
        ).numpy()
    finally:
        torch.set_num_threads(threads)
    overlap, _ = get_overlapping_tokens(
        ctx.new_tokenizer,
        ctx.base_tokenizer,
        match_symbols=False,
        exact_match_all=True,
        fuzzy_match_all=False,
    )
    theirs = {ctx.new_tokenizer.convert_tokens_to_ids(t): info.source[0].id for t, info in overlap.items()}
    rows = focus_result.rows
    ours = {int(i): int(rows.base_id[i]) for i in np.flatnonzero(rows.base_id >= 0)}
    assert ours == theirs
    assert np.array_equal(ref[list(ours)], rows.emb[list(ours)])
    built = rows.focus["rows"]
    a, b = rows.emb[built].astype(np.float64), ref[built].astype(np.float64)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() >= 0.99, f"min cosine {cosine.min():.4f}"


@pytest.mark.slow
def test_word_vectors_file_gives_the_same_focus_rows_as_the_model(focus_ctx, focus_result, he_fasttext):
    """train_fasttext writes a .vec beside the .bin; FOCUS from the .vec equals FOCUS from the .bin."""
    import dataclasses

    vec = he_fasttext.with_suffix(".vec")
    assert vec.is_file()
    other = compute(dataclasses.replace(focus_ctx, fasttext_model=vec), build_recipe("focus"), seed=1)
    assert other.report["counts"] == focus_result.report["counts"]
    np.testing.assert_allclose(other.rows.emb, focus_result.rows.emb, rtol=1e-4, atol=1e-5)


def test_fasttext_trains_on_the_tokenizers_own_text(he_tokenizer, short_hebrew_text, tmp_path):
    """Footnote 4: FOCUS's fastText trains on the vocabulary's training text. Above the whole-text limit
    the tokenizer trains on a seeded subset, and fastText reads exactly those lines (the same token counts
    as a model trained on that subset written out), not the whole corpus."""
    from vocabswap.modeldir import load_tokenizer
    from vocabswap.tokenizer import write_training_text

    tok = load_tokenizer(he_tokenizer, xlmr_ids=True)
    options = FastTextOptions(dim=16, epochs=1, min_count=1, bucket=20_000)
    size = short_hebrew_text.stat().st_size
    limits = {"limit_bytes": size // 2, "subset_bytes": size // 3, "seed": 1}  # a third of the lines kept
    ours = aux_embeddings.train_fasttext_on_tokenizer_text(
        [short_hebrew_text], tok, options=options, **limits
    )
    subset = tmp_path / "subset.txt"
    n, _ = write_training_text([short_hebrew_text], subset, **limits)
    assert 50 < n < 200
    same = aux_embeddings.train_fasttext(subset, tok, options=options, seed=1)
    whole = aux_embeddings.train_fasttext(short_hebrew_text, tok, options=options, seed=1)

    def counts(model):
        words, freqs = model.get_words(include_freq=True)
        return dict(zip(words, freqs.tolist(), strict=True))

    assert counts(ours) == counts(same)
    assert sum(counts(whole).values()) > 2 * sum(counts(ours).values())
    # below the limit the tokenizer (and so fastText) takes everything
    everything = aux_embeddings.train_fasttext_on_tokenizer_text(
        [short_hebrew_text], tok, options=options, limit_bytes=size + 1, subset_bytes=1, seed=1
    )
    assert counts(everything) == counts(whole)
