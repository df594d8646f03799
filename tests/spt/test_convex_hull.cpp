// Convex hull area (2-D) and volume (3-D) of spt/convex_hull.hpp on polygons
// and polyhedra with known measure, with interior, boundary and duplicate
// points, in shuffled and rotated positions; flat sets have measure 0.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/spt/convex_hull.hpp"

using namespace phenoscale::spt;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

namespace {
constexpr double kPi = 3.14159265358979323846;

double area(const std::vector<double>& xy) { return convex_hull_area(xy.data(), static_cast<std::int64_t>(xy.size() / 2)); }
double volume(const std::vector<double>& p) { return convex_hull_volume(p.data(), static_cast<std::int64_t>(p.size() / 3)); }

// Appends `n` random convex combinations of the given vertices (interior points).
void add_interior(std::vector<double>& pts, int dim, int n, Rng& rng) {
  const std::vector<double> vertices = pts;
  const std::size_t nv = vertices.size() / static_cast<std::size_t>(dim);
  for (int i = 0; i < n; ++i) {
    std::vector<double> w(nv);
    double total = 0.0;
    for (double& x : w) total += x = rng.uniform(0.01, 1.0);
    for (int a = 0; a < dim; ++a) {
      double c = 0.0;
      for (std::size_t v = 0; v < nv; ++v) c += w[v] / total * vertices[v * dim + a];
      pts.push_back(c);
    }
  }
}

// Fisher–Yates shuffle of points (so the hull does not see them in a nice order).
void shuffle_points(std::vector<double>& pts, int dim, Rng& rng) {
  const std::size_t n = pts.size() / static_cast<std::size_t>(dim);
  for (std::size_t i = n; i-- > 1;) {
    const std::size_t j = rng.below(i + 1);
    for (int a = 0; a < dim; ++a) std::swap(pts[i * dim + a], pts[j * dim + a]);
  }
}

std::vector<double> cube_with_face_grids() {
  // The unit cube's 8 corners plus a 5×5 grid on each face (many coplanar
  // points on the hull's boundary).
  std::vector<double> p;
  for (int i = 0; i < 8; ++i) p.insert(p.end(), {double(i & 1), double((i >> 1) & 1), double((i >> 2) & 1)});
  for (int axis = 0; axis < 3; ++axis)
    for (double side : {0.0, 1.0})
      for (int u = 0; u <= 4; ++u)
        for (int v = 0; v <= 4; ++v) {
          double q[3];
          q[axis] = side;
          q[(axis + 1) % 3] = u / 4.0;
          q[(axis + 2) % 3] = v / 4.0;
          p.insert(p.end(), {q[0], q[1], q[2]});
        }
  return p;
}
}  // namespace

TEST(ConvexHull2d, KnownPolygonsWithInteriorPoints) {
  Rng rng(1, Stream::test, 0);
  std::vector<double> square = {0, 0, 1, 0, 1, 1, 0, 1};
  EXPECT_NEAR(area(square), 1.0, 1e-15);
  add_interior(square, 2, 50, rng);
  square.insert(square.end(), {0.5, 0.0, 1.0, 0.5, 0, 0});  // boundary point and a duplicate
  shuffle_points(square, 2, rng);
  EXPECT_NEAR(area(square), 1.0, 1e-14);

  std::vector<double> triangle = {0, 0, 4, 0, 1, 3};
  EXPECT_NEAR(area(triangle), 6.0, 1e-14);
  add_interior(triangle, 2, 30, rng);
  shuffle_points(triangle, 2, rng);
  EXPECT_NEAR(area(triangle), 6.0, 1e-13);

  std::vector<double> hexagon;  // regular, side 2: area (3√3/2)·4
  for (int i = 0; i < 6; ++i) hexagon.insert(hexagon.end(), {2 * std::cos(i * kPi / 3) + 5, 2 * std::sin(i * kPi / 3) - 1});
  add_interior(hexagon, 2, 100, rng);
  shuffle_points(hexagon, 2, rng);
  EXPECT_NEAR(area(hexagon), 6.0 * std::sqrt(3.0), 1e-12);
}

TEST(ConvexHull2d, DegenerateSetsHaveZeroArea) {
  EXPECT_EQ(area({}), 0.0);
  EXPECT_EQ(area({1, 2}), 0.0);
  EXPECT_EQ(area({1, 2, 3, 4}), 0.0);
  EXPECT_EQ(area({0, 0, 1, 1, 2, 2, 3, 3, 0.5, 0.5}), 0.0);           // collinear
  EXPECT_EQ(area({0.1, 0.3, 0.2, 0.6, 0.7, 2.1, 0.1, 0.3}), 0.0);     // collinear, y = 3x, with a duplicate
  EXPECT_EQ(area({2, 2, 2, 2, 2, 2}), 0.0);                           // one point, thrice
}

TEST(ConvexHull3d, KnownPolyhedraWithInteriorPoints) {
  Rng rng(2, Stream::test, 0);
  std::vector<double> cube;
  for (int i = 0; i < 8; ++i) cube.insert(cube.end(), {double(i & 1), double((i >> 1) & 1), double((i >> 2) & 1)});
  EXPECT_NEAR(volume(cube), 1.0, 1e-14);
  add_interior(cube, 3, 100, rng);
  shuffle_points(cube, 3, rng);
  EXPECT_NEAR(volume(cube), 1.0, 1e-13);

  std::vector<double> tetra = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
  EXPECT_NEAR(volume(tetra), 1.0 / 6.0, 1e-15);
  add_interior(tetra, 3, 40, rng);
  shuffle_points(tetra, 3, rng);
  EXPECT_NEAR(volume(tetra), 1.0 / 6.0, 1e-14);

  std::vector<double> octa = {1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1};
  EXPECT_NEAR(volume(octa), 4.0 / 3.0, 1e-14);
  add_interior(octa, 3, 60, rng);
  shuffle_points(octa, 3, rng);
  EXPECT_NEAR(volume(octa), 4.0 / 3.0, 1e-13);
}

