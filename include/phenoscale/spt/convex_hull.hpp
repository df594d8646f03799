// Size of the region a track explores: area of the 2-D / volume of the 3-D
// convex hull of its positions (DeepSPT fingerprint, Kæstel-Hansen et al.
// 2024; docs/methods.md §2.3 "convex hull area/volume").
//
// 2-D: Andrew's monotone chain (Andrew 1979), O(n log n), then the shoelace
// formula. 3-D: incremental hull (O(n²) worst case — tracks have at most a few
// hundred frames): start from a non-degenerate tetrahedron of extreme points,
// add each outside point by deleting the faces it sees and fanning the horizon
// to it, then sum the signed tetrahedra of the outward-oriented faces.
//
// Degenerate input (fewer than 3 / 4 points, all collinear / coplanar) has
// measure 0. "Collinear/coplanar" is decided with a tolerance relative to the
// extent of the point set (1e-12 of its bounding-box diagonal, to the power of
// the dimension), so rounding noise on an exactly flat set does not produce a
// sliver of volume 1e-30.
#pragma once

#include <cstdint>

#include "phenoscale/spt/track.hpp"

namespace phenoscale::spt {

// Area of the convex hull of n points (x, y interleaved).
double convex_hull_area(const double* xy, std::int64_t n);

// Volume of the convex hull of n points (x, y, z interleaved).
double convex_hull_volume(const double* xyz, std::int64_t n);

// Area (dim 2) or volume (dim 3) of the hull of a track's positions.
// Throws InputError for another dimensionality.
double convex_hull_measure(const TrackView& track);

}  // namespace phenoscale::spt
