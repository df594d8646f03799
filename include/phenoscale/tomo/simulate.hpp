// Simulated subtomograms and tomograms (Xu et al. 2017, §3.1.1).
//
// A subtomogram is a class density map under a uniform random rotation and a
// random translation, seen through the acquisition: missing-wedge mask, CTF,
// detector MTF, then Gaussian noise scaled so that var(signal)/var(noise)
// equals the target SNR, with "signal" the noise-free subtomogram over the
// whole box. The random draws of sample i come from
// core::Rng(seed, Stream::rotation, i) and core::Rng(seed, Stream::noise, i),
// so a dataset is the same on any number of ranks. Two methods:
//  - fourier:     the Fourier-space shortcut of Xu et al. 2017 (wedge·CTF·MTF);
//  - tilt_series: projections at tilt angles (tilt axis y, beam z), noise at
//                 half the variance, CTF, noise at the other half, MTF, then
//                 weighted (ramp-filtered) back-projection. The projection
//                 noise variance is set from the SNR of the projections.
// Which method made a dataset is recorded with `method_name`.
// The empty class (no particle) has no signal of its own: its noise is that
// of a particle subtomogram, scaled to `empty_signal_variance` (the stage
// sets the mean signal variance of the dataset's particle classes), so an
// empty subtomogram is noise, not a box of zeros that no classifier misses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/core/rng.hpp"
#include "phenoscale/tomo/ctf.hpp"
#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::tomo {

enum class SimulationMethod { fourier, tilt_series };
std::string method_name(SimulationMethod m);           // "fourier" | "tilt_series"
SimulationMethod method_from_name(const std::string& name);  // throws ConfigError-style Error

struct AcquisitionSettings {
  double snr = 0.1;             // var(signal) / var(noise); +inf: no noise
  double tilt_max_deg = 60.0;   // tilt range ±tilt_max_deg
  double tilt_step_deg = 2.0;   // tilt_series method only
  CtfParameters ctf;            // 300 kV, −5 µm, Cs 2 mm
  bool apply_ctf = true;
  bool apply_mtf = true;
  SimulationMethod method = SimulationMethod::fourier;
  double empty_signal_variance = 0.0;  // used for a map without signal; 0: such a map stays noise-free
};

// The pose applied to the class map: out = shift(rotate(map, rotation), shift_voxels).
struct Pose {
  Mat3 rotation = identity_rotation();
  Vec3 shift_voxels{0, 0, 0};
};

struct SimulatedSubtomogram {
  Volume volume;
  Pose pose;
  double noise_sd = 0.0;  // NaN for tilt_series (noise is added per projection)
};

// The noise-free image of `v` through the acquisition (wedge, CTF, MTF or the
// tilt-series path without noise).
Volume acquire(const Volume& v, const AcquisitionSettings& a);
// Adds N(0, var(v)/snr) noise from `rng` (var(v) = 0: `empty_variance`
// instead); returns the noise standard deviation.
double add_noise(Volume& v, double snr, core::Rng& rng, double empty_variance = 0.0);
// The signal variance the noise of `map`'s subtomograms is scaled to, as a
// mean over 8 fixed random orientations: of the noise-free acquisition
// (fourier), or over the tilt series of the projections' (tilt_series); for
// `empty_signal_variance`.
double signal_variance(const Volume& map, const AcquisitionSettings& a);

// Sample `sample_index` of a dataset: random pose (rotation uniform on SO(3),
// shift uniform in [−max_shift_voxels, max_shift_voxels]³), acquisition, noise.
SimulatedSubtomogram simulate_subtomogram(const Volume& class_map, const AcquisitionSettings& a, std::uint64_t seed,
                                          std::uint64_t sample_index, double max_shift_voxels);

// A particle placed in a simulated tomogram.
struct PlacedParticle {
  int class_id = 0;
  Vec3 centre_voxel{0, 0, 0};  // where the class map's box centre landed
  Mat3 rotation = identity_rotation();
};

struct SimulatedTomogram {
  Volume tomogram;
  std::vector<PlacedParticle> particles;
};

struct TomogramSettings {
  int nx = 128, ny = 128, nz = 64;
  int particle_count = 20;        // attempted; fewer if the volume is full
  double min_gap_nm = 1.0;        // between the bounding spheres of two particles
  int max_attempts_per_particle = 200;
};

// A crowded tomogram: particles of the given classes (maps of equal voxel
// size, bounding radii in voxels) at random non-overlapping positions and
// random rotations, then acquired and noised as a whole. Draws from
// Rng(seed, Stream::placement, tomogram_index) and Rng(seed, Stream::noise, tomogram_index).
SimulatedTomogram simulate_tomogram(const std::vector<Volume>& class_maps, const std::vector<double>& radius_voxels,
                                    const TomogramSettings& t, const AcquisitionSettings& a, std::uint64_t seed,
                                    std::uint64_t tomogram_index);

// Radius (voxels, from the box centre) enclosing the voxels above
// `fraction` of a map's maximum: a bounding sphere for placement.
double bounding_radius_voxels(const Volume& map, double fraction = 0.05);

}  // namespace phenoscale::tomo
