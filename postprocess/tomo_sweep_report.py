#!/usr/bin/env python3
"""Report of a leave-one-class-out sweep (`phenoscale tomo sweep` +
`sweep-report`; the paper's Table 3).

Usage: /usr/bin/python3 postprocess/tomo_sweep_report.py RUN_DIR [SWEEP_DIR]

Reads RUN_DIR/sweep.csv and, for each class,
RUN_DIR/SWEEP_DIR/class-<row>/recover.h5 (SWEEP_DIR defaults to "sweep";
SWEEP_DIR/repeat-<r>/class-<row>/ when the sweep has sweep.repeats > 1),
and writes
  figures/sweep_averages.png   central slices: recovered average vs true map, per class
  figures/sweep_fsc.png        FSC of each recovered average against its true map
  sweep_report.md              Table-3-like table: discrepancy (nm), recovered or not
Needs Debian's python3-h5py, python3-numpy and python3-matplotlib.
"""
import csv
import os
import sys

import h5py
import numpy as np

from report_common import atomic_savefig, atomic_write_text, plt


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    run = sys.argv[1]
    sweep_dir = sys.argv[2] if len(sys.argv) == 3 else "sweep"
    figs = os.path.join(run, "figures")
    os.makedirs(figs, exist_ok=True)
    with open(os.path.join(run, "sweep.csv")) as f:
        rows = list(csv.DictReader(f))
    recovered = sum(r["recovered"] == "yes" for r in rows)
    # sweep.csv before sweep.repeats has no repeat column: one repeat.
    repeats = 1 + max(int(r.get("repeat", 0)) for r in rows)
    success = None
    lines = ["# Leave-one-class-out structure recovery", "",
             "Evaluation protocol (Xu et al. 2017): the cluster most enriched in each left-out class and, "
             "after reference-free classification, the class richest in it (C_pred) are chosen with the "
             "simulated labels; alignment, classification and averaging use none.", "",
             "| left-out class | cluster size | share of class in cluster | C_pred size | share in C_pred "
             "| discrepancy (nm) | first shell below 0.5 (nm) | half-set FSC-0.143 (nm) | recovered "
             "| nearest other class (nm) |", "|---|---|---|---|---|---|---|---|---|---|"]
    definition = "first-below"
    fig_a, ax_a = plt.subplots(2, len(rows), figsize=(1.8 * len(rows), 3.8), squeeze=False)
    fig_f, ax_f = plt.subplots(figsize=(5.5, 3.5))
    for j, r in enumerate(rows):
        repeat_dir = f"repeat-{r['repeat']}" if repeats > 1 else ""
        rec = h5py.File(os.path.join(run, sweep_dir, repeat_dir, f"class-{r['class_row']}", "recover.h5"), "r")
        success = float(rec.attrs["success_nm"])
        # recover.h5 files written before the standard definitions carry neither figure.
        definition = rec.attrs.get("fsc_definition", "first-below")
        definition = definition.decode() if isinstance(definition, bytes) else str(definition)
        first_below = rec.attrs.get("discrepancy_first_below_nm")
        gold = rec.attrs.get("half_set_fsc_resolution_nm")
        fmt = lambda v: "-" if v is None else f"{float(v):.2f}"
        label = f"{r['class_name']} (repeat {r['repeat']})" if repeats > 1 else r["class_name"]
        lines.append(f"| {label} | {r['cluster_size']} | {float(r['cluster_fraction']):.2f} "
                     f"| {r['predicted_class_size']} | {float(r['predicted_class_fraction']):.2f} "
                     f"| {float(r['discrepancy_nm']):.2f} | {fmt(first_below)} | {fmt(gold)} | {r['recovered']} "
                     f"| {r['nearest_other_class']} ({float(r['nearest_other_class_nm']):.2f}) |")
        avg = rec["/average"][()].reshape(rec["/average"].shape[-3:])
        truth = rec["/truth_in_average_frame"][()].reshape(avg.shape)
        n = avg.shape[0]
        ax_a[0, j].imshow(avg[n // 2], cmap="gray"); ax_a[0, j].set_title(r["class_name"], fontsize=7)
        ax_a[1, j].imshow(truth[n // 2], cmap="gray")
        for a in ax_a[:, j]: a.axis("off")
        ax_f.plot(rec["/fsc_frequency_per_nm"][()].ravel(), rec["/fsc"][()].ravel(), label=r["class_name"])
    ax_a[0, 0].text(-0.3, 0.5, "recovered", transform=ax_a[0, 0].transAxes, ha="right", va="center", fontsize=7)
    ax_a[1, 0].text(-0.3, 0.5, "true map\n(aligned)", transform=ax_a[1, 0].transAxes, ha="right", va="center", fontsize=7)
    atomic_savefig(fig_a, os.path.join(figs, "sweep_averages.png"))
    ax_f.axhline(0.5, ls="--", c="gray"); ax_f.set_xlabel("spatial frequency (1/nm)"); ax_f.set_ylabel("FSC")
    ax_f.legend(fontsize=6); atomic_savefig(fig_f, os.path.join(figs, "sweep_fsc.png"))
    if repeats > 1:
        counts = [sum(r["recovered"] == "yes" for r in rows if int(r["repeat"]) == q) for q in range(repeats)]
        classes = len(rows) // repeats
        lines += ["", f"Over {repeats} repeats (seeds run.seed + r): **{min(counts)}..{max(counts)}/{classes}** "
                  f"recovered per repeat ({', '.join(map(str, counts))}); per class recovery rate: "
                  + ", ".join(f"{r['class_name']} {float(r['class_recovery_rate']):.2f}" for r in rows[:classes])]
    what = "left-out classes" if repeats == 1 else "(repeat, left-out class) tasks"
    lines += ["", f"**{recovered}/{len(rows)}** {what} recovered (FSC-0.5 discrepancy, {definition} "
              f"crossing, < {success} nm; "
              "the paper: 16/22 with Inception3D, 18/22 with DSRF3D).",
              "", "Figures: figures/sweep_averages.png (recovered average above the true map aligned to it), "
              "figures/sweep_fsc.png", ""]
    atomic_write_text(os.path.join(run, "sweep_report.md"), "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
