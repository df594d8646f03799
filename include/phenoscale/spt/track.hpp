// Single-particle trajectories as the spt pipeline sees them (DeepSPT;
// docs/methods.md "spt").
//
// A track is `frames` positions in 2D or 3D, stored row-major (x, y[, z] per
// frame), with an optional per-frame diffusion state (simulated truth or a
// segmentation). The four states and their numbering are fixed by DeepSPT's
// output layer and by the segments.csv contract (docs/file-formats.md).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace phenoscale::spt {

enum DiffusionState : std::int64_t { normal = 0, directed = 1, confined = 2, subdiffusive = 3 };
constexpr int kStates = 4;
inline const std::array<std::string, kStates>& state_names() {
  static const std::array<std::string, kStates> names = {"normal", "directed", "confined", "subdiffusive"};
  return names;
}

// A read-only view of one track's positions (frames × dim, row-major).
struct TrackView {
  const double* xyz = nullptr;
  std::int64_t frames = 0;
  int dim = 2;
  double at(std::int64_t frame, int axis) const { return xyz[frame * dim + axis]; }
};

// One owned track: positions, per-frame states (empty when unknown) and the
// simulation's per-track parameters (0 when unknown).
struct Track {
  int dim = 2;
  std::vector<double> xyz;             // frames × dim
  std::vector<std::int64_t> states;    // frames, or empty
  double diffusion = 0.0;              // D of the whole track (simulation)
  double quality = 0.0;                // Q: localisation noise σ = sqrt(D dt)/Q (simulation)

  std::int64_t frames() const { return static_cast<std::int64_t>(xyz.size()) / dim; }
  TrackView view() const { return {xyz.data(), frames(), dim}; }
};

}  // namespace phenoscale::spt
