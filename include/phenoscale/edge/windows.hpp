// Edge velocities per probing window: movie → one velocity series per ~500 nm
// stretch of the cell edge (DeepHACKS, Ma et al. 2024, Methods "cell edge
// tracking" and "probing windows"; docs/methods.md §3.1).
//
// The paper tracks the segmented boundary and samples protrusion velocities in
// 500 × 500 nm windows. Our own design for star-shaped cells (as a crawling
// cell's lamellipodial edge seen from above is, at the scale of a window):
//  1. Segment frame 0 (edge/segmentation.hpp: blur σ = sigma_px, Otsu, largest
//     component, holes filled) and take the mask centroid (cx, cy). It stays
//     fixed for the whole block, so ray j samples the same stretch of edge in
//     every frame: the boundary correspondence between frames.
//  2. Boundary length from frame 0 (a polygon over 720 rays), and
//     W = max(4, round(perimeter_nm / width_nm)) windows (or W = o.windows
//     when that is set) of rays_per_window rays
//     each; ray j points at θ_j = 2π(j + ½)/(W·rays_per_window), so window w
//     holds rays w·R .. w·R + R − 1 and is centred at 2π(w + ½)/W.
//  3. Every frame: segment it, then on each ray find the outermost
//     inside → outside crossing of the mask (stepping 0.25 px from the centre;
//     none if the ray leaves the image still inside) and refine it to sub-pixel
//     precision: the crossing of the Otsu threshold by the blurred image
//     (bilinear samples every 0.25 px along the ray, linear interpolation
//     between the two samples that straddle the level), the one nearest the
//     mask crossing within ±2 px. This gives the boundary point p_j(t).
//  4. Normal displacement between consecutive frames: (p_j(t) − p_j(t−1))·n_j,
//     n_j the outward unit normal of the boundary polygon at ray j (central
//     difference of the neighbouring rays' points), averaged over the two frames
//     so the step is symmetric in time. Window velocity = mean over its rays ×
//     pixel_nm / frame_s (nm/s, > 0 protrusion). A ray with no crossing in
//     either frame is left out of its window's mean; a window with no ray left
//     is NaN for that frame. Frame 0 is NaN (no previous frame).
// Frames are processed in parallel (OpenMP); the result does not depend on the
// thread count.
#pragma once

#include <vector>

#include "phenoscale/io/tiff.hpp"

namespace phenoscale::edge {

struct WindowOptions {
  double width_nm = 500.0;  // probing window size along the edge (paper: 500 nm)
  double pixel_nm = 65.0;   // pixel size
  double frame_s = 5.0;     // frame interval (paper: 5 s)
  double sigma_px = 1.0;    // segmentation blur
  int rays_per_window = 8;  // boundary samples per window
  // > 0: exactly this many windows instead of the count from the perimeter —
  // for simulated cells, their sector count, so that every window is centred
  // on one sector (edge/movie.hpp) and its planted truth is that sector's.
  int windows = 0;
};

// Throws ConfigError naming the first invalid field ("windows.<field> = <value>: expected ...").
void validate(const WindowOptions& o);

struct VelocityMap {
  int windows = 0, frames = 0;
  std::vector<double> velocity;  // windows × frames (velocity[w·frames + t]), nm/s; frame 0 is NaN
  std::vector<double> angle;     // window centre angle, rad in [0, 2π): atan2(row − cy, col − cx)
  std::vector<double> x, y;      // window centre on the frame-0 boundary, px (column, row)
  double cx = 0, cy = 0;         // the frame-0 centroid all rays start from, px (column, row)

  double at(int window, int frame) const {
    return velocity[static_cast<std::size_t>(window) * static_cast<std::size_t>(frames) +
                    static_cast<std::size_t>(frame)];
  }
};

// The velocity map of a movie block (see the header comment). InputError
// "frame F: no cell found (...)" for a frame without a cell (the caller adds
// the file name), and for an empty movie or data of the wrong size.
VelocityMap window_velocities(const io::ImageStack& movie, const WindowOptions& o);

}  // namespace phenoscale::edge
