#!/usr/bin/env python3
"""Report and figures for a `phenoscale edge` chain (DeepHACKS).

Usage: /usr/bin/python3 postprocess/edge_report.py RUN_DIR

Reads, from RUN_DIR, the outputs of edge window / events / teacher / student /
phenotype / stats / cells under their default names (windows/*.h5, events.h5,
teacher_sweep.csv, teacher.h5, teacher_profiles.csv, student/lambda_sweep.csv,
phenotypes.csv, phenotypes_summary.csv, phenotypes_profiles.csv,
phenotypes_truth.csv, phenotypes.h5, stats.csv, cells.csv, cells_groups.csv,
cells_contrasts.csv) and
writes (DeepHACKS, Ma et al. 2024, Figs. 1-4)
  figures/velocity_maps/CELL.png  per movie: edge velocity, windows x time, with the detected
                                  protrusion onsets (events.h5) marked
  figures/teacher_sweep.png       mean silhouette and Davies-Bouldin index against the neighbour count K
  figures/teacher_silhouette.png  silhouette plot of the chosen teacher partition: every sample's
                                  silhouette as edge teacher computed it (teacher.h5:/silhouette),
                                  sorted within clusters
  figures/teacher_profiles.png    mean velocity per teacher cluster against the aligned frame
  figures/phenotype_profiles.png  mean velocity per phenotype with its bootstrap 95 % band
  figures/tsne.png                t-SNE of the latent's principal components (phenotypes.h5:/tsne),
                                  coloured by phenotype
  figures/tsne_density.png        the same t-SNE as a density per condition (one panel each)
  figures/proportions.png         per contrast, each phenotype's pooled proportion in control and
                                  treatment with its bootstrap percentile interval (stats.csv)
  figures/cells_umap.png          the cells' UMAP (umap_1, umap_2), coloured by cell group
  report.md                       the tables: teacher K sweep, λ sweep, phenotype summary, drug
                                  statistics, cell groups and their contrasts
A stage whose files are missing is reported as "not run"; an output older than the
file it was computed from (a later rerun upstream) is flagged as stale. Needs Debian's
python3-h5py, python3-numpy and python3-matplotlib.
"""
import csv
import glob
import math
import os
import sys

import h5py
import numpy as np

from report_common import DRAWN, atomic_savefig, atomic_write_text, plt, save, text

NOT_RUN = "not run"
# phenotypes_summary.csv scores (those present are shown), scored against the planted truth.
SCORES = [("teacher_ari_all", "teacher ARI (every matched sample)"), ("teacher_ari", "teacher ARI"),
          ("phenotype_ari", "phenotype ARI"), ("deep_ari", "deep phenotype ARI"),
          ("rare_precision", "rare precision"), ("rare_recall", "rare recall")]


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


def velocity_maps_section(path, figs, lines):
    """One heat map per movie (windows x time) from edge window's maps, onsets from edge events."""
    lines += ["## Velocity maps", ""]
    maps = sorted(glob.glob(path("windows", "*.h5")))
    if not maps:
        lines += [f"Velocity maps: {NOT_RUN} (no windows/*.h5; imported series have none).", ""]
        return
    onsets = {}
    events = path("events.h5")
    if os.path.exists(events):
        with h5py.File(events, "r") as f:
            if all(k in f for k in ("cell_id", "window", "onset_frame")):
                for c, w, t in zip(f["cell_id"][()], f["window"][()], f["onset_frame"][()]):
                    onsets.setdefault(int(c), []).append((int(w), int(t)))
    movies = []
    for m in maps:
        with h5py.File(m, "r") as f:
            if "velocity" not in f:
                sys.exit(f"edge_report: {m}: no /velocity; expected a velocity map written by edge window")
            cell = int(f.attrs.get("cell_id", -1))  # the index of cell_name when the cells were named
            movies.append((m, f["velocity"][()].astype(float), cell, text(f.attrs.get("condition", "")),
                           float(f.attrs.get("frame_s", 1.0)), text(f.attrs.get("cell_name", str(cell)))))
    finite = np.concatenate([np.abs(v[np.isfinite(v)]) for _, v, *_ in movies])
    vmax = float(np.percentile(finite, 99)) if finite.size else 1.0  # one colour scale for every movie
    out = os.path.join(figs, "velocity_maps")
    os.makedirs(out, exist_ok=True)
    for m, v, cell, condition, frame_s, cell_name in movies:
        fig, ax = plt.subplots(figsize=(6, 3))
        im = ax.imshow(v, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest",
                       extent=(-0.5 * frame_s, (v.shape[1] - 0.5) * frame_s, -0.5, v.shape[0] - 0.5))
        marks = onsets.get(cell, [])
        if marks:
            ax.scatter([t * frame_s for _, t in marks], [w for w, _ in marks], s=6, color="k", marker="|", lw=0.8,
                       label="protrusion onset")
            ax.legend(fontsize=6, loc="upper right")
        ax.set_xlabel("time (s)"); ax.set_ylabel("window")
        ax.set_title(f"cell {cell_name} ({condition}): edge velocity", fontsize=9)
        fig.colorbar(im, ax=ax, label="nm/s (protrusion > 0)")
        atomic_savefig(fig, os.path.join(out, os.path.splitext(os.path.basename(m))[0] + ".png"))
    DRAWN.append(f"velocity_maps/ ({len(movies)} movies)")
    lines += [f"{len(movies)} movies: edge velocity per probing window and frame (red protrusion, blue retraction; "
              f"one colour scale, ±{vmax:.3g} nm/s, the 99th percentile of |v|), the protrusion onsets edge events "
              "detected marked: figures/velocity_maps/*.png.", ""]


