#!/usr/bin/env python3
"""Report and figures for a `phenoscale tomo` chain (the demo job).

Usage: /usr/bin/python3 postprocess/tomo_report.py RUN_DIR

Reads, from RUN_DIR, the outputs of tomo structures / simulate / train /
extract / subdivide and the final map (default file names): recover.h5 (the
demo: reference-free alignment and classification of the k-means cluster
most enriched in the target class) or, without it, average.h5. A chain that
stopped early gets the sections its outputs allow; each other section says
which output is missing and which stage writes it. Writes
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
Exits with one line when RUN_DIR holds none of these outputs.
Needs Debian's python3-h5py, python3-numpy and python3-matplotlib.
"""
import csv
import os
import sys

import h5py
import numpy as np

from report_common import DRAWN, atomic_write_text, plt, save, text


def scatter_by_class(xy, truth, names, classes, title, figs, name):
    fig, ax = plt.subplots(figsize=(4.5, 4))
    for i in range(classes):
        m = truth == i
        ax.scatter(xy[m, 0], xy[m, 1], s=6, label=names[i] if i < len(names) else str(i))
    ax.legend(fontsize=6, markerscale=2); ax.set_title(title)
    save(fig, figs, name)


# Every output the report reads, with the stage that writes it.
STAGES = {"structures.h5": "tomo structures", "subtomograms.h5": "tomo simulate", "model.h5": "tomo train",
          "training.csv": "tomo train", "predictions.h5": "tomo extract", "subdivide.h5": "tomo subdivide",
          "recover.h5": "tomo recover", "average.h5": "tomo average"}


def not_run(lines, title, have, *names):
    """A section whose inputs are not all there: its heading and, for each missing one, the stage that writes it."""
    missing = [n for n in names if n not in have]
    lines += ["", f"## {title}", "",
              "Not run: no " + ", no ".join(f"{n} ({STAGES[n]})" for n in missing) + " in the run directory."]


def headline(avg, final):
    """The final map's headline (its own says whether an oracle was used) and its resolutions by the standard
    definitions: interpolated 0.5 crossing against the true map; gold-standard 0.143 crossing between
    independently aligned and averaged half sets."""
    res = float(avg.attrs["discrepancy_nm"] if "discrepancy_nm" in avg.attrs else avg.attrs["fsc_resolution_nm"])
    definition = text(avg.attrs.get("fsc_definition", "first-below"))
    gold = avg.attrs.get("half_set_fsc_resolution_nm")
    purity = float(avg.attrs["cluster_fraction"] if "cluster_fraction" in avg.attrs else avg.attrs.get("purity", float("nan")))
    line = (f"**{text(avg.attrs.get('headline', 'class average'))}: FSC-0.5 ({definition}) against the true map "
            f"{res:.2f} nm")
    if gold is not None:
        line += f"; gold-standard half-set FSC-0.143 {float(gold):.2f} nm"
    line += f"; cluster purity {100 * purity:.0f}%**" if np.isfinite(purity) else "**"
    return line, res, definition, gold, purity


def classification_section(model, pred, names, figs, lines):
    confusion = pred["/confusion"][()]
    c = confusion.shape[0]
    total_acc = np.trace(confusion) / confusion.sum()
    per_class = np.diag(confusion) / np.maximum(confusion.sum(1), 1)
    arch = text(model.attrs["architecture"])
    test_acc = model.attrs.get("test_accuracy", float("nan"))
    lines += ["", f"## Classification ({arch}, {c} classes, chance {1.0 / c:.3f})", "",
              f"- held-out test accuracy (seeded split, never trained on): **{test_acc:.3f}**",
              f"- accuracy over all {int(confusion.sum())} subtomograms (train + test): {total_acc:.3f}", "",
              "Per-class accuracy over all subtomograms (train + test rows, not a held-out figure):", "",
              "| class | name | accuracy (train + test) |", "|---|---|---|"]
    for i in range(c):
        lines.append(f"| {i} | {names[i] if i < len(names) else '?'} | {per_class[i]:.3f} |")
    fig, ax = plt.subplots(figsize=(4 + 0.3 * c, 3.5 + 0.3 * c))
    im = ax.imshow(confusion / np.maximum(confusion.sum(1, keepdims=True), 1), cmap="viridis", vmin=0, vmax=1)
    ax.set_xlabel("predicted class"); ax.set_ylabel("true class"); ax.set_title(f"{arch} confusion (row-normalised)")
    fig.colorbar(im); save(fig, figs, "confusion.png")