TEST(ConvexHull3d, CoplanarPointsOnFacesAndRotation) {
  Rng rng(3, Stream::test, 0);
  std::vector<double> cube = cube_with_face_grids();
  shuffle_points(cube, 3, rng);
  EXPECT_NEAR(volume(cube), 1.0, 1e-12);
  // Rotated about (1, 2, 2)/3 by 0.7 rad, scaled by 2 and shifted: volume 8.
  const double ux = 1.0 / 3, uy = 2.0 / 3, uz = 2.0 / 3, c = std::cos(0.7), s = std::sin(0.7);
  const double r[9] = {c + ux * ux * (1 - c),      ux * uy * (1 - c) - uz * s, ux * uz * (1 - c) + uy * s,
                       uy * ux * (1 - c) + uz * s, c + uy * uy * (1 - c),      uy * uz * (1 - c) - ux * s,
                       uz * ux * (1 - c) - uy * s, uz * uy * (1 - c) + ux * s, c + uz * uz * (1 - c)};
  std::vector<double> rotated;
  for (std::size_t i = 0; i < cube.size(); i += 3)
    for (int a = 0; a < 3; ++a)
      rotated.push_back(2 * (r[a * 3] * cube[i] + r[a * 3 + 1] * cube[i + 1] + r[a * 3 + 2] * cube[i + 2]) + 10.0 * (a + 1));
  EXPECT_NEAR(volume(rotated), 8.0, 1e-10);
}

TEST(ConvexHull3d, RandomPointsInABall) {
  // 2000 uniform points in the unit ball (general position, hundreds of hull
  // vertices): the hull misses ≈ c·n^(−1/2) of the ball (measured 9.4 %); its
  // volume must not change when the points are shuffled and interior points
  // (convex combinations of four points) are added.
  Rng rng(4, Stream::test, 0);
  std::vector<double> p;
  while (p.size() < 6000) {
    const double x = rng.uniform(-1, 1), y = rng.uniform(-1, 1), z = rng.uniform(-1, 1);
    if (x * x + y * y + z * z <= 1.0) p.insert(p.end(), {x, y, z});
  }
  const double v = volume(p);
  std::printf("ball: hull volume / ball volume = %.4f\n", v / (4.0 * kPi / 3.0));
  EXPECT_LT(v, 4.0 * kPi / 3.0);
  EXPECT_GT(v, 0.85 * 4.0 * kPi / 3.0);
  std::vector<double> q = p;
  for (int i = 0; i < 500; ++i) {
    double w[4], total = 0.0;
    std::size_t idx[4];
    for (int j = 0; j < 4; ++j) {
      idx[j] = rng.below(2000);
      total += w[j] = rng.uniform(0.01, 1.0);
    }
    for (int a = 0; a < 3; ++a) {
      double c = 0.0;
      for (int j = 0; j < 4; ++j) c += w[j] / total * p[idx[j] * 3 + a];
      q.push_back(c);
    }
  }
  shuffle_points(q, 3, rng);
  EXPECT_NEAR(volume(q), v, 1e-12 * v);
}

TEST(ConvexHull3d, RandomPrismMatchesAreaTimesHeight) {
  // 300 random 2-D points copied to z = 0, 0.5 and 1.7: every point lies on
  // one of three planes, two of them hull faces, and the side faces are
  // vertical — heavy coplanarity. Volume = 2-D hull area × 1.7 exactly.
  for (std::uint64_t trial = 0; trial < 5; ++trial) {
    Rng rng(5, Stream::test, trial);
    std::vector<double> xy, xyz;
    for (int i = 0; i < 300; ++i) xy.insert(xy.end(), {rng.normal(), rng.normal()});
    for (double z : {0.0, 0.5, 1.7})
      for (std::size_t i = 0; i < xy.size(); i += 2) xyz.insert(xyz.end(), {xy[i], xy[i + 1], z});
    shuffle_points(xyz, 3, rng);
    EXPECT_NEAR(volume(xyz), area(xy) * 1.7, 1e-11) << "trial " << trial;
  }
}

TEST(ConvexHull3d, DegenerateSetsHaveZeroVolume) {
  EXPECT_EQ(volume({0, 0, 0, 1, 0, 0, 0, 1, 0}), 0.0);  // 3 points
  // Coplanar: a tilted plane z = 0.3x − 0.2y + 1 holding a grid of 25 points.
  std::vector<double> plane;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) plane.insert(plane.end(), {0.1 * i, 0.1 * j, 0.3 * 0.1 * i - 0.2 * 0.1 * j + 1.0});
  EXPECT_EQ(volume(plane), 0.0);
  EXPECT_EQ(volume({0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0.5, 0.5, 0.5}), 0.0);  // collinear
  EXPECT_EQ(volume(std::vector<double>(30, 1.5)), 0.0);                         // one point, ten times
}

TEST(ConvexHull, TrackMeasureDispatchesOnDimension) {
  const std::vector<double> xy = {0, 0, 2, 0, 2, 3, 0, 3};
  EXPECT_NEAR(convex_hull_measure({xy.data(), 4, 2}), 6.0, 1e-14);
  const std::vector<double> xyz = {0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3};
  EXPECT_NEAR(convex_hull_measure({xyz.data(), 4, 3}), 2.0, 1e-14);
  EXPECT_THROW(convex_hull_measure({xyz.data(), 3, 4}), phenoscale::InputError);
}
