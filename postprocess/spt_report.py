#!/usr/bin/env python3
"""Report and figures for a `phenoscale spt` chain (the demo job).

Usage: /usr/bin/python3 postprocess/spt_report.py RUN_DIR

Reads, from RUN_DIR, the outputs of spt simulate / train / segment / baseline /
evaluate / fingerprint (default names: test_tracks.h5, model_member*.h5,
training_member*.csv, segments/, baseline/, evaluation.csv, changepoints.csv,
fingerprints/) and writes
  figures/example_tracks.png    test tracks coloured by true, U-Net and rolling-MSD state
  figures/confusion.png         per-frame confusion matrices (row-normalised), U-Net and rolling MSD
  figures/accuracy_by_length.png per-frame accuracy against track length, both methods
  figures/training.png          per-member validation accuracy per epoch
  figures/fingerprint_pca.png   fingerprints (length-independent columns, standardised) on 2 principal axes,
                                coloured by each track's majority true state
  report.md                     the scores (per-frame accuracy, macro-F1, changepoint error)
Every score is on the held-out test tracks, against their simulated truth.
Needs Debian's python3-h5py, python3-numpy and python3-matplotlib.
"""
import csv
import glob
import os
import sys

import h5py
import numpy as np

from report_common import DRAWN, atomic_write_text, plt, save, text

STATES = ["normal", "directed", "confined", "subdiffusive"]
LABELS = {"segments": "U-Net ensemble (segments/)", "baseline": "rolling MSD (baseline/)"}
COLOURS = np.array(["tab:blue", "tab:red", "tab:green", "tab:orange"])


