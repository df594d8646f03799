// The five anomalous-diffusion models of the AnDi 2021 challenge
// (G. Muñoz-Gil et al., "Objective comparison of methods to decode anomalous
// diffusion", Nat Commun 12:6253, 2021), as out-of-distribution single-mode
// tracks for the DeepSPT segmentation network (docs/methods.md §2.1).
//
// Every model is tuned by its anomalous exponent α (MSD ∝ t^α), taken from
// the AnDi grid 0.05, 0.10, …, 2.00 restricted to the model's range. Each is
// scaled by the track's D (the DeepSPT D range) so that AnDi tracks have the
// size of the training data:
//   attm  (0.05–1.00) annealed transient time motion: Brownian whose
//         coefficient D·D_i changes at random times; D_i = U^{1/σ} (power law
//         P(D_i) ∝ D_i^{σ−1} truncated to (0, 1] instead of AnDi's
//         exponential cut-off), held for τ_i = D_i^{−γ} frames, γ uniform in
//         [1, 1/(1−α)) and σ = αγ, so σ < γ < σ + 1 and α = σ/γ. α = 1: Brownian.
//   ctrw  (0.05–1.00) continuous-time random walk: Pareto waiting times
//         P(τ) ∝ τ^{−1−α}, τ ≥ 1 frame, then a Gaussian jump N(0, 2 D dt) per axis.
//   fbm   (0.05–1.95) fractional Brownian motion, H = α/2 (Davies–Harte; H < 1).
//   lw    (1.05–2.00) Lévy walk: flights at constant speed v = sqrt(2 D / dt) in
//         uniformly random directions, durations P(τ) ∝ τ^{−1−s}, τ ≥ 1 frame,
//         s = 3 − α (s = 0.5, ballistic, at α = 2).
//   sbm   (0.05–2.00) scaled Brownian motion: Gaussian steps whose variance per
//         axis, 2 D dt^α (t^α − (t−1)^α) for step t, makes Var x(t) = 2 D (t dt)^α.
//
// Per-frame state labels (DeepSPT's four classes; AnDi has no confinement):
// α < 1 → subdiffusive, α = 1 → normal, α > 1 → directed, for every model
// (CTRW and ATTM trapping thus count as subdiffusive, LW as directed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/core/rng.hpp"
#include "phenoscale/spt/track.hpp"

namespace phenoscale::spt {

enum class AndiModel { attm, ctrw, fbm, lw, sbm };

// "attm" → AndiModel::attm etc.; throws ConfigError naming the accepted names.
AndiModel andi_model(const std::string& name);
std::string andi_model_name(AndiModel model);

// The AnDi exponents the model takes, ascending.
std::vector<double> andi_alpha_grid(AndiModel model);

// The DeepSPT class of a track with exponent α (α within 0.025 — half the
// grid step — of 1 is normal).
DiffusionState andi_state(double alpha);

// Speed of Lévy-walk flights for a track with coefficient D: per-frame flight
// length sqrt(2 D dt), that of a Brownian step.
double andi_lw_speed(double D, double dt);

// frames × dim noise-free positions continuing from the origin (the origin is
// not a frame). alpha must lie in the model's range (not necessarily on the grid).
std::vector<double> simulate_andi(AndiModel model, int dim, std::int64_t frames, double alpha, double D,
                                  double dt, core::Rng& rng);

}  // namespace phenoscale::spt
