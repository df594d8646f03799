#!/usr/bin/env python3
"""Report and figures for a `phenoscale tomo` chain (the demo job).

Usage: /usr/bin/python3 postprocess/tomo_report.py RUN_DIR

Reads, from RUN_DIR, the outputs of tomo structures / simulate / train /
extract / subdivide and the final map (default file names): recover.h5 (the
demo: reference-free alignment and classification of the k-means cluster
most enriched in the target class) or, without it, average.h5; writes
  figures/confusion.png        confusion matrix of the CNN on all subtomograms
  figures/training.png         loss and accuracy per epoch
  figures/cluster_sizes.png    k-means cluster-size histogram in feature space
  figures/average_slices.png   central slices: class map (posed onto the
                               average's frame) vs the reference-free average
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
    # The report reads the whole demo chain: name every missing output and the stage that writes it.
    needed = [("structures.h5", "tomo structures"), ("subtomograms.h5", "tomo simulate"), ("model.h5", "tomo train"),
              ("training.csv", "tomo train"), ("predictions.h5", "tomo extract"), ("subdivide.h5", "tomo subdivide")]
    missing = [f"{name} ({stage})" for name, stage in needed if not os.path.exists(path(name))]
    if not (os.path.exists(path("recover.h5")) or os.path.exists(path("average.h5"))):
        missing.append("recover.h5 or average.h5 (tomo recover or tomo average)")
    if missing:
        sys.exit(f"tomo_report: {run}: missing {', '.join(missing)}; the report needs the demo chain "
                 "(structures, simulate, train, extract, subdivide, then recover or average)")
    structures = h5py.File(path("structures.h5"), "r")
    names = text(structures["/maps"].attrs["class_names"]).replace(",", "\n").split("\n")
    names = [n.strip() for n in names if n.strip()]
    model = h5py.File(path("model.h5"), "r")
    pred = h5py.File(path("predictions.h5"), "r")
    sub = h5py.File(path("subdivide.h5"), "r")
    final = "recover.h5" if os.path.exists(path("recover.h5")) else "average.h5"
    avg = h5py.File(path(final), "r")
    lines = ["# tomo demo report", ""]
    # Headline: what the final map is (its own headline says whether an
    # oracle was used) and its resolutions by the standard definitions
    # (interpolated 0.5 crossing against the true map; gold-standard 0.143
    # crossing between independently aligned and averaged half sets).
    res = float(avg.attrs["discrepancy_nm"] if "discrepancy_nm" in avg.attrs else avg.attrs["fsc_resolution_nm"])
    definition = text(avg.attrs.get("fsc_definition", "first-below"))
    gold = avg.attrs.get("half_set_fsc_resolution_nm")
    purity = float(avg.attrs["cluster_fraction"] if "cluster_fraction" in avg.attrs else avg.attrs.get("purity", float("nan")))
    headline = (f"**{text(avg.attrs.get('headline', 'class average'))}: FSC-0.5 ({definition}) against the true map "
                f"{res:.2f} nm")
    if gold is not None:
        headline += f"; gold-standard half-set FSC-0.143 {float(gold):.2f} nm"
    headline += f"; cluster purity {100 * purity:.0f}%**"
    lines += [headline, ""]

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
    # Reference-free maps live in their own frame: the true map is posed onto it to compare.
    truth_map = (avg["/truth_in_average_frame"][()].reshape(average.shape) if "/truth_in_average_frame" in avg
                 else structures["/maps"][row])
    cls = names[row] if row < len(names) else str(row)
    lines += ["", f"## Final map ({final})", "",
              f"- FSC-0.5 against the true map of {cls} ({definition} crossing): **{res:.2f} nm**"]
    if "discrepancy_first_below_nm" in avg.attrs or "fsc_resolution_first_below_nm" in avg.attrs:
        first = avg.attrs.get("discrepancy_first_below_nm", avg.attrs.get("fsc_resolution_first_below_nm"))
        lines.append(f"- first shell below 0.5 (the paper's reading): {float(first):.2f} nm")
    if gold is not None:
        lines.append(f"- gold-standard half-set FSC-0.143 ({int(avg.attrs['half_set_1_size'])} + "
                     f"{int(avg.attrs['half_set_2_size'])} subtomograms): **{float(gold):.2f} nm**")
    if "cluster" in avg.attrs:
        lines.append(f"- k-means cluster {int(avg.attrs['cluster'])}: {int(avg.attrs['cluster_size'])} subtomograms, "
                     f"{100 * purity:.0f}% {cls} (chosen as the cluster most enriched in {cls}: the evaluation protocol)")
    elif "purity" in avg.attrs:
        lines.append(f"- members: {100 * purity:.0f}% {cls}")
    if "predicted_class" in avg.attrs:
        lines.append(f"- reference-free classification into {len(avg['/class_sizes'][()].ravel())} classes: class "
                     f"{int(avg.attrs['predicted_class'])} ({int(avg.attrs['predicted_class_size'])} subtomograms, "
                     f"{100 * float(avg.attrs['predicted_class_fraction']):.0f}% {cls}) is the final map; "
                     f"recovered (< {float(avg.attrs['success_nm']):g} nm and closer to its own map than to any other): "
                     f"{'yes' if int(avg.attrs['recovered']) else 'no'}")
    if "ctf_correction" in avg.attrs:
        ctf_line = f"- CTF correction: {text(avg.attrs['ctf_correction'])}"
        if "fsc_mean_beyond_first_ctf_zero" in avg.attrs:
            ctf_line += (f"; mean FSC against the true map past the first CTF zero "
                         f"({float(avg.attrs['ctf_first_zero_per_nm']):.3f}/nm): "
                         f"{float(avg.attrs['fsc_mean_beyond_first_ctf_zero']):+.3f}")
        lines.append(ctf_line)
    n = average.shape[0]
    fig, ax = plt.subplots(1, 2, figsize=(6, 3))
    ax = np.atleast_1d(ax)
    lines.append(f"- alignment: {text(avg.attrs['alignment'])}")
    ax[0].imshow(average[n // 2], cmap="gray"); ax[0].set_title("average, central slice")
    ax[1].imshow(truth_map[n // 2], cmap="gray"); ax[1].set_title("true map, central slice")
    for a in ax: a.axis("off")
    atomic_savefig(fig, os.path.join(figs, "average_slices.png"))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    freq = avg["/fsc_frequency_per_nm"][()].ravel()
    ax.plot(freq, avg["/fsc"][()].ravel(), label="average vs true map"); ax.axhline(0.5, ls="--", c="gray")
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
