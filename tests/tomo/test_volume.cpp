// Geometry and Fourier helpers of tomo/: ZYZ rotations, uniform SO(3)
// sampling, rotation/shift of volumes about the box centre, normalisation,
// FFT round trips and Fourier shifts — each against a known answer.
#include <gtest/gtest.h>

#include <cmath>

#include "phenoscale/tomo/fourier.hpp"
#include "phenoscale/tomo/volume.hpp"

using namespace phenoscale::tomo;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

namespace {
constexpr double pi = 3.14159265358979323846;
double deg(double d) { return d * pi / 180.0; }

// An anisotropic Gaussian blob, to make rotations visible.
Volume blob(int n, const Vec3& centre, const Vec3& sigma) {
  Volume v = Volume::cube(n);
  for (int z = 0; z < n; ++z)
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) {
        const double dx = (x - centre[0]) / sigma[0], dy = (y - centre[1]) / sigma[1], dz = (z - centre[2]) / sigma[2];
        v.at(x, y, z) = static_cast<float>(std::exp(-0.5 * (dx * dx + dy * dy + dz * dz)));
      }
  return v;
}
}  // namespace

TEST(Rotation, ZyzOfKnownAnglesMapsAxesAsExpected) {
  // Rz(90°) sends x to y; Ry(90°) sends z to x.
  const auto rz = rotation_zyz({deg(90), 0, 0});
  const auto e = rotate_vector(rz, {1, 0, 0});
  EXPECT_NEAR(e[0], 0, 1e-12);
  EXPECT_NEAR(e[1], 1, 1e-12);
  const auto ry = rotation_zyz({0, deg(90), 0});
  const auto f = rotate_vector(ry, {0, 0, 1});
  EXPECT_NEAR(f[0], 1, 1e-12);
  EXPECT_NEAR(f[2], 0, 1e-12);
}

TEST(Rotation, EulerRoundTripAndGeodesicDistance) {
  Rng rng(7, Stream::test, 0);
  for (int i = 0; i < 200; ++i) {
    const Mat3 r = random_rotation(rng);
    const Mat3 back = rotation_zyz(euler_from_rotation(r));
    EXPECT_LT(geodesic_distance_rad(r, back), 1e-6);
    // Orthonormal with determinant +1.
    const Mat3 rtr = multiply(transpose(r), r);
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(rtr[k], (k % 4 == 0) ? 1.0 : 0.0, 1e-12);
  }
  // A 30° turn about any axis is 30° away from the identity.
  EXPECT_NEAR(geodesic_distance_rad(identity_rotation(), rotation_about_axis({1, 2, 3}, deg(30))), deg(30), 1e-9);
  // Degenerate theta = 0 and π.
  for (double theta : {0.0, pi}) {
    const Mat3 r = rotation_zyz({deg(40), theta, deg(25)});
    EXPECT_LT(geodesic_distance_rad(r, rotation_zyz(euler_from_rotation(r))), 1e-6);
  }
}

// RELION's Euler_angles2matrix written out element by element as RELION
// documents it (Heymann, Chagoyen & Belnap 2005), independently of our
// rotation_zyz: A maps reference coordinates to particle coordinates.
Mat3 relion_matrix(double rot_deg, double tilt_deg, double psi_deg) {
  const double ca = std::cos(deg(rot_deg)), sa = std::sin(deg(rot_deg));
  const double cb = std::cos(deg(tilt_deg)), sb = std::sin(deg(tilt_deg));
  const double cg = std::cos(deg(psi_deg)), sg = std::sin(deg(psi_deg));
  const double cc = cb * ca, cs = cb * sa, sc = sb * ca, ss = sb * sa;
  return {cg * cc - sg * sa,  cg * cs + sg * ca,  -cg * sb,  //
          -sg * cc - cg * sa, -sg * cs + cg * ca, sg * sb,   //
          sc,                 ss,                 cb};
}

TEST(Rotation, RelionAnglesGiveTheTransposeOfTheAlignmentRotation) {
  Rng rng(11, Stream::test, 0);
  for (int i = 0; i < 100; ++i) {
    const Mat3 to_reference = random_rotation(rng);
    const auto a = relion_angles_deg(to_reference);
    EXPECT_GE(a[1], 0.0);
    EXPECT_LE(a[1], 180.0);
    EXPECT_LT(geodesic_distance_rad(relion_matrix(a[0], a[1], a[2]), transpose(to_reference)), 1e-6);  // acos resolves ~1e-8
  }
  // A particle turned by +30° about z needs −30° to reach the reference:
  // RELION's rot + psi is then −30° (tilt 0).
  const auto a = relion_angles_deg(rotation_about_axis({0, 0, 1}, deg(-30)));
  EXPECT_NEAR(a[1], 0.0, 1e-9);
  EXPECT_NEAR(a[0] + a[2], -30.0, 1e-9);
  // The projection direction (A's third row) for a 90° tilt about y is the x axis.
  const auto b = relion_angles_deg(rotation_about_axis({0, 1, 0}, deg(90)));
  const Mat3 m = relion_matrix(b[0], b[1], b[2]);
  EXPECT_NEAR(std::abs(m[6]), 1.0, 1e-9);
}

