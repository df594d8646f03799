#!/usr/bin/env python3
"""Report and figures for a `phenoscale tomo` chain (the demo job).

Usage: /usr/bin/python3 postprocess/tomo_report.py RUN_DIR

Reads, from RUN_DIR, the outputs of tomo structures / simulate / train /
extract / subdivide / average (default file names) and writes
  figures/confusion.png        confusion matrix of the CNN on all subtomograms
  figures/training.png         loss and accuracy per epoch
  figures/cluster_sizes.png    k-means cluster-size histogram in feature space
  figures/average_slices.png   central slices: class map vs subtomogram average
  figures/fsc.png              FSC of the average against the class map, and the
                               gold-standard half-set FSC (0.5 and 0.143 lines)
  figures/features_pca.png     structural features projected on 2 principal axes
  figures/features_tsne.png    t-SNE of the structural features (python3-sklearn)
  report.md                    the figures' numbers, with chance level
Needs Debian's python3-h5py, python3-numpy and python3-matplotlib.
"""
import csv
import os
import sys

import h5py
import numpy as np

from report_common import atomic_savefig, atomic_write_text, plt, text


def scatter_by_class(xy, truth, names, classes, title, path):
    fig, ax = plt.subplots(figsize=(4.5, 4))
    for i in range(classes):
        m = truth == i
        ax.scatter(xy[m, 0], xy[m, 1], s=6, label=names[i] if i < len(names) else str(i))
    ax.legend(fontsize=6, markerscale=2); ax.set_title(title)
    atomic_savefig(fig, path)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run = sys.argv[1]
    figs = os.path.join(run, "figures")
    os.makedirs(figs, exist_ok=True)
    path = lambda name: os.path.join(run, name)
    structures = h5py.File(path("structures.h5"), "r")
    names = text(structures["/maps"].attrs["class_names"]).replace(",", "\n").split("\n")
    names = [n.strip() for n in names if n.strip()]
    model = h5py.File(path("model.h5"), "r")
    pred = h5py.File(path("predictions.h5"), "r")
    sub = h5py.File(path("subdivide.h5"), "r")
    avg = h5py.File(path("average.h5"), "r")
    lines = ["# tomo demo report", ""]
    # Headline: the class average's resolutions by the standard definitions
    # (interpolated 0.5 crossing against the class map; gold-standard 0.143
    # crossing between independently averaged half sets).
    res = float(avg.attrs["fsc_resolution_nm"])
    definition = text(avg.attrs.get("fsc_definition", "first-below"))
    gold = avg.attrs.get("half_set_fsc_resolution_nm")
    headline = f"**Class average: FSC-0.5 ({definition}) against the class map {res:.2f} nm"
    if gold is not None:
        headline += f"; gold-standard half-set FSC-0.143 {float(gold):.2f} nm"
    lines += [headline + "**", ""]

    confusion = pred["/confusion"][()]
    c = confusion.shape[0]
    total_acc = np.trace(confusion) / confusion.sum()
    per_class = np.diag(confusion) / np.maximum(confusion.sum(1), 1)
    arch = text(model.attrs["architecture"])
    test_acc = model.attrs.get("test_accuracy", float("nan"))
    lines += [f"## Classification ({arch}, {c} classes, chance {1.0 / c:.3f})", "",
              f"- held-out test accuracy (seeded split, never trained on): **{test_acc:.3f}**",
              f"- accuracy over all {int(confusion.sum())} subtomograms (train + test): {total_acc:.3f}", "",
              "Per-class accuracy over all subtomograms (train + test rows, not a held-out figure):", "",
              "| class | name | accuracy (train + test) |", "|---|---|---|"]
    for i in range(c):
        lines.append(f"| {i} | {names[i] if i < len(names) else '?'} | {per_class[i]:.3f} |")
    fig, ax = plt.subplots(figsize=(4 + 0.3 * c, 3.5 + 0.3 * c))
    im = ax.imshow(confusion / np.maximum(confusion.sum(1, keepdims=True), 1), cmap="viridis", vmin=0, vmax=1)
    ax.set_xlabel("predicted class"); ax.set_ylabel("true class"); ax.set_title(f"{arch} confusion (row-normalised)")
    fig.colorbar(im); atomic_savefig(fig, os.path.join(figs, "confusion.png"))

    with open(path("training.csv")) as f:
        rows = list(csv.DictReader(f))
    if rows:
        ep = [int(r["epoch"]) for r in rows]
        fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
        ax[0].plot(ep, [float(r["train_loss"]) for r in rows], label="train")
        ax[0].plot(ep, [float(r["validation_loss"]) for r in rows], label="validation")
        ax[0].set_xlabel("epoch"); ax[0].set_ylabel("cross-entropy"); ax[0].legend()
        ax[1].plot(ep, [float(r["train_accuracy"]) for r in rows], label="train")
        ax[1].plot(ep, [float(r["validation_accuracy"]) for r in rows], label="validation")
        ax[1].set_xlabel("epoch"); ax[1].set_ylabel("accuracy"); ax[1].legend()
        atomic_savefig(fig, os.path.join(figs, "training.png"))
        lines += ["", f"Training: {len(rows)} epochs, {rows[-1]['step']} steps, "
                  f"{float(rows[-1]['samples_per_s']):.1f} samples/s in the last epoch."]

    sizes = sub["/cluster_sizes"][()]
    counts = sub["/class_counts"][()]
    best = sub["/most_enriched_cluster"][()]
    frac = sub["/most_enriched_fraction"][()]
    lines += ["", f"## Subdivision (k-means, k = {len(sizes)}, in the {pred['/features'].shape[1]}-d feature space)", "",
              f"- clusters with ≤ 10 members: {int(sub.attrs['clusters_with_at_most_10_members'])} of {len(sizes)}",
              "", "| class | most enriched cluster | its purity | share of the class in it |", "|---|---|---|---|"]
    for i in range(len(best)):
        j = int(best[i])
        share = counts[j, i] / max(counts[:, i].sum(), 1) if j >= 0 else 0
        lines.append(f"| {names[i] if i < len(names) else i} | {j} | {frac[i]:.2f} | {share:.2f} |")
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.hist(sizes, bins=20); ax.set_xlabel("cluster size"); ax.set_ylabel("clusters")
    atomic_savefig(fig, os.path.join(figs, "cluster_sizes.png"))

    feats = pred["/features"][()]
    truth = h5py.File(path("subtomograms.h5"), "r")["/class_rows"][()]
    centred = feats - feats.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    scatter_by_class(xy, truth, names, c, "structural features, 2 principal axes", os.path.join(figs, "features_pca.png"))
    try:
        from sklearn.manifold import TSNE
        emb = TSNE(n_components=2, perplexity=min(30.0, max(5.0, len(feats) / 10)), init="pca",
                   random_state=0).fit_transform(feats)
        scatter_by_class(emb, truth, names, c, "structural features, t-SNE", os.path.join(figs, "features_tsne.png"))
    except ImportError:
        lines.append("(t-SNE figure skipped: python3-sklearn not installed)")

    row = int(avg.attrs["class_row"])
    average = avg["/average"][()].reshape(avg["/average"].shape[-3:])
    truth_map = structures["/maps"][row]
    lines += ["", "## Subtomogram average", "",
              f"- FSC-0.5 resolution against the class map ({definition} crossing): **{res:.2f} nm**"]
    if "fsc_resolution_first_below_nm" in avg.attrs:
        lines.append(f"- first shell below 0.5 (the paper's reading): {float(avg.attrs['fsc_resolution_first_below_nm']):.2f} nm")
    if gold is not None:
        lines.append(f"- gold-standard half-set FSC-0.143 ({int(avg.attrs['half_set_1_size'])} + "
                     f"{int(avg.attrs['half_set_2_size'])} subtomograms): **{float(gold):.2f} nm**")
    if "ctf_correction" in avg.attrs:
        ctf_line = f"- CTF correction: {text(avg.attrs['ctf_correction'])}"
        if "fsc_mean_beyond_first_ctf_zero" in avg.attrs:
            ctf_line += (f"; mean FSC against the class map past the first CTF zero "
                         f"({float(avg.attrs['ctf_first_zero_per_nm']):.3f}/nm): "
                         f"{float(avg.attrs['fsc_mean_beyond_first_ctf_zero']):+.3f}")
        lines.append(ctf_line)
    n = average.shape[0]
    fig, ax = plt.subplots(1, 2, figsize=(6, 3))
    ax = np.atleast_1d(ax)
    lines.append(f"- class {names[row] if row < len(names) else row}, "
                 f"{int(avg.attrs['subtomograms_averaged'])} subtomograms, alignment: {text(avg.attrs['alignment'])}")
    ax[0].imshow(average[n // 2], cmap="gray"); ax[0].set_title("average, central slice")
    ax[1].imshow(truth_map[n // 2], cmap="gray"); ax[1].set_title("class map, central slice")
    for a in ax: a.axis("off")
    atomic_savefig(fig, os.path.join(figs, "average_slices.png"))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    freq = avg["/fsc_frequency_per_nm"][()].ravel()
    ax.plot(freq, avg["/fsc"][()].ravel(), label="average vs class map"); ax.axhline(0.5, ls="--", c="gray")
    title = f"FSC-0.5 at {res:.2f} nm"
    if "/half_set_fsc" in avg:
        ax.plot(freq, avg["/half_set_fsc"][()].ravel(), label="half set vs half set"); ax.axhline(0.143, ls=":", c="gray")
        title += f", half-set FSC-0.143 at {float(gold):.2f} nm"
        ax.legend(fontsize=7)
    ax.set_xlabel("spatial frequency (1/nm)"); ax.set_ylabel("FSC"); ax.set_title(title, fontsize=9)
    atomic_savefig(fig, os.path.join(figs, "fsc.png"))

    lines += ["", "Figures: " + ", ".join(sorted(f for f in os.listdir(figs) if f.endswith(".png"))), ""]
    atomic_write_text(path("report.md"), "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
