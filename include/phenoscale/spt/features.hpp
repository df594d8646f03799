// Per-frame input channels of the DeepSPT segmentation network (docs/methods.md
// §2.2; docs/methods.md "spt features").
//
// For a track of N frames in `dim` dimensions, frame t gets dim + 2 values:
//   coordinates centred on the first position (x_t − x_0, ...) / s,
//   step length |x_t − x_{t−1}| / s           (0 at t = 0),
//   dot product (x_t − x_{t−1})·(x_{t−1} − x_{t−2}) / s²   (0 at t = 0, 1).
// 4 channels in 2D, 5 in 3D. Computed in double, stored as float32.
//
// Deviation (docs/methods.md): lengths are divided by the track's RMS step
// length s (dot products by s²). D spans 3.7 decades in the training set
// (docs/methods.md §2.1) and the classes differ in the shape of the motion, not its
// scale; unscaled, a 16-channel U-Net reached 0.48 per-frame accuracy on the
// demo set after 8 epochs, the rolling-MSD baseline's level.
#pragma once

#include <cstdint>
#include <vector>

#include "phenoscale/spt/track.hpp"

namespace phenoscale::spt {

// Channels per frame for a track dimensionality (dim + 2).
inline int feature_channels(int dim) { return dim + 2; }

// Appends frames × feature_channels(dim) values for `track` to `out`.
void append_frame_features(const TrackView& track, std::vector<float>& out);

}  // namespace phenoscale::spt