TEST(Rotation, RandomRotationsAreUniformOnSO3) {
  // Under the Haar measure E[trace R] = 0 (the angle ω has density
  // (1 − cos ω)/π and trace = 1 + 2cos ω), and R e_z is uniform on the
  // sphere (E[z] = 0, E[z²] = 1/3).
  Rng rng(11, Stream::rotation, 0);
  const int n = 20000;
  double trace = 0, z = 0, z2 = 0;
  for (int i = 0; i < n; ++i) {
    const Mat3 r = random_rotation(rng);
    trace += r[0] + r[4] + r[8];
    z += r[8];
    z2 += r[8] * r[8];
  }
  EXPECT_NEAR(trace / n, 0.0, 0.03);  // sd of the trace is 1 → 5σ ≈ 0.035
  EXPECT_NEAR(z / n, 0.0, 0.02);
  EXPECT_NEAR(z2 / n, 1.0 / 3.0, 0.01);
}

TEST(VolumeOps, RotationAboutCentreMovesAnOffCentreBlobWhereExpected) {
  const int n = 32;  // centre at 16
  const Volume v = blob(n, {22, 16, 16}, {1.5, 1.5, 1.5});
  // Rz(90°): +x offset 6 becomes +y offset 6.
  const Volume r = rotate(v, rotation_zyz({deg(90), 0, 0}));
  EXPECT_NEAR(r.at(16, 22, 16), 1.0, 1e-5);
  EXPECT_NEAR(r.at(22, 16, 16), 0.0, 1e-3);
  // Rotation then shift by (−2, 1, 3).
  const Volume rs = rotate(v, rotation_zyz({deg(90), 0, 0}), {-2, 1, 3});
  EXPECT_NEAR(rs.at(14, 23, 19), 1.0, 1e-5);
}

TEST(VolumeOps, RotationPreservesAnIsotropicBlobAndInvertsExactlyForQuarterTurns) {
  const int n = 24;
  const Volume v = blob(n, {12, 12, 12}, {1.5, 2.0, 2.5});  // ~0 at the faces, which the turn moves out
  const Mat3 r = rotation_zyz({deg(90), deg(90), deg(-90)});  // a permutation of axes
  const Volume back = rotate(rotate(v, r), transpose(r));
  double max_err = 0;
  for (std::size_t i = 0; i < v.size(); ++i) max_err = std::max(max_err, double(std::abs(back.data[i] - v.data[i])));
  EXPECT_LT(max_err, 1e-5);
  // A general rotation and its inverse recover the blob up to interpolation blur.
  const Mat3 g = rotation_zyz({deg(33), deg(71), deg(-12)});
  EXPECT_GT(correlation(rotate(rotate(v, g), transpose(g)), v), 0.99);
  EXPECT_LT(correlation(rotate(v, g), v), 0.95);  // and it did change the volume
}

TEST(VolumeOps, IntegerAndSubvoxelShifts) {
  const Volume v = blob(24, {12, 12, 12}, {1.5, 1.5, 1.5});
  const Volume s = shift_integer(v, 3, -2, 1);
  EXPECT_FLOAT_EQ(s.at(15, 10, 13), v.at(12, 12, 12));
  const Volume h = shift(v, {0.5, 0, 0});
  // Halfway between voxels 12 and 13: the mean of the two samples.
  EXPECT_NEAR(h.at(13, 12, 12), 0.5 * (v.at(12, 12, 12) + v.at(13, 12, 12)), 1e-6);
  const Volume f = shift_fourier(v, {3, -2, 1});
  EXPECT_NEAR(f.at(15, 10, 13), 1.0, 1e-4);
}

TEST(VolumeOps, NormaliseGivesZeroMeanUnitVariance) {
  Volume v = blob(16, {5, 6, 7}, {2, 2, 2});
  for (auto& x : v.data) x = 3.0f * x + 10.0f;
  normalise(v);
  EXPECT_NEAR(mean(v), 0.0, 1e-6);
  EXPECT_NEAR(variance(v), 1.0, 1e-5);
  Volume c = Volume::cube(4);
  for (auto& x : c.data) x = 2.0f;
  normalise(c);
  EXPECT_EQ(variance(c), 0.0);
}

TEST(Fourier, RoundTripAndKnownCoefficients) {
  Volume v(12, 10, 8);
  Rng rng(3, Stream::test, 1);
  for (auto& x : v.data) x = static_cast<float>(rng.normal());
  const Spectrum s = forward_fft(v);
  ASSERT_EQ(s.size(), std::size_t(8 * 10 * 7));
  double sum = 0;
  for (float x : v.data) sum += x;
  EXPECT_NEAR(s.data[0].real(), sum, 1e-3);  // DC term = sum of voxels
  const Volume back = inverse_fft(s);
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_NEAR(back.data[i], v.data[i], 1e-5);
  // A plane wave cos(2π·2x/12) has its energy at kx = 2 only.
  Volume w(12, 10, 8);
  for (int z = 0; z < 8; ++z)
    for (int y = 0; y < 10; ++y)
      for (int x = 0; x < 12; ++x) w.at(x, y, z) = static_cast<float>(std::cos(2 * pi * 2 * x / 12.0));
  const Spectrum ws = forward_fft(w);
  EXPECT_NEAR(std::abs(ws.data[ws.index(2, 0, 0)]), 12 * 10 * 8 / 2.0, 1e-2);
  EXPECT_NEAR(std::abs(ws.data[ws.index(1, 0, 0)]), 0.0, 1e-2);
  EXPECT_EQ(signed_frequency(7, 12), -5);
  EXPECT_EQ(signed_frequency(6, 12), 6);
}
