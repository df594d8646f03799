#!/usr/bin/env python3
"""Report and figures for a `phenoscale edge` chain (DeepHACKS).

Usage: /usr/bin/python3 postprocess/edge_report.py RUN_DIR

Reads, from RUN_DIR, the outputs of edge teacher / student / phenotype / stats /
cells under their default names (teacher_sweep.csv, teacher_profiles.csv,
student/lambda_sweep.csv, phenotypes.csv, phenotypes_summary.csv,
phenotypes_profiles.csv, phenotypes_truth.csv, phenotypes.h5, stats.csv, cells.csv,
cells_groups.csv) and writes
  figures/teacher_profiles.png    mean velocity per teacher cluster against the aligned frame
  figures/phenotype_profiles.png  mean velocity per phenotype with its bootstrap 95 % band
  figures/tsne.png                t-SNE of the latent's principal components (phenotypes.h5:/tsne),
                                  coloured by phenotype
  figures/cells_umap.png          the cells' UMAP (umap_1, umap_2), coloured by cell group
  report.md                       the tables: teacher K sweep, λ sweep, phenotype summary, drug
                                  statistics, cell groups
A stage whose files are missing is reported as "not run"; an output older than the
file it was computed from (a later rerun upstream) is flagged as stale. Needs Debian's
python3-h5py, python3-numpy and python3-matplotlib.
"""
import csv
import math
import os
import sys

import h5py
import numpy as np

from report_common import atomic_savefig, atomic_write_text, plt

NOT_RUN = "not run"
FIGURES = []  # written by this run, in order
# phenotypes_summary.csv scores (those present are shown), scored against the planted truth.
SCORES = [("teacher_ari_all", "teacher ARI (every matched sample)"), ("teacher_ari", "teacher ARI"),
          ("phenotype_ari", "phenotype ARI"), ("deep_ari", "deep phenotype ARI"),
          ("rare_precision", "rare precision"), ("rare_recall", "rare recall")]


def save(fig, figs, name):
    atomic_savefig(fig, os.path.join(figs, name))
    FIGURES.append(name)


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def fmt(value, digits=3):
    """A table cell: integers as such, reals to `digits` significant digits, NaN/empty as '–'."""
    x = number(value)
    if math.isnan(x):
        return "–" if value in (None, "") or str(value).lower() in ("nan", "na") else str(value)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}g}"


def stale(path, output, *inputs):
    """Lines warning that `output` is older than an input it was computed from (a later rerun upstream)."""
    out = path(output)
    if not os.path.exists(out):
        return []
    newer = [i for i in inputs if os.path.exists(path(i)) and os.path.getmtime(path(i)) > os.path.getmtime(out)]
    if not newer:
        return []
    return [f"**Stale:** {output} is older than {', '.join(newer)}: it comes from an earlier run of the stages "
            "before it; rerun this stage before reading it with the rest.", ""]


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def first_existing(*paths):
    return next((p for p in paths if os.path.exists(p)), None)


def colours(n):
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(k % cmap.N) for k in range(n)]


def profile_groups(rows, key):
    """{group: (frames, columns...)} of a profiles CSV, frames sorted."""
    groups = {}
    for r in rows:
        groups.setdefault(int(float(r[key])), []).append(r)
    return {g: sorted(rs, key=lambda r: float(r["frame"])) for g, rs in sorted(groups.items())}