def teacher_silhouette_figures(path, figs, lines, rows):
    """Fig. 2a: the K sweep's mean silhouette and Davies-Bouldin; a silhouette plot of the chosen partition."""
    ks = [number(r["neighbours"]) for r in rows]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, key, name in ((a1, "silhouette", "mean silhouette (higher: better)"),
                          (a2, "davies_bouldin", "Davies-Bouldin index (lower: better)")):
        ax.plot(ks, [number(r[key]) for r in rows], "o-", color="0.3", lw=1)
        for r in rows:
            ax.annotate(fmt(r["clusters"]), (number(r["neighbours"]), number(r[key])), fontsize=6,
                        textcoords="offset points", xytext=(0, 4), ha="center")
            if fmt(r["chosen"]) == "1":
                ax.plot([number(r["neighbours"])], [number(r[key])], "o", color="tab:red", ms=8, mfc="none")
        ax.set_xscale("log"); ax.set_xticks(ks); ax.set_xticklabels([fmt(k) for k in ks], fontsize=7)
        ax.minorticks_off()
        ax.set_xlabel("neighbours K (annotated: communities)"); ax.set_title(name, fontsize=9)
    save(fig, figs, "teacher_sweep.png")
    lines += ["Mean silhouette and Davies-Bouldin index of each K's partition, the chosen K circled: "
              "figures/teacher_sweep.png.", ""]
    h5 = path("teacher.h5")
    if not os.path.exists(h5):
        lines += [f"Teacher silhouette plot: {NOT_RUN} (no teacher.h5).", ""]
        return
    with h5py.File(h5, "r") as f:
        if "labels" not in f:
            sys.exit(f"edge_report: {h5}: expected /labels, written by edge teacher")
        if "silhouette" not in f:
            lines += [f"Teacher silhouette plot: {NOT_RUN} ({h5} has no /silhouette: it predates it; rerun "
                      "edge teacher).", ""]
            return
        every, labels = f["silhouette"][()].astype(float), f["labels"][()].astype(int)
        distance, ours = text(f.attrs.get("distance", "nan-euclidean")), number(f.attrs.get("silhouette"))
    # Above its exact limit edge teacher samples the silhouette: the others are NaN.
    queries = np.flatnonzero(np.isfinite(every))
    if len(queries) == 0:  # a partition of one cluster has no silhouette
        lines += [f"Teacher silhouette plot: none (the chosen partition has {len(np.unique(labels))} cluster).", ""]
        return
    s = every[queries]
    clusters = np.unique(labels)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    y = 0
    for colour, c in zip(colours(len(clusters)), clusters):
        v = np.sort(s[labels[queries] == c])
        ax.fill_betweenx(np.arange(y, y + len(v)), 0, v, color=colour, lw=0)
        ax.text(-0.05, y + len(v) / 2, str(c), fontsize=7, ha="right", va="center")
        y += len(v) + max(len(queries) // 100, 2)
    ax.axvline(s.mean(), color="tab:red", ls="--", lw=1, label=f"mean {s.mean():.3f}")
    ax.set_yticks([]); ax.set_xlabel("silhouette"); ax.set_ylabel("teacher cluster")
    ax.set_title("silhouette plot of the chosen teacher partition", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    save(fig, figs, "teacher_silhouette.png")
    which = (f"all {len(labels)} samples" if len(queries) == len(labels) else
             f"the {len(queries)} of the {len(labels)} samples edge teacher drew, each against all")
    lines += [f"Silhouette plot of the chosen partition ({distance} distances of the ACF vectors; {which}; as edge "
              f"teacher computed them, teacher.h5:/silhouette): mean {fmt(ours, 4)}; {np.mean(s < 0):.1%} of the samples sit closer "
              "to another cluster (silhouette < 0): figures/teacher_silhouette.png.", ""]


def teacher_section(path, figs, lines):
    lines += ["## Teacher: ACF pre-clustering, K over a grid", ""]
    sweep = path("teacher_sweep.csv")
    if not os.path.exists(sweep):
        lines += [f"Teacher: {NOT_RUN} (no teacher_sweep.csv).", ""]
    else:
        rows = read_csv(sweep)
        lines += stale(path, "teacher_sweep.csv", "denoised.h5")
        chosen = [r for r in rows if fmt(r.get("chosen")) == "1"]
        if chosen:
            lines += [f"K = {fmt(chosen[0]['neighbours'])} neighbours chosen (teacher.select): "
                      f"{fmt(chosen[0]['clusters'])} clusters (silhouette {fmt(chosen[0]['silhouette'])}, "
                      f"Davies-Bouldin {fmt(chosen[0]['davies_bouldin'])}).", ""]
        lines += table(["neighbours K", "clusters", "silhouette", "Davies-Bouldin", "modularity", "chosen"],
                       [[fmt(r["neighbours"]), fmt(r["clusters"]), fmt(r["silhouette"]), fmt(r["davies_bouldin"]),
                         fmt(r["modularity"]), "yes" if fmt(r["chosen"]) == "1" else ""] for r in rows])
        lines.append("")
        teacher_silhouette_figures(path, figs, lines, rows)
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
                if "condition" in f:
                    names = text(f.attrs.get("conditions", "")).split("\n")
                    tsne_note += " " + tsne_density(figs, xy, labels, f["condition"][()].astype(int), names)
            else:
                tsne_note = f"t-SNE: {NOT_RUN} (phenotypes.h5 has no /tsne; phenotype.tsne = false)."
    lines += [tsne_note, ""]


def smoothed_density(xy, extent, bins=80, sigma=1.5):
    """A 2-D histogram of the points on `extent`, Gaussian-smoothed (sigma in bins), summing to 1."""
    h, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=bins, range=extent)
    r = np.arange(-int(3 * sigma), int(3 * sigma) + 1)
    kernel = np.exp(-0.5 * (r / sigma) ** 2)
    kernel /= kernel.sum()
    h = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), 0, h)
    h = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), 1, h)
    return h / max(h.sum(), 1e-300)


