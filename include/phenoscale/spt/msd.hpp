// Mean squared displacement of one track and its anomalous-diffusion fit
// (DeepSPT, Kæstel-Hansen et al. 2024; docs/methods.md §2.3 "MSD fit", §2.4
// rolling-MSD baseline).
//
// The time-averaged MSD at lag k is the mean over every pair of frames k
// apart, MSD(k) = 1/(N−k) Σ_t |x_{t+k} − x_t|². The anomalous-diffusion law
// MSD(t) = 2·dim·D·t^α (t = k·dt) tells the motion type by its exponent:
// α ≈ 1 Brownian, α > 1 directed, α < 1 sub-diffusive or confined. The
// fingerprint (§2.3) uses α, D and the fit quality; the rolling-MSD baseline
// (§2.4) thresholds α of short windows.
#pragma once

#include <cstdint>
#include <vector>

#include "phenoscale/spt/track.hpp"

namespace phenoscale::spt {

// Time-averaged MSD for lags 1..max_lag: element k−1 is MSD(k).
// Throws InputError unless 1 ≤ max_lag ≤ frames − 1 and dim is 2 or 3.
std::vector<double> time_averaged_msd(const TrackView& track, std::int64_t max_lag);

struct MsdFitOptions {
  double dt = 1.0;          // frame interval: lag k is the time k·dt
  // false: straight line through (log t, log MSD) by least squares — the
  //        classic estimator, no free offset.
  // true:  MSD = 2·dim·D·t^α + c by nonlinear least squares in linear space
  //        (c absorbs the 2·dim·σ² of localisation noise): for each α the
  //        best (D ≥ 0, c) is linear, α is searched on [alpha_min, alpha_max].
  bool fit_offset = false;
  double alpha_min = 0.0;   // search range of the offset fit
  double alpha_max = 3.0;
};

struct MsdFit {
  double alpha = 0.0;      // anomalous exponent
  double diffusion = 0.0;  // D in MSD = 2·dim·D·t^α (position²/time^α)
  double offset = 0.0;     // c (0 without fit_offset)
  // Coefficient of determination R² of the fit, in the space it was fitted
  // in (log–log without offset, linear with it). 1 for a perfect power law.
  double r_squared = 0.0;
  std::int64_t lags_used = 0;  // lags that entered the fit
};

// Fits MSD = 2·dim·D·t^α (+ c) to msd[k−1] = MSD(k), k = 1..msd.size().
// The log–log fit skips lags whose MSD is not positive (a log is undefined);
// when fewer than 2 lags remain (or, with an offset, fewer than 3) every field
// is NaN except lags_used. When the fitted values do not vary at all (a flat
// MSD) α and D are defined but R² (0/0) is NaN.
// Throws InputError on a negative or non-finite MSD, a dim other than 2/3 or
// dt ≤ 0.
MsdFit fit_msd(const std::vector<double>& msd, int dim, const MsdFitOptions& options = {});

// time_averaged_msd + fit_msd on lags 1..max_lag.
MsdFit fit_track_msd(const TrackView& track, std::int64_t max_lag, const MsdFitOptions& options = {});

}  // namespace phenoscale::spt