def teacher_section(path, figs, lines):
    lines += ["## Teacher: ACF pre-clustering, K by silhouette", ""]
    sweep = path("teacher_sweep.csv")
    if not os.path.exists(sweep):
        lines += [f"Teacher: {NOT_RUN} (no teacher_sweep.csv).", ""]
    else:
        rows = read_csv(sweep)
        lines += stale(path, "teacher_sweep.csv", "denoised.h5")
        chosen = [r for r in rows if fmt(r.get("chosen")) == "1"]
        if chosen:
            lines += [f"K = {fmt(chosen[0]['neighbours'])} neighbours chosen: {fmt(chosen[0]['clusters'])} clusters "
                      f"(silhouette {fmt(chosen[0]['silhouette'])}).", ""]
        lines += table(["neighbours K", "clusters", "silhouette", "Davies-Bouldin", "modularity", "chosen"],
                       [[fmt(r["neighbours"]), fmt(r["clusters"]), fmt(r["silhouette"]), fmt(r["davies_bouldin"]),
                         fmt(r["modularity"]), "yes" if fmt(r["chosen"]) == "1" else ""] for r in rows])
        lines.append("")
    profiles = path("teacher_profiles.csv")
    if not os.path.exists(profiles):
        lines += [f"Teacher cluster profiles: {NOT_RUN} (no teacher_profiles.csv).", ""]
        return
    groups = profile_groups(read_csv(profiles), "cluster")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for colour, (c, rs) in zip(colours(len(groups)), groups.items()):
        n = max(number(r["samples"]) for r in rs)
        ax.plot([number(r["frame"]) for r in rs], [number(r["mean_velocity_nm_s"]) for r in rs], color=colour,
                lw=1.2, label=f"{c} (n={fmt(n)})")
    ax.axvline(0, color="0.6", lw=0.6, ls="--")
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel("frame from protrusion onset"); ax.set_ylabel("mean edge velocity (nm/s)")
    ax.set_title("teacher clusters: mean velocity profiles", fontsize=9)
    ax.legend(fontsize=6, ncol=2 if len(groups) > 8 else 1, loc="center left", bbox_to_anchor=(1.01, 0.5))
    save(fig, figs, "teacher_profiles.png")
    lines += [f"Mean velocity profiles of the {len(groups)} teacher clusters: figures/teacher_profiles.png.", ""]


def student_section(path, lines):
    lines += ["## Student: guided bi-LSTM autoencoder, λ sweep", ""]
    sweep = path("student", "lambda_sweep.csv")
    if not os.path.exists(sweep):
        lines += [f"Student: {NOT_RUN} (no student/lambda_sweep.csv).", ""]
        return
    rows = read_csv(sweep)
    lines += stale(path, os.path.join("student", "lambda_sweep.csv"), "teacher.h5")
    chosen = [r for r in rows if fmt(r.get("chosen")) == "1"]
    contrast = any(not math.isnan(number(r["cohens_d"])) for r in rows)
    if chosen:
        why = ("the largest |Cohen's d| of the reference contrast (student.reference_contrast) on the phenotypes "
               "of each λ's latent" if contrast else
               "student.default_lambda (no cells or fewer than two conditions: no contrast to choose by)")
        lines += [f"λ = {fmt(chosen[0]['lambda'])} chosen by {why}; its latent is student/latent.h5.", ""]
    lines += table(["λ", "validation accuracy (teacher labels)", "Cohen's d", "p_greater", "p_less", "chosen"],
                   [[fmt(r["lambda"]), fmt(r["validation_accuracy"]), fmt(r["cohens_d"]), fmt(r["p_greater"]),
                     fmt(r["p_less"]), "yes" if fmt(r["chosen"]) == "1" else ""] for r in rows])
    lines.append("")