def tsne_density(figs, xy, labels, condition, names):
    """Fig. 2d-style density overlays: the t-SNE's sample density per condition on one scale, each
    phenotype's label at its median position."""
    ids = sorted(set(condition.tolist()))
    pad = 0.02 * (xy.max(axis=0) - xy.min(axis=0))
    extent = [[xy[:, 0].min() - pad[0], xy[:, 0].max() + pad[0]], [xy[:, 1].min() - pad[1], xy[:, 1].max() + pad[1]]]
    dens = {k: smoothed_density(xy[condition == k], extent) for k in ids}
    top = max(d.max() for d in dens.values())
    fig, axes = plt.subplots(1, len(ids), figsize=(3.2 * len(ids), 3.2), squeeze=False)
    for ax, k in zip(axes[0], ids):
        ax.imshow(dens[k].T, origin="lower", cmap="magma", vmin=0, vmax=top, aspect="auto",
                  extent=(extent[0][0], extent[0][1], extent[1][0], extent[1][1]))
        for p in sorted(set(labels[labels >= 0].tolist())):
            mx, my = np.median(xy[labels == p], axis=0)
            ax.text(mx, my, str(p), color="cyan", fontsize=8, ha="center", va="center", weight="bold")
        name = names[k] if 0 <= k < len(names) and names[k] else f"condition {k}"
        ax.set_title(f"{name} (n={int(np.sum(condition == k))})", fontsize=9)
        ax.set_xticks([]); ax.set_yticks([])
    save(fig, figs, "tsne_density.png")
    return ("Its sample density per condition (each a density summing to 1, one colour scale; phenotype numbers "
            "at their medians): figures/tsne_density.png.")


