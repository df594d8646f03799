// CTF, MTF and missing-wedge mask against their analytic values (Xu et al. 2017).
#include <gtest/gtest.h>

#include <cmath>

#include "phenoscale/tomo/ctf.hpp"
#include "phenoscale/tomo/missing_wedge.hpp"

using namespace phenoscale::tomo;

namespace {
constexpr double pi = 3.14159265358979323846;
}

// Textbook values, computed independently of ctf.cpp (Python, CODATA constants,
// scipy brentq on the sampled CTF) from the standard form with the underfocus
// Δf > 0: χ(k) = π λ Δf k² − (π/2) Cs λ³ k⁴, CTF = −sin(χ + asin A),
// λ = h / sqrt(2 m0 e V (1 + e V / (2 m0 c²))).
TEST(Ctf, RelativisticWavelengthAt300kV) {
  EXPECT_NEAR(electron_wavelength_nm(300.0), 1.9687489e-3, 2e-9);  // 1.9687 pm
  EXPECT_NEAR(electron_wavelength_nm(200.0), 2.5079340e-3, 2e-9);
}

TEST(Ctf, TextbookPhaseShiftAndCtfAt2umUnderfocus) {
  CtfParameters p;
  p.defocus_um = -2.0;  // underfocus
  p.cs_mm = 2.7;
  p.amplitude_contrast = 0.07;
  // k (1/nm) → CTF; χ: 0.12370, 0.49475, 1.11304, 3.09048, 12.33765 rad.
  const double k[] = {0.1, 0.2, 0.3, 0.5, 1.0};
  const double expected[] = {-0.192544194, -0.535252022, -0.925781083, 0.018944333, 0.157997738};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(ctf_value(k[i], p), expected[i], 2e-4) << "k = " << k[i];
  // With the wrong Cs sign (Cs adding to the underfocus) χ(1/nm) would be
  // 12.338 + 2·(π/2)·2.7e6 nm·λ³ = 12.402 rad and the CTF there +0.094, not +0.158.
  EXPECT_GT(ctf_value(1.0, p), 0.13);
}

TEST(Ctf, FirstZerosMatchTextbookForSeveralDefoci) {
  CtfParameters p;
  p.cs_mm = 2.7;
  p.amplitude_contrast = 0.07;
  // Underfocus (µm) → 1/k of the first three zeros (nm).
  const struct {
    double underfocus_um, zeros_nm[3];
  } table[] = {{0.5, {0.998123, 0.697884, 0.565476}},
               {1.0, {1.417183, 0.995095, 0.809870}},
               {2.0, {2.006163, 1.410081, 1.148785}},
               {3.0, {2.457481, 1.727622, 1.407745}},
               {5.0, {3.172888, 2.230767, 1.817904}}};
  for (const auto& row : table) {
    p.defocus_um = -row.underfocus_um;
    const auto zeros = ctf_zeros_per_nm(p, 3);
    ASSERT_EQ(zeros.size(), 3u);
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(1.0 / zeros[j], row.zeros_nm[j], 2e-5 * row.zeros_nm[j]) << row.underfocus_um;
  }
}

TEST(Ctf, ZerosAtTheAnalyticPositionsAndFirstZeroNear3p1nm) {
  const CtfParameters p;  // 300 kV, −5 µm, Cs 2 mm, no amplitude contrast
  const auto zeros = ctf_zeros_per_nm(p, 3);
  ASSERT_EQ(zeros.size(), 3u);
  // Textbook (see above): 1/k = 3.137351, 2.218355, 1.811208 nm.
  EXPECT_NEAR(1.0 / zeros[0], 3.137351, 1e-4);
  EXPECT_NEAR(1.0 / zeros[1], 2.218355, 1e-4);
  EXPECT_NEAR(1.0 / zeros[2], 1.811208, 1e-4);
  for (double k : zeros) {
    EXPECT_NEAR(ctf_value(k, p), 0.0, 1e-9);
    // A sign change across each zero.
    EXPECT_LT(ctf_value(k * 0.99, p) * ctf_value(k * 1.01, p), 0.0);
  }
  // Pure phase contrast: no contrast at k = 0; amplitude contrast A gives −A:
  // positive density images dark, and stays so up to the first zero.
  EXPECT_NEAR(ctf_value(0.0, p), 0.0, 1e-12);
  CtfParameters a = p;
  a.amplitude_contrast = 0.07;
  EXPECT_NEAR(ctf_value(0.0, a), -0.07, 1e-12);
  const auto za = ctf_zeros_per_nm(a, 1);
  for (double f : {0.1, 0.5, 0.9}) EXPECT_LT(ctf_value(f * za[0], a), 0.0) << f;
  EXPECT_NEAR(ctf_value(za[0], a), 0.0, 1e-9);
  EXPECT_LT(za[0], zeros[0]);  // amplitude contrast moves the first zero inwards
  // The envelope is exp(−1) at k = k_env.
  CtfParameters e = a;
  e.envelope_per_nm = 0.4;
  EXPECT_NEAR(ctf_value(0.4, e), ctf_value(0.4, a) * std::exp(-1.0), 1e-12);
}

