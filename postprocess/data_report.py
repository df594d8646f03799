#!/usr/bin/env python3
"""Report and figures for a `phenoscale data` run (the demo job).

Usage: /usr/bin/python3 postprocess/data_report.py RUN_DIR

Reads RUN_DIR/samples.h5 and RUN_DIR/summary.h5 (written by `phenoscale data
generate` and `phenoscale data summarize`) and writes
  RUN_DIR/figures/features.png      first two feature dimensions, planted centres
                                    and recovered cluster means
  RUN_DIR/figures/msd.png           time-averaged MSD of the trajectories against
                                    the planted 4 D t
  RUN_DIR/report.md                 what was planted and what was recovered
Needs Debian's python3-h5py, python3-numpy and python3-matplotlib.
"""
import os
import sys

import h5py
import numpy as np

from report_common import atomic_savefig, atomic_write_text, plt, text


def time_averaged_msd(values, offsets, max_lag):
    """Mean squared displacement per lag, averaged over all tracks and origins."""
    sums = np.zeros(max_lag + 1)
    counts = np.zeros(max_lag + 1)
    for start, end in zip(offsets[:-1], offsets[1:]):
        track = values[start:end]
        for lag in range(1, min(max_lag, len(track) - 1) + 1):
            d = track[lag:] - track[:-lag]
            sums[lag] += (d ** 2).sum()
            counts[lag] += len(d)
    lags = np.nonzero(counts)[0]
    return lags, sums[lags] / counts[lags]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run = sys.argv[1]
    figures = os.path.join(run, "figures")
    os.makedirs(figures, exist_ok=True)
    samples = h5py.File(os.path.join(run, "samples.h5"), "r")
    summary = h5py.File(os.path.join(run, "summary.h5"), "r")

    features = samples["features"][...]
    labels = samples["labels"][...]
    centres = samples["centres"][...]
    means = summary["cluster_means"][...]
    sizes = summary["cluster_sizes"][...]

    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.scatter(features[:, 0], features[:, 1], c=labels, s=2, cmap="tab10", alpha=0.4)
    ax.scatter(centres[:, 0], centres[:, 1], marker="x", s=80, c="k", label="planted centre")
    ax.scatter(means[:, 0], means[:, 1], marker="o", s=80, facecolors="none", edgecolors="r",
               label="recovered mean")
    ax.set_xlabel("feature 0")
    ax.set_ylabel("feature 1")
    ax.legend(loc="best", fontsize=8)
    ax.set_title(f"{len(features)} samples, {len(centres)} planted clusters")
    atomic_savefig(fig, os.path.join(figures, "features.png"))

    tracks = samples["tracks"]
    dt = float(tracks.attrs["dt_s"])
    planted_d = float(tracks.attrs["diffusion_coefficient_um2_s"])
    lags, msd = time_averaged_msd(tracks["values"][...], tracks["offsets"][...], 20)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(lags * dt, msd, "o", label="time-averaged MSD")
    ax.plot(lags * dt, 4 * planted_d * lags * dt, "-", label=f"4 D t, D = {planted_d} µm²/s")
    ax.set_xlabel("lag time (s)")
    ax.set_ylabel("MSD (µm²)")
    ax.legend()
    atomic_savefig(fig, os.path.join(figures, "msd.png"))

    fitted_d = np.polyfit(lags * dt, msd, 1)[0] / 4
    report = f"""# phenoscale data demo

Produced by `{text(samples.attrs['command_line'])}` on {samples.attrs['mpi_ranks']} MPI rank(s),
phenoscale {text(samples.attrs['phenoscale_version'])} (git {text(samples.attrs['git_revision'])}),
{text(samples.attrs['created_utc'])}.

| quantity | planted | recovered |
|---|---|---|
| samples | {len(features)} | {int(summary.attrs['samples'])} |
| clusters | {len(centres)} | {int((sizes > 0).sum())} populated, sizes {', '.join(str(s) for s in sizes)} |
| cluster centres | — | RMSE of recovered means = {float(summary.attrs['centre_recovery_rmse']):.4f} |
| diffusion coefficient (µm²/s) | {planted_d} | {float(summary.attrs['diffusion_coefficient_estimate_um2_s']):.5f} (lag-1 MSD), {fitted_d:.5f} (MSD fit, lags 1-20) |

Figures: `figures/features.png`, `figures/msd.png`. Inspect the files with
`phenoscale info {os.path.join(run, 'samples.h5')}`.
"""
    atomic_write_text(os.path.join(run, "report.md"), report)
    print(f"data_report: wrote {os.path.join(run, 'report.md')} and {figures}/*.png")


if __name__ == "__main__":
    main()