def proportion_bars(figs, rows, label):
    """Fig. 2e/3-style bars: per contrast, each phenotype's pooled proportion in control and treatment with
    its percentile interval; stars by the Holm-adjusted one-sided p (* < 0.05, ** < 0.01, *** < 0.001)."""
    contrasts = list(dict.fromkeys((r["experiment"], r["control"], r["treatment"]) for r in rows))
    has_ci = bool(rows) and "control_ci_low" in rows[0]
    fig, axes = plt.subplots(1, len(contrasts), figsize=(max(3.0, 0.55 * len(rows) / len(contrasts) + 1.5)
                                                          * len(contrasts), 3.2), squeeze=False)
    for ax, (e, control, treatment) in zip(axes[0], contrasts):
        rs = [r for r in rows if (r["experiment"], r["control"], r["treatment"]) == (e, control, treatment)]
        x = np.arange(len(rs))
        for shift, side, colour, name in ((-0.2, "control", "0.6", control), (0.2, "treatment", "tab:red", treatment)):
            p = np.array([number(r[f"{side}_proportion"]) for r in rs])
            err = None
            if has_ci:
                lo = np.array([number(r[f"{side}_ci_low"]) for r in rs])
                hi = np.array([number(r[f"{side}_ci_high"]) for r in rs])
                err = np.vstack([np.maximum(p - lo, 0), np.maximum(hi - p, 0)])
            ax.bar(x + shift, p, 0.4, yerr=err, color=colour, capsize=2, error_kw={"lw": 0.8}, label=name)
        for i, r in enumerate(rs):
            q = min(number(r.get("p_greater_holm", r["p_greater"])), number(r.get("p_less_holm", r["p_less"])))
            stars = "***" if q < 0.001 else "**" if q < 0.01 else "*" if q < 0.05 else ""
            if stars:
                top = max(number(r.get("treatment_ci_high", r["treatment_proportion"])),
                          number(r.get("control_ci_high", r["control_proportion"])))
                ax.text(i, top + 0.01, stars, ha="center", fontsize=8)
        ax.set_xticks(x); ax.set_xticklabels([fmt(r[label]) for r in rs], fontsize=8)
        ax.set_xlabel(label.replace("_", " ")); ax.set_ylabel("pooled proportion")
        ax.set_title(f"experiment {e}: {treatment} vs {control}", fontsize=9)
        ax.legend(fontsize=7)
    save(fig, figs, "proportions.png")
    return ("Pooled proportions per phenotype, control and treatment, with " +
            ("their bootstrap percentile intervals" if has_ci else "no intervals (stats.csv predates its "
             "control_ci_*/treatment_ci_* columns; rerun edge stats)") +
            "; stars: Holm-adjusted one-sided p < 0.05 / 0.01 / 0.001: figures/proportions.png.")


def stats_section(path, figs, lines):
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
                   [[r["experiment"], r["control"], r["treatment"], fmt(r[label]),
                     f"{fmt(r['control_cells'])}/{fmt(r['treatment_cells'])}", fmt(r["control_proportion"]),
                     fmt(r["treatment_proportion"]), fmt(r["difference"]),
                     f"[{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]", fmt(r["p_greater"]), fmt(r["p_less"]),
                     fmt(r["p_greater_fraction"]), fmt(r["p_less_fraction"]), fmt(r["cohens_d"]), holm(r)]
                    for r in rows])
    lines.append("")
    if rows:
        lines += [proportion_bars(figs, rows, label), ""]


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
    contrasts_path = path("cells_contrasts.csv")
    if os.path.exists(contrasts_path):
        rows_c = read_csv(contrasts_path)
        lines += ["Cell-group contrasts (cells_contrasts.csv): the fraction of each condition's cells in each group, "
                  "treatment against control, by the bootstrap of cells (p as in the drug statistics; Holm over "
                  "one contrast's groups and both directions):", ""]
        lines += table(["exp", "treatment vs control", "cell group", "cells (c/t)", "control fraction",
                        "treatment fraction", "difference", "CI", "Holm p (greater / less)"],
                       [[r["experiment"], f"{r['treatment']} vs {r['control']}", fmt(r["cell_group"]),
                         f"{fmt(r['control_cells'])}/{fmt(r['treatment_cells'])}", fmt(r["control_proportion"]),
                         fmt(r["treatment_proportion"]), fmt(r["difference"]), f"[{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]",
                         f"{fmt(r['p_greater_holm'])} / {fmt(r['p_less_holm'])}"] for r in rows_c])
        lines.append("")
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


def planted_onsets_note(events):
    """Series simulated with simulate.kind = series sit at the planted onsets: the headline says so."""
    if not os.path.exists(events):
        return ""
    with h5py.File(events, "r") as f:
        onsets = f.attrs.get("onsets")
    if onsets is None:
        return ""
    return f"; **onsets: {onsets.decode() if isinstance(onsets, bytes) else onsets}**"


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
             f"Run directory: {os.path.abspath(run)}. Velocities are aligned at the protrusion onset (frame 0)"
             + planted_onsets_note(path("events.h5")) + ".", ""]
    velocity_maps_section(path, figs, lines)
    teacher_section(path, figs, lines)
    student_section(path, lines)
    phenotype_section(path, figs, lines)
    stats_section(path, figs, lines)
    cells_section(path, figs, lines)
    lines += ["Figures: " + (", ".join(f"figures/{n}" for n in DRAWN) if DRAWN else "none"), ""]
    atomic_write_text(path("report.md"), "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