def phenotype_section(path, figs, lines):
    lines += ["## Phenotypes", ""]
    summary_path = first_existing(path("phenotypes_summary.csv"), path("phenotype_summary.csv"))
    if summary_path is None:
        lines += [f"Phenotypes: {NOT_RUN} (no phenotypes_summary.csv).", ""]
    else:
        s = read_csv(summary_path)[0]
        lines += stale(path, os.path.basename(summary_path), os.path.join("student", "latent.h5"), "teacher.h5")
        scored = s.get("scored_against", "none")
        phenotyped = ""
        if s.get("phenotyped") not in (None, ""):
            phenotyped = (f" ({fmt(s['phenotyped'])} phenotyped; the others are shorter than phenotype.min_frames and "
                          "carry phenotype -1)")
        lines += [f"{fmt(s.get('samples'))} samples{phenotyped}: {fmt(s.get('phenotypes'))} phenotypes, "
                  f"{fmt(s.get('deep_phenotypes'))} deep phenotypes; the PCA of the latent keeps "
                  f"{100 * number(s.get('pca_explained_variance')):.1f} % of its variance.", ""]
        if scored == "planted truth (simulation)":
            scores = [(k, name) for k, name in SCORES if k in s]
            lines += ["The adjusted Rand indices (ARI) below are scored against the simulated truth: the phenotypes "
                      "planted by edge simulate, which no stage reads except for this scoring. The teacher and "
                      "phenotype ARIs compare with the coarse planted phenotypes (the rare sub-phenotype merged into "
                      "its parent), the deep ARI with the fine ones; the rare sub-phenotype's precision and recall are "
                      "those of its best-matching deep phenotype."
                      + (" All but the first column are on the phenotyped samples only." if "teacher_ari_all" in s
                         and "phenotyped" in s else ""), ""]
            lines += table([name for _, name in scores], [[fmt(s[k]) for k, _ in scores]])
            lines.append("")
            truth_path = first_existing(path("phenotypes_truth.csv"), path("phenotype_truth.csv"))
            if truth_path is not None:
                t = read_csv(truth_path)
                lines += ["Planted phenotypes in each phenotype (scoring only; "
                          f"{os.path.basename(truth_path)}):", ""]
                planted = [k for k in (t[0] if t else {}) if k.startswith("planted_")]
                lines += table(["phenotype", "mostly planted", "purity", "matched samples"] +
                               [k[len("planted_"):].replace("_", " ") for k in planted],
                               [[fmt(r["phenotype"]), r.get("majority_planted", ""), fmt(r.get("purity")),
                                 fmt(r.get("matched_samples"))] + [fmt(r[k]) for k in planted] for r in t])
                lines.append("")
        else:
            lines += [f"Not scored (scored_against: {scored}): the samples carry no planted truth.", ""]
    csv_path = path("phenotypes.csv")
    if os.path.exists(csv_path):
        rows = read_csv(csv_path)
        conditions = list(dict.fromkeys(r["condition"] for r in rows))
        count = {}
        for r in rows:
            key = (int(r["phenotype"]), r["condition"])
            count[key] = count.get(key, 0) + 1
        per_condition = {c: sum(v for (p, k), v in count.items() if k == c) for c in conditions}
        phenotypes = sorted({p for p, _ in count})
        deep = {}
        for r in rows:
            deep.setdefault(int(r["phenotype"]), set()).add(r["deep_phenotype"])
        lines += ["Samples per phenotype (fraction of each condition's samples; phenotypes.csv):", ""]
        lines += table(["phenotype", "deep phenotypes", "samples"] + conditions,
                       [[str(p) if p >= 0 else "-1 (not phenotyped)", str(len(deep[p])) if p >= 0 else "–",
                         str(sum(count.get((p, c), 0) for c in conditions))] +
                        [f"{count.get((p, c), 0) / max(per_condition[c], 1):.3f}" for c in conditions]
                        for p in phenotypes])
        lines.append("")
    profiles = first_existing(path("phenotypes_profiles.csv"), path("phenotype_profiles.csv"))
    if profiles is None:
        lines += [f"Phenotype profiles: {NOT_RUN} (no phenotypes_profiles.csv).", ""]
    else:
        groups = profile_groups(read_csv(profiles), "phenotype")
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for colour, (p, rs) in zip(colours(len(groups)), groups.items()):
            t = [number(r["frame"]) for r in rs]
            ax.fill_between(t, [number(r["band_low"]) for r in rs], [number(r["band_high"]) for r in rs],
                            color=colour, alpha=0.25, lw=0)
            ax.plot(t, [number(r["mean_velocity_nm_s"]) for r in rs], color=colour, lw=1.3,
                    label=f"{p} (n={fmt(max(number(r['samples']) for r in rs))})")
        ax.axvline(0, color="0.6", lw=0.6, ls="--")
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_xlabel("frame from protrusion onset"); ax.set_ylabel("mean edge velocity (nm/s)")
        ax.set_title("phenotypes: mean velocity, bootstrap 95 % band", fontsize=9)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        save(fig, figs, "phenotype_profiles.png")
        lines += [f"Mean velocity profiles of the {len(groups)} phenotypes with bootstrap 95 % bands (samples "
                  "resampled): figures/phenotype_profiles.png.", ""]
    h5_path = path("phenotypes.h5")
    tsne_note = f"t-SNE: {NOT_RUN} (no phenotypes.h5)."
    if os.path.exists(h5_path):
        with h5py.File(h5_path, "r") as f:
            if "tsne" in f and "phenotype" in f:
                xy, labels = f["tsne"][()], f["phenotype"][()].astype(int)
                fig, ax = plt.subplots(figsize=(5, 4.5))
                if len(labels) != len(xy):
                    sys.exit(f"edge_report: {h5_path}: /tsne has {len(xy)} rows but /phenotype {len(labels)}")
                ids = np.unique(labels)
                m = labels < 0  # not phenotyped (shorter than phenotype.min_frames): grey, underneath
                if m.any():
                    ax.scatter(xy[m, 0], xy[m, 1], s=2, color="0.8", label="-1 (not phenotyped)")
                ids = ids[ids >= 0]
                for colour, p in zip(colours(len(ids)), ids):
                    m = labels == p
                    ax.scatter(xy[m, 0], xy[m, 1], s=3, color=colour, label=str(p))
                ax.set_xticks([]); ax.set_yticks([])
                ax.set_title("t-SNE of the latent's principal components, by phenotype", fontsize=9)
                ax.legend(fontsize=7, markerscale=3, title="phenotype", title_fontsize=7, loc="center left",
                          bbox_to_anchor=(1.01, 0.5))
                save(fig, figs, "tsne.png")
                tsne_note = f"t-SNE of {len(labels)} samples coloured by phenotype: figures/tsne.png."
            else:
                tsne_note = f"t-SNE: {NOT_RUN} (phenotypes.h5 has no /tsne; phenotype.tsne = false)."
    lines += [tsne_note, ""]


