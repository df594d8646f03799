// Volumes and rigid-body geometry for subtomogram work (Xu et al. 2017).
//
// A `Volume` is a float32 grid (x fastest, then y, then z — the MRC and FFTW
// row-major order) with a voxel size in nm. Subtomograms and density maps
// are cubes; whole tomograms need not be. Rotations are 3×3 matrices built
// from ZYZ Euler angles (the convention of the paper's alignment code and of
// most subtomogram-averaging packages). A rotation of a volume acts about the
// grid centre, voxel index n/2 along each axis — the same point the Fourier
// helpers treat as the origin, so real-space and Fourier-space rotations agree.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "phenoscale/core/rng.hpp"

namespace phenoscale::tomo {

struct Volume {
  int nx = 0, ny = 0, nz = 0;
  double voxel_nm = 1.0;
  std::vector<float> data;

  Volume() = default;
  Volume(int nx_, int ny_, int nz_, double voxel_nm_ = 1.0);
  static Volume cube(int n, double voxel_nm_ = 1.0) { return Volume(n, n, n, voxel_nm_); }

  std::size_t size() const { return data.size(); }
  bool is_cube() const { return nx == ny && ny == nz; }
  std::size_t index(int x, int y, int z) const {
    return (static_cast<std::size_t>(z) * static_cast<std::size_t>(ny) + static_cast<std::size_t>(y)) *
               static_cast<std::size_t>(nx) +
           static_cast<std::size_t>(x);
  }
  float& at(int x, int y, int z) { return data[index(x, y, z)]; }
  float at(int x, int y, int z) const { return data[index(x, y, z)]; }
  bool same_shape(const Volume& o) const { return nx == o.nx && ny == o.ny && nz == o.nz; }
};

using Vec3 = std::array<double, 3>;
// Row-major 3×3 rotation matrix: (R v)_i = Σ_j R[3i+j] v_j.
using Mat3 = std::array<double, 9>;

// ZYZ Euler angles in radians: R = Rz(phi) · Ry(theta) · Rz(psi).
struct EulerZyz {
  double phi = 0.0, theta = 0.0, psi = 0.0;
};

Mat3 identity_rotation();
Mat3 rotation_zyz(const EulerZyz& angles);
// The inverse of rotation_zyz (theta in [0, π]; phi, psi in (−π, π]).
EulerZyz euler_from_rotation(const Mat3& r);
// RELION's Euler angles (rlnAngleRot, rlnAngleTilt, rlnAnglePsi; degrees) of
// a particle whose alignment rotation `to_reference` turns it onto the
// reference (rotate(particle, to_reference) ≈ reference). RELION's matrix
// A(rot, tilt, psi) (the ZYZ convention of Heymann, Chagoyen & Belnap 2005)
// maps reference coordinates to particle coordinates, so A = to_referenceᵀ
// and to_reference = Rz(rot)·Ry(tilt)·Rz(psi) = rotation_zyz.
std::array<double, 3> relion_angles_deg(const Mat3& to_reference);
// Rotation by `angle_rad` about the unit vector `axis` (right-handed).
Mat3 rotation_about_axis(const Vec3& axis, double angle_rad);
Mat3 multiply(const Mat3& a, const Mat3& b);
Mat3 transpose(const Mat3& r);
Vec3 rotate_vector(const Mat3& r, const Vec3& v);
// Angle of the rotation a^T b (the geodesic distance on SO(3)), in radians.
double geodesic_distance_rad(const Mat3& a, const Mat3& b);
// The geodesic distance of an alignment rotation `estimate` to the nearest
// rotation equivalent to `truth` under the map's point group: if
// rotate(map, g) = map, a particle rotate(map, P) is turned onto the map by
// Pᵀ and by every g·Pᵀ, so the distance is min over g of d(estimate, g·truth).
// An empty `group` counts as the identity alone.
double geodesic_distance_modulo_rad(const Mat3& estimate, const Mat3& truth, const std::vector<Mat3>& group);
// Uniform on SO(3) (Haar measure) from a uniform unit quaternion (Shoemake 1992).
Mat3 random_rotation(core::Rng& rng);

double mean(const Volume& v);
double variance(const Volume& v);  // population variance, double accumulators
// Zero mean, unit variance (a constant volume becomes all zeros).
void normalise(Volume& v);
// Pearson correlation of two same-shape volumes (0 if either is constant).
double correlation(const Volume& a, const Volume& b);

// Trilinear sample at a continuous voxel position; 0 outside the grid.
float sample_trilinear(const Volume& v, double x, double y, double z);
// out(x) = in(Rᵀ(x − c − shift) + c), c = (nx/2, ny/2, nz/2): rotates the
// content by `r` about the centre, then moves it by `shift_voxels`.
// Trilinear interpolation, zero outside. OpenMP over z.
Volume rotate(const Volume& v, const Mat3& r, const Vec3& shift_voxels = {0, 0, 0});
// Moves the content by a whole number of voxels (zero filled, not periodic).
Volume shift_integer(const Volume& v, int dx, int dy, int dz);
// Sub-voxel move by trilinear interpolation (rotate with the identity).
Volume shift(const Volume& v, const Vec3& shift_voxels);
// Copies the box of `out_n`³ voxels centred on voxel `centre` (zero outside).
Volume extract_box(const Volume& v, const std::array<int, 3>& centre, int out_n);

}  // namespace phenoscale::tomo
