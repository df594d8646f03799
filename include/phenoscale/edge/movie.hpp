// Synthetic live-cell movies of one cell with a fluorescent membrane marker:
// the input of the edge pipeline when no microscope data is at hand, with the
// protrusion phenotypes of every stretch of the edge known (DeepHACKS, Ma et
// al. 2024, §2 and Methods; docs/methods.md §3.1).
//
// The cell is star-shaped about its centre (cx, cy). Its edge radius is
//   r(θ, t) = r0(θ) + D(θ, t),
// r0 = radius·(1 + a2 cos(2θ + φ2) + a3 cos(3θ + φ3)) with a2 = shape_amplitude·U[0.5, 1],
// a3 = a2/2 and random phases (a cell outline rather than a disk), and
// D(θ, t) the displacement of the edge sectors: the edge is cut into
// S = max(4, round(P / window_nm)) sectors, P the perimeter of the outline r0
// (about one probing window of arc each), centred at θ_k = 2π(k + ½)/S — the
// centres of the probing windows of edge/windows.hpp when the window count
// equals S — each with its own planted velocity series
// (edge/protrusion_model.hpp). Sector k's displacement
// at frame t is D_k(t) = frame_s · Σ_{s=1..t} v_k[s] (so D_k(0) = 0 and v_k[0]
// is never seen, matching the velocity map, whose frame 0 is undefined);
// between sector centres D is interpolated by a periodic Catmull–Rom cubic, so
// the boundary is smooth (C¹) and passes through D_k at θ_k.
//
// A frame is rendered at pixel centres (angle = atan2(row − cy, col − cx),
// distance ρ from the centre, d = r(θ) − ρ the signed depth inside the edge):
//   I = background + b(t)·[cell_level·Φ(d/σ) + rim_level·(Φ(d/σ) − Φ((d − rim_width)/σ))]
// with σ² = psf² + 1/12 (the PSF and the pixel's box integration: anti-aliased),
// the rim a membrane band rim_width_px deep just inside the edge, and
// b(t) = exp(−t/τ) photobleaching of the fluorescence (not of the background,
// which is mostly camera offset and ambient light). Camera noise: shot noise
// N(0, gain·I) (Poisson in the normal limit; gain in counts per photon) plus
// read noise N(0, read_noise²), then clamped to [0, 65535] and rounded, as a
// 16-bit camera stores it.
//
// The cell grows or shrinks with the sectors' net displacement (typically a few
// hundred nm per 60 frames with the default model); choose `size` with margin.
#pragma once

#include <vector>

#include "phenoscale/core/rng.hpp"
#include "phenoscale/edge/protrusion_model.hpp"
#include "phenoscale/io/tiff.hpp"

namespace phenoscale::edge {

struct MovieOptions {
  int size = 128;                                               // square frames, pixels
  double pixel_nm = 65.0;                                       // pixel size
  double radius_nm = 2500.0;                                    // mean cell radius
  double shape_amplitude = 0.08;                                // relative amplitude of the low-order harmonic shape
  double cell_level = 1200, rim_level = 600, background = 150;  // counts (before bleaching)
  double rim_width_px = 1.5;                                    // depth of the bright membrane band
  double psf_sigma_px = 0.8;                                    // Gaussian PSF sd
  double read_noise = 6.0;                                      // counts, sd
  double gain = 1.0;               // counts per photon: shot-noise variance = gain · signal
  double bleach_tau_frames = 600;  // fluorescence × exp(−t/τ); 0 disables bleaching
};

// Throws ConfigError naming the first invalid field ("movie.<field> = <value>: expected ...").
void validate(const MovieOptions& mo);

struct SimulatedCell {
  io::ImageStack movie;                // pm.frames × size × size, 16-bit counts as floats
  std::vector<PlantedSeries> sectors;  // S planted series, one per sector
  std::vector<double> sector_angle;    // centre angle of each sector, rad in [0, 2π), image coordinates
  double cx = 0.0, cy = 0.0;           // cell centre, px (column, row)
};

// Renders one frame into out[size·size] (row-major): the cell whose edge radius
// (px) at angle 2π i/n is radius_px[i] (i = 0..n−1; linear interpolation in
// between, periodic), at frame index `frame` (for bleaching), with camera
// noise from rng. The building block of simulate_cell, exposed so that tests
// can render cells whose edge motion is known exactly.
void render_frame(const MovieOptions& mo, double cx, double cy, const std::vector<double>& radius_px, int frame,
                  core::Rng& rng, float* out);

// A movie of pm.frames frames of one cell (see the header comment); every
// random number comes from rng, in a fixed order: shape and centre, then the
// sectors' series in sector order, then the camera noise frame by frame.
// ConfigError for invalid options or window_nm ≤ 0.
SimulatedCell simulate_cell(const MovieOptions& mo, const ProtrusionModel& pm, const std::vector<double>& proportions,
                            double window_nm, core::Rng& rng);

}  // namespace phenoscale::edge