def stats_section(path, lines):
    lines += ["## Drug statistics: bootstrap of cells", ""]
    stats = path("stats.csv")
    if not os.path.exists(stats):
        lines += [f"Statistics: {NOT_RUN} (no stats.csv).", ""]
        return
    rows = read_csv(stats)
    lines += stale(path, "stats.csv", "phenotypes.h5")
    label = next((k for k in ("phenotype", "deep_phenotype", "teacher_cluster") if rows and k in rows[0]), "phenotype")
    replicates = fmt(rows[0]["replicates"]) if rows else "?"
    lines += [f"Per paired experiment, every treatment against the control, per {label.replace('_', ' ')}: pooled "
              f"proportions, their difference (treatment − control) with a percentile confidence interval, and "
              f"Cohen's d, from R = {replicates} bootstrap replicates resampling cells within each condition. "
              "p_greater = (1 + #{d_r ≤ 0})/(1 + R) and p_less = (1 + #{d_r ≥ 0})/(1 + R) are the one-sided p "
              "(never 0); the *_fraction columns are the seed's #/R (p_greater_fraction = #{d_r ≤ 0}/R, "
              "p_less_fraction = #{d_r ≥ 0}/R). Holm p is p_greater / p_less Holm-adjusted over the contrast's "
              "rows in both directions: read it when scanning the table for effects.", ""]

    def holm(r):  # stats.csv written before the Holm columns existed has none
        return f"{fmt(r['p_greater_holm'])} / {fmt(r['p_less_holm'])}" if "p_greater_holm" in r else "—"
    lines += table(["exp", "control", "treatment", label, "cells (c/t)", "control prop.", "treatment prop.",
                    "difference", "CI", "p_greater", "p_less", "p_greater_fraction", "p_less_fraction",
                    "Cohen's d", "Holm p (greater / less)"],
                   [[fmt(r["experiment"]), r["control"], r["treatment"], fmt(r[label]),
                     f"{fmt(r['control_cells'])}/{fmt(r['treatment_cells'])}", fmt(r["control_proportion"]),
                     fmt(r["treatment_proportion"]), fmt(r["difference"]),
                     f"[{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]", fmt(r["p_greater"]), fmt(r["p_less"]),
                     fmt(r["p_greater_fraction"]), fmt(r["p_less_fraction"]), fmt(r["cohens_d"]), holm(r)]
                    for r in rows])
    lines.append("")


