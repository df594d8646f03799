// Test helper for the tomo tests: the alignment that undoes a simulated pose.
#pragma once

#include "phenoscale/tomo/alignment.hpp"
#include "phenoscale/tomo/simulate.hpp"

namespace phenoscale::testing {

// What brings a subtomogram simulated at `pose` back to the map's frame
// (rotation Rᵀ, shift −Rᵀs), optionally turned further by `wobble` (a start
// perturbed away from the truth).
inline tomo::AlignmentResult true_alignment(const tomo::Pose& pose,
                                            const tomo::Mat3& wobble = tomo::identity_rotation()) {
  tomo::AlignmentResult a;
  a.rotation = tomo::multiply(wobble, tomo::transpose(pose.rotation));
  const tomo::Vec3 back = tomo::rotate_vector(a.rotation, pose.shift_voxels);
  a.shift_voxels = {-back[0], -back[1], -back[2]};
  return a;
}

}  // namespace phenoscale::testing