// Without spherical aberration χ = c1·k² is linear in k²: the zeros are
// sqrt((mπ − φ)/c1), found as such (not a division by Cs = 0).
TEST(Ctf, ZerosWithoutSphericalAberration) {
  CtfParameters p;
  p.cs_mm = 0.0;
  p.amplitude_contrast = 0.07;
  const auto zeros = ctf_zeros_per_nm(p, 3);
  ASSERT_EQ(zeros.size(), 3u);
  for (std::size_t i = 0; i < zeros.size(); ++i) {
    EXPECT_NEAR(ctf_value(zeros[i], p), 0.0, 1e-9) << i;
    EXPECT_LT(ctf_value(zeros[i] * 0.99, p) * ctf_value(zeros[i] * 1.01, p), 0.0) << i;
    if (i > 0) {
      EXPECT_GT(zeros[i], zeros[i - 1]);
    }
  }
  for (double f : {0.1, 0.5, 0.9}) EXPECT_LT(ctf_value(f * zeros[0], p), 0.0) << "no zero below the first";
}

TEST(Ctf, MtfIsSincOfHalfPiOmega) {
  EXPECT_DOUBLE_EQ(mtf_value(0.0), 1.0);
  EXPECT_NEAR(mtf_value(1.0), 2.0 / pi, 1e-12);  // at Nyquist: sin(π/2)/(π/2)
  EXPECT_NEAR(mtf_value(0.5), std::sin(pi / 4) / (pi / 4), 1e-12);
  EXPECT_NEAR(mtf_value(2.0), 0.0, 1e-12);
}

TEST(Ctf, ApplyCtfScalesEachShellByItsValue) {
  Spectrum s(32, 32, 32, 0.92);
  for (auto& c : s.data) c = {1.0f, 0.0f};
  apply_ctf(s, CtfParameters{});
  const double k = 5.0 / 32 / 0.92;  // index 5 along x
  EXPECT_NEAR(s.data[s.index(5, 0, 0)].real(), ctf_value(k, CtfParameters{}), 1e-6);
  EXPECT_NEAR(s.data[s.index(0, 5, 0)].real(), ctf_value(k, CtfParameters{}), 1e-6);
  EXPECT_NEAR(s.data[s.index(0, 0, 27)].real(), ctf_value(k, CtfParameters{}), 1e-6);  // −5 along z
}

TEST(MissingWedge, ObservedRegionFollowsTheTiltGeometry) {
  // ±60°: directions up to 60° from k_x toward k_z are observed.
  EXPECT_TRUE(observed_frequency({1, 0, std::tan(59.9 * pi / 180)}, 60));
  EXPECT_FALSE(observed_frequency({1, 0, std::tan(60.1 * pi / 180)}, 60));
  EXPECT_FALSE(observed_frequency({0, 0, 1}, 60));  // the beam direction is the wedge centre
  EXPECT_TRUE(observed_frequency({0, 1, 0}, 60));   // the tilt axis is always seen
  EXPECT_TRUE(observed_frequency({0, 0, 0}, 60));
}

TEST(MissingWedge, MaskVolumeFractionEqualsTheAnalyticFraction) {
  // Inside a ball the observed fraction of directions is 2θ/π, because the
  // azimuth about the tilt axis y is uniform on the sphere and the observed
  // region is |azimuth from k_x| ≤ θ on both sides: 4θ / 2π.
  const int n = 96;
  // tan θ irrational: no grid point lies on the boundary plane.
  for (double tilt : {60.0, 50.0, 40.0}) {
    const auto mask = missing_wedge_mask(n, n, n, tilt);
    Spectrum shape(n, n, n);
    double inside = 0, observed = 0;
    const double r2 = 0.45 * 0.45;
    for_each_frequency(shape, [&](std::size_t i, int x, double fx, double fy, double fz) {
      if (fx * fx + fy * fy + fz * fz > r2) return;
      const double w = hermitian_weight(x, n);
      inside += w;
      observed += w * mask[i];
    });
    EXPECT_NEAR(observed / inside, observed_fraction_analytic(tilt), 0.003) << "tilt ±" << tilt;
  }
  EXPECT_NEAR(observed_fraction_analytic(60), 2.0 / 3.0, 1e-15);
}

TEST(MissingWedge, RotatedMaskIsTheMaskAtTheInverselyRotatedFrequency) {
  const int n = 16;
  // A 90° turn about y moves the wedge from around k_z to around k_x.
  const Mat3 r = rotation_zyz({0, pi / 2, 0});
  const auto mask = missing_wedge_mask(n, n, n, 60, r);
  Spectrum shape(n, n, n);
  EXPECT_EQ(mask[shape.index(0, 0, 4)], 1.0f);  // k_z now observed
  EXPECT_EQ(mask[shape.index(4, 0, 0)], 0.0f);  // k_x now missing
}