def ragged(f, group):
    values, offsets = f[group + "/values"][()], f[group + "/offsets"][()]
    return [values[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def confusion(truth, predicted):
    m = np.zeros((4, 4))
    for t, p in zip(truth, predicted):
        np.add.at(m, (t.ravel(), p.ravel()), 1)
    return m


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def not_run(lines, what, why):
    lines += [f"{what}: not run ({why}).", ""]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run = sys.argv[1]
    path = lambda *name: os.path.join(run, *name)
    if not os.path.isfile(path("test_tracks.h5")):
        sys.exit(f"spt_report: {run}: no test_tracks.h5 (written by spt simulate); the report scores simulated test tracks")
    figs = os.path.join(run, "figures")
    os.makedirs(figs, exist_ok=True)
    with h5py.File(path("test_tracks.h5"), "r") as tracks_file:
        tracks = ragged(tracks_file, "/tracks")
        truth = ragged(tracks_file, "/states")
    methods = {"U-Net ensemble": path("segments", "segments.h5"), "rolling MSD": path("baseline", "segments.h5")}
    predicted = {}
    for name, p in methods.items():
        if os.path.exists(p):
            with h5py.File(p, "r") as f:
                predicted[name] = ragged(f, "/states")
    lines = ["# spt demo report", "",
             f"{len(tracks)} held-out simulated test tracks ({tracks[0].shape[1]}D), never seen in training; "
             "scores are per frame against the simulated truth.", ""]

    lines += ["## Per-frame segmentation (all test tracks)", ""]
    if os.path.exists(path("evaluation.csv")):
        lines += ["| method | accuracy | macro-F1 | F1 normal | F1 directed | F1 confined | F1 subdiffusive |",
                  "|---|---|---|---|---|---|---|"]
        for r in read_csv(path("evaluation.csv")):
            if r["subset"] == "all":
                f = lambda k: f"{float(r[k]):.3f}"
                lines.append(f"| {LABELS.get(r['method'], r['method'])} | {f('accuracy')} | {f('macro_f1')} | "
                             f"{f('f1_normal')} | {f('f1_directed')} | {f('f1_confined')} | {f('f1_subdiffusive')} |")
    else:
        not_run(lines, "Scores", "no evaluation.csv; written by spt evaluate")
    lines += ["", "## Changepoints of the two-segment test tracks", ""]
    if os.path.exists(path("changepoints.csv")):
        lines += ["| method | tracks | with a predicted changepoint | median error (frames) | mean error (frames) |",
                  "|---|---|---|---|---|"]
        for r in read_csv(path("changepoints.csv")):
            lines.append(f"| {LABELS.get(r['method'], r['method'])} | {int(float(r['two_segment_tracks']))} | "
                         f"{int(float(r['detected']))} | {float(r['median_error_frames']):.1f} | "
                         f"{float(r['mean_error_frames']):.1f} |")
    else:
        not_run(lines, "Changepoints", "no changepoints.csv; written by spt evaluate")

    # Example tracks: truth and each method's states.
    examples = [i for i in range(len(tracks)) if len(np.unique(truth[i])) > 1][:3]
    if examples:
        fig, ax = plt.subplots(len(examples), 1 + len(predicted),
                               figsize=(3.2 * (1 + len(predicted)), 3 * len(examples)), squeeze=False)
        for row, i in enumerate(examples):
            for col, (name, states) in enumerate([("truth", truth[i])] + [(n, p[i]) for n, p in predicted.items()]):
                a = ax[row][col]
                xy = tracks[i]
                a.plot(xy[:, 0], xy[:, 1], color="0.8", lw=0.5)
                a.scatter(xy[:, 0], xy[:, 1], c=COLOURS[states.ravel()], s=4)
                a.set_title(f"track {i}: {name}", fontsize=8); a.set_xticks([]); a.set_yticks([])
        handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=s) for c, s in zip(COLOURS, STATES)]
        fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8)
        save(fig, figs, "example_tracks.png")

    if predicted:
        fig, ax = plt.subplots(1, len(predicted), figsize=(4.2 * len(predicted), 3.8), squeeze=False)
        for a, (name, p) in zip(ax[0], predicted.items()):
            m = confusion(truth, p)
            a.imshow(m / np.maximum(m.sum(1, keepdims=True), 1), vmin=0, vmax=1, cmap="viridis")
            a.set_xticks(range(4), STATES, rotation=45, fontsize=7); a.set_yticks(range(4), STATES, fontsize=7)
            a.set_xlabel("predicted"); a.set_ylabel("true"); a.set_title(name, fontsize=9)
        save(fig, figs, "confusion.png")

        lengths = np.array([len(t) for t in truth])
        bins = np.unique(np.quantile(lengths, np.linspace(0, 1, 7)).astype(int))
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for name, p in predicted.items():
            acc = [np.mean(np.concatenate([(truth[i] == p[i]).ravel()
                                           for i in np.where((lengths >= lo) & (lengths <= hi))[0]]))
                   for lo, hi in zip(bins[:-1], bins[1:])]
            ax.plot((bins[:-1] + bins[1:]) / 2, acc, marker="o", label=name)
        ax.set_xlabel("track length (frames)"); ax.set_ylabel("per-frame accuracy"); ax.legend()
        save(fig, figs, "accuracy_by_length.png")
    else:
        not_run(lines, "Segmentations", "no segments/segments.h5 (spt segment) or baseline/segments.h5 (spt baseline)")

    members = sorted(glob.glob(path("training_member*.csv")))
    if members:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for member in members:
            r = read_csv(member)
            ax.plot([int(x["epoch"]) for x in r], [float(x["validation_accuracy"]) for x in r],
                    label=os.path.basename(member)[:-4])
        ax.set_xlabel("epoch"); ax.set_ylabel("validation frame accuracy"); ax.legend(fontsize=7)
        save(fig, figs, "training.png")

    fp_path = path("fingerprints", "fingerprints.h5")
    if os.path.exists(fp_path):
        with h5py.File(fp_path, "r") as fp:
            names = text(fp["/fingerprints"].attrs["columns"]).split(",")
            dependent = set(text(fp["/fingerprints"].attrs["length_dependent"]).split(","))
            x = fp["/fingerprints"][()][:, [i for i, n in enumerate(names) if n not in dependent]]
        x = x[:, np.all(np.isfinite(x), axis=0)]
        x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1)
        if len(x) == len(truth) and x.shape[1] >= 2:  # fingerprints of the test tracks (not of --input tracks)
            u, s, _ = np.linalg.svd(x - x.mean(0), full_matrices=False)
            majority = np.array([np.bincount(t.ravel(), minlength=4).argmax() for t in truth])
            fig, ax = plt.subplots(figsize=(4.5, 4))
            for k in range(4):
                m = majority == k
                ax.scatter(u[m, 0] * s[0], u[m, 1] * s[1], s=5, color=COLOURS[k], label=STATES[k])
            ax.set_xlabel("PC 1"); ax.set_ylabel("PC 2"); ax.legend(fontsize=7, markerscale=2)
            ax.set_title(f"fingerprints ({x.shape[1]} length-independent columns)", fontsize=9)
            save(fig, figs, "fingerprint_pca.png")
        lines += ["", f"Fingerprints: {len(names)} columns per track ({len(dependent)} length-dependent) in "
                  "fingerprints/fingerprints.csv; per segment in fingerprints/segment_fingerprints.csv."]

    lines += ["", "Figures: " + (", ".join(f"figures/{n}" for n in DRAWN) if DRAWN else "none"), ""]
    atomic_write_text(path("report.md"), "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
