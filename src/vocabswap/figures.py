"""The paper's figures, plus the views that show structure 2-D PCA misses.

- Figure 1 (`base_embedding_figure`): the base input embeddings in their first two principal components,
  coloured by Unicode script and, within Latin, by word-initial vs word-medial position; beside each, the
  same points in a supervised 2-D LDA projection, and linear-probe accuracies (held-out logistic
  regression against the majority baseline) written to a TSV for the report.
- Figures 2, 3, 5 (`init_figure`): each initialised matrix projected into the base model's PCA space (and
  the base-fitted LDA space), coloured by script and by position, the base embeddings grey behind.
- Figure 4 (`flops_figure`): mean score against LAPT training FLOPs.
- Score against vocabulary size (`vocab_size_figure`), for experiments that sweep `tokenizer.vocab_size`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vocabswap.atomic import atomic_open, atomic_path
from vocabswap.errors import VocabswapError
from vocabswap.registry import FULL_VOCAB, OFF_THE_SHELF, method_order

TOP_SCRIPTS = 8  # scripts drawn in their own colour; the rest are "other"
POSITION_SCRIPT = "Latin"


def load_embeddings(model_dir: str | Path) -> tuple[np.ndarray, list[str]]:
    """Input embedding matrix (rows = tokenizer ids) and the pieces of a model directory, in the forms
    the script and position labels read (a decoder's byte-level pieces canonicalised: ``Ġ`` -> ``▁``)."""
    from transformers import AutoTokenizer

    from vocabswap.family import family_of_dir

    model_dir = Path(model_dir)
    family = family_of_dir(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    weights = None
    for file in sorted(model_dir.glob("*.safetensors")):
        from safetensors.numpy import load_file

        tensors = load_file(str(file))
        names = [k for k in tensors if k.endswith("embeddings.word_embeddings.weight")]
        if names:
            weights = tensors[names[0]].astype(np.float32)
            break
    if weights is None:  # another layout: let transformers find the input embeddings
        model = family.load_model(model_dir)
        weights = model.get_input_embeddings().weight.detach().float().numpy()
    n = len(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(list(range(n)))
    return weights[:n], family.canonical_pieces(pieces, keep=tokenizer.all_special_ids)


def token_labels(pieces: Sequence[str], special: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(script name, position "initial"/"medial") per piece; specials get "special"."""
    from vocabswap.unicode_scripts import categorise, piece_is_initial

    codes, names = categorise(pieces)
    scripts = np.asarray(names, dtype=object)[codes]
    position = np.where(piece_is_initial(pieces), "initial", "medial").astype(object)
    scripts[list(special)] = "special"
    position[list(special)] = "special"
    return scripts, position


def _special_ids(model_dir: str | Path) -> list[int]:
    from transformers import AutoTokenizer

    return list(AutoTokenizer.from_pretrained(str(model_dir)).all_special_ids)


def _sample(n: int, max_points: int, seed: int, eligible: np.ndarray | None = None) -> np.ndarray:
    idx = np.arange(n) if eligible is None else np.flatnonzero(eligible)
    if len(idx) > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(idx, size=max_points, replace=False))
    return idx


def _top(labels: np.ndarray, k: int = TOP_SCRIPTS) -> list[str]:
    return [name for name, _ in Counter(labels.tolist()).most_common() if name != "special"][:k]


def _group(labels: np.ndarray, keep: Sequence[str]) -> np.ndarray:
    return np.where(np.isin(labels, list(keep)), labels, "other").astype(object)


def linear_probe(x: np.ndarray, y: np.ndarray, *, seed: int = 1) -> dict[str, Any]:
    """Held-out accuracy (25%, stratified) of a logistic regression, and the majority-class baseline."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    counts = Counter(y.tolist())
    keep = np.isin(y, [c for c, n in counts.items() if n >= 4])
    x, y = x[keep], y[keep]
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(x_tr)
    clf = LogisticRegression(max_iter=300).fit(scaler.transform(x_tr), y_tr)
    accuracy = float((clf.predict(scaler.transform(x_te)) == y_te).mean())
    majority = Counter(y_tr.tolist()).most_common(1)[0][0]
    return {
        "n_tokens": len(y),
        "n_classes": len(set(y.tolist())),
        "accuracy": accuracy,
        "majority_baseline": float((y_te == majority).mean()),
    }


def _scatter(
    ax, points: np.ndarray, labels: np.ndarray, order: Sequence[str], title: str, *, background=None
):
    import matplotlib.pyplot as plt

    if background is not None:
        ax.scatter(background[:, 0], background[:, 1], s=1, c="#dddddd", linewidths=0, rasterized=True)
    cmap = plt.get_cmap("tab10")
    for i, name in enumerate(order):
        sel = labels == name
        if sel.any():
            color = "#999999" if name == "other" else cmap(i % 10)
            ax.scatter(
                points[sel, 0],
                points[sel, 1],
                s=2,
                color=color,
                label=f"{name} ({int(sel.sum())})",
                linewidths=0,
                rasterized=True,
            )
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=5, markerscale=4, loc="best", frameon=False)


def _fit_views(x: np.ndarray, y_script: np.ndarray, y_pos: np.ndarray, latin: np.ndarray):
    """PCA and LDA by script on the sampled base rows; LDA by position on its Latin rows."""
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as LDA

    pca = PCA(n_components=2, random_state=0).fit(x)
    lda_script = LDA(n_components=2).fit(x, y_script) if len(set(y_script.tolist())) > 2 else None
    lda_pos = (
        LDA(n_components=1).fit(x[latin], y_pos[latin]) if len(set(y_pos[latin].tolist())) == 2 else None
    )
    return pca, lda_script, lda_pos


def _lda_points(lda_script, lda_pos, x: np.ndarray, pca) -> tuple[np.ndarray | None, np.ndarray | None]:
    script = lda_script.transform(x)[:, :2] if lda_script is not None else None
    # Position LDA is 1-D (two classes): its axis against the first principal component.
    pos = np.c_[lda_pos.transform(x)[:, 0], pca.transform(x)[:, 0]] if lda_pos is not None else None
    return script, pos


def base_embedding_figure(
    model_dir: str | Path, out: str | Path, *, probes_out: str | Path, max_points: int = 20000, seed: int = 1
) -> dict[str, Any]:
    """Figure 1 with its LDA companions; the probe accuracies go to `probes_out` (TSV) and are returned."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    emb, pieces = load_embeddings(model_dir)
    scripts, position = token_labels(pieces, _special_ids(model_dir))
    idx = _sample(len(pieces), max_points, seed, eligible=scripts != "special")
    x, s, p = emb[idx], scripts[idx], position[idx]
    top = _top(s)
    s_grouped = _group(s, top)
    latin = s == POSITION_SCRIPT
    pca, lda_script, lda_pos = _fit_views(x, s_grouped, p, latin)
    probes = {"script": linear_probe(x, s_grouped, seed=seed)}
    if latin.sum() >= 20:
        probes["position_within_latin"] = linear_probe(x[latin], p[latin], seed=seed)

    fig, axes = plt.subplots(2, 2, figsize=(10, 9))
    pc = pca.transform(x)
    var = pca.explained_variance_ratio_
    lda_s, lda_p = _lda_points(lda_script, lda_pos, x, pca)
    pr = probes["script"]
    _scatter(
        axes[0, 0],
        pc,
        s_grouped,
        [*top, "other"],
        f"(a) PCA by script (PC1 {var[0]:.1%}, PC2 {var[1]:.1%} of variance)",
    )
    if lda_s is not None:
        title = f"(b) LDA by script; probe {pr['accuracy']:.1%} vs majority {pr['majority_baseline']:.1%}"
        _scatter(axes[0, 1], lda_s, s_grouped, [*top, "other"], title)
    _scatter(axes[1, 0], pc[latin], p[latin], ["initial", "medial"], "(c) PCA, Latin tokens by position")
    if lda_p is not None:
        pp = probes["position_within_latin"]
        _scatter(
            axes[1, 1],
            lda_p[latin],
            p[latin],
            ["initial", "medial"],
            f"(d) LDA axis × PC1, Latin by position; probe {pp['accuracy']:.1%} "
            f"vs majority {pp['majority_baseline']:.1%}",
        )
    fig.suptitle(
        f"Base embeddings of {Path(model_dir).name}: {len(idx)} of {len(pieces)} tokens", fontsize=10
    )
    fig.tight_layout()
    save_figure(fig, out)
    with atomic_open(probes_out) as handle:
        handle.write("probe\tn_tokens\tn_classes\taccuracy\tmajority_baseline\n")
        for name, r in probes.items():
            handle.write(
                f"{name}\t{r['n_tokens']}\t{r['n_classes']}\t{r['accuracy']:.4f}\t{r['majority_baseline']:.4f}\n"
            )
    return probes


def save_figure(fig, out: str | Path) -> None:
    import matplotlib.pyplot as plt

    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=130, format=out.suffix.lstrip(".") or "png")
    plt.close(fig)


@dataclass(frozen=True)
class BaseView:
    """The base embedding space an initialised matrix is drawn in: PCA and script LDA fitted on a sample
    of base rows, the sample's points in both (grey background), and the scripts given their own colour."""

    pca: Any
    lda_script: Any
    top: list[str]
    base_pc: np.ndarray
    base_lda: np.ndarray | None


def _base_view(base_dir: str | Path, first_init: str | Path, max_points: int, seed: int) -> BaseView:
    emb, pieces = load_embeddings(base_dir)
    scripts, position = token_labels(pieces, _special_ids(base_dir))
    idx = _sample(len(pieces), max_points, seed, eligible=scripts != "special")
    x, s, p = emb[idx], scripts[idx], position[idx]
    new_scripts, _ = token_labels(load_embeddings(first_init)[1])
    top = _top(new_scripts, 5)
    pca, lda_script, _ = _fit_views(x, _group(s, top), p, np.isin(s, top[:1]))
    base_lda, _ = _lda_points(lda_script, None, x, pca)
    return BaseView(pca, lda_script, top, pca.transform(x), base_lda)


def _draw_init(column: Sequence[Any], init_dir: str | Path, method: str, view: BaseView) -> None:
    """One method's column: PCA by script, PCA by position, base-fitted LDA by script."""
    new, new_pieces = load_embeddings(init_dir)
    ns, npos = token_labels(new_pieces, _special_ids(init_dir))
    keep = ns != "special"
    new, ns, npos = new[keep], _group(ns[keep], view.top), npos[keep]
    pc = view.pca.transform(new)
    name, groups = method.upper(), [*view.top, "other"]
    _scatter(column[0], pc, ns, groups, f"{name}: PCA, by script", background=view.base_pc)
    _scatter(column[1], pc, npos, ["initial", "medial"], f"{name}: PCA, by position", background=view.base_pc)
    if view.lda_script is None:
        column[2].axis("off")
        return
    lda = view.lda_script.transform(new)[:, :2]
    _scatter(column[2], lda, ns, groups, f"{name}: base-fitted LDA, by script", background=view.base_lda)


def init_figure(
    base_dir: str | Path,
    init_dirs: Mapping[str, str | Path],
    out: str | Path,
    *,
    max_points: int = 20000,
    seed: int = 1,
) -> None:
    """Figures 2, 3, 5: each initialised matrix in the base PCA and LDA spaces, by script and position."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not init_dirs:
        raise VocabswapError("no initialised models to draw")
    methods = list(init_dirs)
    view = _base_view(base_dir, init_dirs[methods[0]], max_points, seed)
    fig, axes = plt.subplots(3, len(methods), figsize=(3.2 * len(methods), 9.5), squeeze=False)
    for col, method in enumerate(methods):
        _draw_init(axes[:, col], init_dirs[method], method, view)
    fig.suptitle(
        "Initialised embeddings in the base model's PCA / LDA space (grey: base embeddings)", fontsize=10
    )
    fig.tight_layout()
    save_figure(fig, out)


def flops_figure(
    results: Sequence[Mapping[str, Any]], out: str | Path, *, title: str = "", task: str = ""
) -> None:
    """Figure 4: mean score (over languages and seeds) against LAPT FLOPs, one point per regime × method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    baseline: list[float] = []
    for r in results:
        cell = r["cell"]
        if cell.get("target", OFF_THE_SHELF) == OFF_THE_SHELF:
            baseline.append(float(r["score"]))
            continue
        groups.setdefault((cell["regime"], cell["method"], str(cell.get("size", ""))), []).append(r)
    several_sizes = len({size for _, m, size in groups if m != FULL_VOCAB}) > 1
    fig, ax = plt.subplots(figsize=(7, 5))
    markers = {"full": "o", "emb": "s"}
    order = method_order(sorted({m for _, m, _ in groups if m != FULL_VOCAB}))
    cmap = plt.get_cmap("tab10")
    colors = {m: cmap(i % 10) for i, m in enumerate([*order, FULL_VOCAB])}
    for (regime, method, size), rs in sorted(groups.items()):
        flops = [r["lapt"]["flops"] for r in rs if "lapt" in r]
        if not flops:
            continue
        score = float(np.mean([r["score"] for r in rs]))
        paper = float(np.mean([f["paper"] for f in flops]))
        executed = float(np.mean([f["executed"] for f in flops]))
        label = f"LAPT-{regime.upper()} {'full vocabulary' if method == FULL_VOCAB else method.upper()}"
        label += f" v{size}" if several_sizes and method != FULL_VOCAB else ""
        ax.scatter([paper], [score], marker=markers.get(regime, "^"), color=colors[method], s=60, label=label)
        ax.scatter(
            [executed],
            [score],
            marker=markers.get(regime, "^"),
            facecolors="none",
            edgecolors=colors[method],
            s=60,
        )
    if baseline:
        ax.axhline(
            float(np.mean(baseline)), color="black", linestyle="--", linewidth=1, label="off-the-shelf"
        )
    ax.set_xscale("log")
    ax.set_xlabel("LAPT training FLOPs (filled: paper's all-positions accounting; hollow: as executed)")
    ax.set_ylabel(f"mean {task.upper() or 'score'} over languages and seeds")
    ax.set_title(title or "Score against LAPT FLOPs", fontsize=9)
    ax.legend(fontsize=6, loc="best", frameon=False)
    if not math.isfinite(ax.get_xlim()[0]):
        ax.set_xscale("linear")
    fig.tight_layout()
    save_figure(fig, out)


@dataclass
class SizeCurves:
    """What the score-vs-size figure draws: mean score per (regime, method) and size; the full-vocabulary
    and off-the-shelf means; mean LAPT FLOPs (paper accounting) per size and of the full-vocabulary run."""

    scores: dict[tuple[str, str], dict[int, float]] = field(default_factory=dict)
    full_vocab: dict[str, float] = field(default_factory=dict)
    off_the_shelf: float | None = None
    flops: dict[int, float] = field(default_factory=dict)
    full_vocab_flops: float | None = None


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values))


def size_curves(results: Sequence[Mapping[str, Any]]) -> SizeCurves:
    """Average `results` (over languages and seeds) into the curves of `vocab_size_figure`."""
    scores: dict[tuple[str, str], dict[int, list[float]]] = {}
    full: dict[str, list[float]] = {}
    base: list[float] = []
    flops: dict[int | str, list[float]] = {}
    for r in results:
        cell, score = r["cell"], float(r["score"])
        if cell.get("target", OFF_THE_SHELF) == OFF_THE_SHELF:
            base.append(score)
            continue
        size = cell.get("size", "")
        if "lapt" in r:
            flops.setdefault(FULL_VOCAB if cell["method"] == FULL_VOCAB else size, []).append(
                float(r["lapt"]["flops"]["paper"])
            )
        if cell["method"] == FULL_VOCAB:
            full.setdefault(cell["regime"], []).append(score)
        elif isinstance(size, int):
            scores.setdefault((cell["regime"], cell["method"]), {}).setdefault(size, []).append(score)
    full_flops = flops.pop(FULL_VOCAB, None)
    return SizeCurves(
        scores={k: {s: _mean(v) for s, v in sorted(by.items())} for k, by in scores.items()},
        full_vocab={k: _mean(v) for k, v in full.items()},
        off_the_shelf=_mean(base) if base else None,
        flops={int(s): _mean(v) for s, v in sorted(flops.items()) if isinstance(s, int)},
        full_vocab_flops=_mean(full_flops) if full_flops else None,
    )


def vocab_size_figure(
    results: Sequence[Mapping[str, Any]], out: str | Path, *, title: str = "", task: str = ""
) -> SizeCurves:
    """Score against vocabulary size: a line per regime × method, the full-vocabulary LAPT baseline (and
    the off-the-shelf model) as horizontal lines, LAPT FLOPs per size on a second y axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = size_curves(results)
    if not curves.scores:
        raise VocabswapError("no results with a vocabulary size to draw")
    fig, ax = plt.subplots(figsize=(7.5, 5))
    cmap = plt.get_cmap("tab10")
    methods = method_order(sorted({m for _, m in curves.scores}))
    styles = {"full": "-", "emb": "--"}
    for regime, method in sorted(curves.scores, key=lambda key: (key[0], methods.index(key[1]))):
        by_size = curves.scores[(regime, method)]
        color = cmap(methods.index(method) % 10)
        ax.plot(
            list(by_size),
            list(by_size.values()),
            styles.get(regime, ":"),
            marker="o",
            color=color,
            label=f"LAPT-{regime.upper()} {method.upper()}",
        )
    for regime, score in curves.full_vocab.items():
        ax.axhline(
            score,
            color="black",
            linestyle=styles.get(regime, ":"),
            linewidth=1.2,
            label=f"LAPT-{regime.upper()} full vocabulary",
        )
    if curves.off_the_shelf is not None:
        ax.axhline(curves.off_the_shelf, color="grey", linestyle=":", linewidth=1, label="off-the-shelf")
    _flops_axis(ax, curves)
    sizes = sorted({s for by in curves.scores.values() for s in by})
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.set_xlabel("vocabulary size (SentencePiece pieces)")
    ax.set_ylabel(f"mean {task.upper() or 'score'} over languages and seeds")
    ax.set_title(title or "Score against vocabulary size", fontsize=9)
    ax.legend(fontsize=6, loc="best", frameon=False)
    fig.tight_layout()
    save_figure(fig, out)
    return curves


def _flops_axis(ax, curves: SizeCurves) -> None:
    """LAPT FLOPs per size (and of the full-vocabulary run) on a second y axis, in grey."""
    if not curves.flops:
        return
    twin = ax.twinx()
    twin.plot(
        list(curves.flops),
        list(curves.flops.values()),
        color="grey",
        marker="x",
        linewidth=1,
        label="LAPT FLOPs",
    )
    if curves.full_vocab_flops is not None:
        twin.axhline(curves.full_vocab_flops, color="grey", linestyle="-.", linewidth=1)
    twin.set_ylabel("LAPT training FLOPs (paper accounting; grey)", color="grey")
    twin.tick_params(axis="y", colors="grey", labelsize=7)


def read_probes(path: str | Path) -> list[dict[str, Any]]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