def cells_section(path, figs, lines):
    lines += ["## Single-cell phenotypes", ""]
    cells = path("cells.csv")
    if not os.path.exists(cells):
        lines += [f"Cells: {NOT_RUN} (no cells.csv).", ""]
        return
    rows = read_csv(cells)
    lines += stale(path, "cells.csv", "phenotypes.h5")
    groups = sorted({int(float(r["cell_group"])) for r in rows})
    lines += [f"{len(rows)} cells, {len(groups)} cell groups (kNN-graph communities on the 3-D UMAP of their "
              "z-scored phenotype proportions; cells.csv).", ""]
    groups_path = path("cells_groups.csv")
    if os.path.exists(groups_path):
        g = read_csv(groups_path)
        conditions = list(dict.fromkeys(r["condition"] for r in g))
        frac = {(r["condition"], int(float(r["cell_group"]))): r for r in g}
        lines += ["Cells of each condition by cell group, count (fraction) (cells_groups.csv):", ""]
        lines += table(["condition"] + [f"group {k}" for k in groups],
                       [[c] + [f"{fmt(frac[(c, k)]['cells'])} ({number(frac[(c, k)]['fraction']):.2f})"
                               if (c, k) in frac else "0" for k in groups] for c in conditions])
        lines.append("")
    else:
        lines += [f"Cell groups by condition: {NOT_RUN} (no cells_groups.csv).", ""]
    if rows and "umap_2" in rows[0]:
        xy = np.array([[number(r["umap_1"]), number(r["umap_2"])] for r in rows])
        group = np.array([int(float(r["cell_group"])) for r in rows])
        condition = [r["condition"] for r in rows]
        markers = dict(zip(dict.fromkeys(condition), "os^DvP*Xph"))
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        for colour, k in zip(colours(len(groups)), groups):
            for c, marker in markers.items():
                m = (group == k) & np.array([x == c for x in condition])
                if m.any():
                    ax.scatter(xy[m, 0], xy[m, 1], s=22, color=colour, marker=marker, edgecolors="none")
        handles = [plt.Line2D([], [], marker="o", ls="", color=colour, label=f"group {k}")
                   for colour, k in zip(colours(len(groups)), groups)]
        handles += [plt.Line2D([], [], marker=marker, ls="", color="0.3", label=c) for c, marker in markers.items()]
        ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        ax.set_xlabel("UMAP 1"); ax.set_ylabel("UMAP 2")
        ax.set_title("cells: UMAP (first two of its dimensions), by cell group", fontsize=9)
        save(fig, figs, "cells_umap.png")
        lines += ["The cells on the first two UMAP dimensions, coloured by cell group, marked by condition: "
                  "figures/cells_umap.png.", ""]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run = sys.argv[1]
    if not os.path.isdir(run):
        sys.exit(f"edge_report: {run}: no such directory")
    figs = os.path.join(run, "figures")
    os.makedirs(figs, exist_ok=True)
    path = lambda *name: os.path.join(run, *name)
    lines = ["# edge report (DeepHACKS)", "",
             f"Run directory: {os.path.abspath(run)}. Velocities are aligned at the protrusion onset (frame 0).", ""]
    teacher_section(path, figs, lines)
    student_section(path, lines)
    phenotype_section(path, figs, lines)
    stats_section(path, lines)
    cells_section(path, figs, lines)
    lines += ["Figures: " + (", ".join(f"figures/{n}" for n in FIGURES) if FIGURES else "none"), ""]
    atomic_write_text(path("report.md"), "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