def training_section(path, figs, lines):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        lines += ["", "Training: training.csv has no epochs."]
        return
    ep = [int(r["epoch"]) for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    ax[0].plot(ep, [float(r["train_loss"]) for r in rows], label="train")
    ax[0].plot(ep, [float(r["validation_loss"]) for r in rows], label="validation")
    ax[0].set_xlabel("epoch"); ax[0].set_ylabel("cross-entropy"); ax[0].legend()
    ax[1].plot(ep, [float(r["train_accuracy"]) for r in rows], label="train")
    ax[1].plot(ep, [float(r["validation_accuracy"]) for r in rows], label="validation")
    ax[1].set_xlabel("epoch"); ax[1].set_ylabel("accuracy"); ax[1].legend()
    save(fig, figs, "training.png")
    lines += ["", f"Training: {len(rows)} epochs, {rows[-1]['step']} steps, "
              f"{float(rows[-1]['samples_per_s']):.1f} samples/s in the last epoch."]


def subdivision_section(sub, pred, names, figs, lines):
    sizes = sub["/cluster_sizes"][()]
    counts = sub["/class_counts"][()]
    best = sub["/most_enriched_cluster"][()]
    frac = sub["/most_enriched_fraction"][()]
    space = f"the {pred['/features'].shape[1]}-d feature space" if pred is not None else "feature space"
    lines += ["", f"## Subdivision (k-means, k = {len(sizes)}, in {space})", "",
              f"- clusters with ≤ 10 members: {int(sub.attrs['clusters_with_at_most_10_members'])} of {len(sizes)}",
              "", "| class | most enriched cluster | its purity | share of the class in it |", "|---|---|---|---|"]
    for i in range(len(best)):
        j = int(best[i])
        share = counts[j, i] / max(counts[:, i].sum(), 1) if j >= 0 else 0
        lines.append(f"| {names[i] if i < len(names) else i} | {j} | {frac[i]:.2f} | {share:.2f} |")
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.hist(sizes, bins=20); ax.set_xlabel("cluster size"); ax.set_ylabel("clusters")
    save(fig, figs, "cluster_sizes.png")


def features_section(pred, truth, names, figs, lines):
    feats = pred["/features"][()]
    classes = int(truth.max()) + 1
    centred = feats - feats.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    scatter_by_class(xy, truth, names, classes, "structural features, 2 principal axes", figs, "features_pca.png")
    try:
        from sklearn.manifold import TSNE
        emb = TSNE(n_components=2, perplexity=min(30.0, max(5.0, len(feats) / 10)), init="pca",
                   random_state=0).fit_transform(feats)
        scatter_by_class(emb, truth, names, classes, "structural features, t-SNE", figs, "features_tsne.png")
    except ImportError:
        lines.append("(t-SNE figure skipped: python3-sklearn not installed)")


def final_map_section(avg, final, structures, names, summary, figs, lines):
    _, res, definition, gold, purity = summary
    row = int(avg.attrs["class_row"])
    average = avg["/average"][()].reshape(avg["/average"].shape[-3:])
    # Reference-free maps live in their own frame: the true map is posed onto it to compare.
    truth_map = (avg["/truth_in_average_frame"][()].reshape(average.shape) if "/truth_in_average_frame" in avg
                 else structures["/maps"][row] if structures is not None else None)
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
            below = (f"{float(avg.attrs['fsc_mean_below_first_ctf_zero']):+.3f} below, "
                     if "fsc_mean_below_first_ctf_zero" in avg.attrs else "")
            ctf_line += (f"; mean FSC against the true map {below}"
                         f"{float(avg.attrs['fsc_mean_beyond_first_ctf_zero']):+.3f} past the first CTF zero "
                         f"({float(avg.attrs['ctf_first_zero_per_nm']):.3f}/nm)")
        lines.append(ctf_line)
    lines.append(f"- alignment: {text(avg.attrs['alignment'])}")
    n = average.shape[0]
    panels = 1 if truth_map is None else 2
    fig, ax = plt.subplots(1, panels, figsize=(3 * panels, 3))
    ax = np.atleast_1d(ax)
    ax[0].imshow(average[n // 2], cmap="gray"); ax[0].set_title("average, central slice")
    if truth_map is not None:
        ax[1].imshow(truth_map[n // 2], cmap="gray"); ax[1].set_title("true map, central slice")
    for a in ax: a.axis("off")
    save(fig, figs, "average_slices.png")
    fig, ax = plt.subplots(figsize=(5, 3.2))
    freq = avg["/fsc_frequency_per_nm"][()].ravel()
    ax.plot(freq, avg["/fsc"][()].ravel(), label="average vs true map"); ax.axhline(0.5, ls="--", c="gray")
    title = f"FSC-0.5 at {res:.2f} nm"
    if "/half_set_fsc" in avg:
        ax.plot(freq, avg["/half_set_fsc"][()].ravel(), label="half set vs half set"); ax.axhline(0.143, ls=":", c="gray")
        title += f", half-set FSC-0.143 at {float(gold):.2f} nm"
        ax.legend(fontsize=7)
    ax.set_xlabel("spatial frequency (1/nm)"); ax.set_ylabel("FSC"); ax.set_title(title, fontsize=9)
    save(fig, figs, "fsc.png")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run = sys.argv[1]
    path = lambda name: os.path.join(run, name)
    have = {name for name in STAGES if os.path.exists(path(name))}
    if not have:
        sys.exit(f"tomo_report: {run}: no tomo output found (expected some of "
                 f"{', '.join(STAGES)}, written by the tomo stages); is this a tomo run directory?")
    figs = os.path.join(run, "figures")
    os.makedirs(figs, exist_ok=True)
    h5 = lambda name: h5py.File(path(name), "r") if name in have else None
    structures, model, pred, sub = h5("structures.h5"), h5("model.h5"), h5("predictions.h5"), h5("subdivide.h5")
    final = "recover.h5" if "recover.h5" in have else "average.h5" if "average.h5" in have else None
    avg = h5(final) if final else None
    names = []
    if structures is not None:
        # One name per line (file paths may hold commas); files written
        # before 2026-12-07 joined them with commas.
        joined = text(structures["/maps"].attrs["class_names"])
        multi = "\n" in joined or structures["/maps"].shape[0] == 1
        names = joined.split("\n") if multi else joined.split(",")
    lines = ["# tomo demo report", ""]
    summary = headline(avg, final) if avg is not None else None
    lines.append(summary[0] if summary else "**No final map: tomo recover and tomo average did not run.**")
    finals = {"recover.h5", "average.h5"} if final else set()
    ran = {STAGES[n] for n in have}
    skipped = [STAGES[n] for n in STAGES if STAGES[n] not in ran and n not in finals]  # in chain order
    if skipped:
        lines += ["", f"Stages that did not run here (their sections say so): {', '.join(dict.fromkeys(skipped))}."]

    if model is not None and pred is not None:
        classification_section(model, pred, names, figs, lines)
    else:
        not_run(lines, "Classification", have, "model.h5", "predictions.h5")
    if "training.csv" in have:
        training_section(path("training.csv"), figs, lines)
    else:
        not_run(lines, "Training", have, "training.csv")
    if sub is not None:
        subdivision_section(sub, pred, names, figs, lines)
    else:
        not_run(lines, "Subdivision", have, "subdivide.h5")
    if pred is not None and "subtomograms.h5" in have:
        features_section(pred, h5("subtomograms.h5")["/class_rows"][()], names, figs, lines)
    else:
        not_run(lines, "Structural features", have, "predictions.h5", "subtomograms.h5")
    if avg is not None:
        final_map_section(avg, final, structures, names, summary, figs, lines)
    else:
        not_run(lines, "Final map", have, "recover.h5", "average.h5")

    lines += ["", "Figures: " + (", ".join(sorted(DRAWN)) if DRAWN else "none"), ""]
    atomic_write_text(path("report.md"), "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
