#include "phenoscale/spt/convex_hull.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "phenoscale/core/error.hpp"

namespace phenoscale::spt {
namespace {

using P2 = std::array<double, 2>;
using P3 = std::array<double, 3>;
constexpr double kRelativeTolerance = 1e-12;

double cross(const P2& o, const P2& a, const P2& b) {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

P3 sub(const P3& a, const P3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
P3 cross(const P3& a, const P3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double dot(const P3& a, const P3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
double norm2(const P3& a) { return dot(a, a); }

// Six times the signed volume of tetrahedron (a, b, c, p): positive when p
// lies on the side of plane (a, b, c) that its normal (b − a) × (c − a) faces.
double orient(const P3& a, const P3& b, const P3& c, const P3& p) {
  return dot(cross(sub(b, a), sub(c, a)), sub(p, a));
}

// Length of the bounding-box diagonal (the scale of all tolerances).
template <std::size_t D>
double extent(const std::vector<std::array<double, D>>& pts) {
  double s = 0.0;
  for (std::size_t a = 0; a < D; ++a) {
    double lo = pts[0][a], hi = pts[0][a];
    for (const auto& p : pts) {
      lo = std::min(lo, p[a]);
      hi = std::max(hi, p[a]);
    }
    s += (hi - lo) * (hi - lo);
  }
  return std::sqrt(s);
}

// ---- 2-D: monotone chain -------------------------------------------------

std::vector<P2> hull_2d(std::vector<P2> pts) {
  std::sort(pts.begin(), pts.end());
  pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
  if (pts.size() < 3) return pts;
  std::vector<P2> hull(2 * pts.size());
  std::size_t k = 0;
  for (const P2& p : pts) {  // lower chain
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], p) <= 0.0) --k;
    hull[k++] = p;
  }
  const std::size_t lower = k + 1;
  for (std::size_t i = pts.size() - 1; i-- > 0;) {  // upper chain
    while (k >= lower && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0.0) --k;
    hull[k++] = pts[i];
  }
  hull.resize(k - 1);  // the last point repeats the first
  return hull;
}

// ---- 3-D: incremental hull -----------------------------------------------

struct Face {
  std::array<int, 3> v;  // counter-clockwise seen from outside
  bool alive = true;
};

// Four affinely independent points, or false when the set is (nearly) flat.
bool initial_tetrahedron(const std::vector<P3>& pts, double tol, std::array<int, 4>& out) {
  const int n = static_cast<int>(pts.size());
  int i0 = 0;
  for (int i = 1; i < n; ++i)
    if (pts[i] < pts[i0]) i0 = i;
  int i1 = i0;
  for (int i = 0; i < n; ++i)
    if (norm2(sub(pts[i], pts[i0])) > norm2(sub(pts[i1], pts[i0]))) i1 = i;
  const P3 axis = sub(pts[i1], pts[i0]);
  int i2 = i0;
  double best = 0.0;
  for (int i = 0; i < n; ++i) {
    const double d = norm2(cross(axis, sub(pts[i], pts[i0])));
    if (d > best) {
      best = d;
      i2 = i;
    }
  }
  int i3 = i0;
  best = 0.0;
  for (int i = 0; i < n; ++i) {
    const double d = std::abs(orient(pts[i0], pts[i1], pts[i2], pts[i]));
    if (d > best) {
      best = d;
      i3 = i;
    }
  }
  if (!(best > tol)) return false;
  out = {i0, i1, i2, i3};
  return true;
}

std::vector<Face> hull_3d(const std::vector<P3>& pts, double tol) {
  std::array<int, 4> t{};
  if (pts.size() < 4 || !initial_tetrahedron(pts, tol, t)) return {};
  // The tetrahedron's faces, each turned so that its fourth vertex lies
  // behind it (outward orientation, which every later face inherits).
  std::vector<Face> faces;
  for (int skip = 0; skip < 4; ++skip) {
    Face f;
    for (int i = 0, j = 0; i < 4; ++i)
      if (i != skip) f.v[j++] = t[i];
    if (orient(pts[f.v[0]], pts[f.v[1]], pts[f.v[2]], pts[t[skip]]) > 0.0) std::swap(f.v[1], f.v[2]);
    faces.push_back(f);
  }
  for (int p = 0; p < static_cast<int>(pts.size()); ++p) {
    if (p == t[0] || p == t[1] || p == t[2] || p == t[3]) continue;
    // Directed edges of the faces p sees; a horizon edge is one whose twin
    // belongs to a face p does not see.
    std::map<std::pair<int, int>, bool> visible_edges;
    bool outside = false;
    for (Face& f : faces) {
      if (!f.alive || !(orient(pts[f.v[0]], pts[f.v[1]], pts[f.v[2]], pts[p]) > tol)) continue;
      outside = true;
      f.alive = false;
      for (int e = 0; e < 3; ++e) visible_edges[{f.v[e], f.v[(e + 1) % 3]}] = true;
    }
    if (!outside) continue;  // inside or on the current hull
    for (const auto& [edge, unused] : visible_edges)
      if (!visible_edges.count({edge.second, edge.first})) faces.push_back({{edge.first, edge.second, p}});
    faces.erase(std::remove_if(faces.begin(), faces.end(), [](const Face& f) { return !f.alive; }), faces.end());
  }
  return faces;
}

}  // namespace

double convex_hull_area(const double* xy, std::int64_t n) {
  if (n < 0 || (n > 0 && xy == nullptr)) throw InputError("convex_hull_area: bad point array");
  if (n < 3) return 0.0;
  std::vector<P2> pts(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) pts[static_cast<std::size_t>(i)] = {xy[2 * i], xy[2 * i + 1]};
  const double scale = extent(pts);
  const std::vector<P2> hull = hull_2d(pts);
  if (hull.size() < 3) return 0.0;
  double twice = 0.0;  // shoelace
  for (std::size_t i = 0; i < hull.size(); ++i) {
    const P2& a = hull[i];
    const P2& b = hull[(i + 1) % hull.size()];
    twice += a[0] * b[1] - a[1] * b[0];
  }
  const double area = 0.5 * std::abs(twice);
  return area > kRelativeTolerance * scale * scale ? area : 0.0;
}

double convex_hull_volume(const double* xyz, std::int64_t n) {
  if (n < 0 || (n > 0 && xyz == nullptr)) throw InputError("convex_hull_volume: bad point array");
  if (n < 4) return 0.0;
  std::vector<P3> pts(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) pts[static_cast<std::size_t>(i)] = {xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]};
  const double scale = extent(pts);
  const std::vector<Face> faces = hull_3d(pts, kRelativeTolerance * scale * scale * scale);
  if (faces.empty()) return 0.0;
  // Signed tetrahedra from a reference point (a vertex: keeps the numbers small).
  const P3 o = pts[static_cast<std::size_t>(faces[0].v[0])];
  double six = 0.0;
  for (const Face& f : faces) six += orient(o, pts[f.v[0]], pts[f.v[1]], pts[f.v[2]]);
  return std::abs(six) / 6.0;
}

double convex_hull_measure(const TrackView& track) {
  if (track.dim == 2) return convex_hull_area(track.xyz, track.frames);
  if (track.dim == 3) return convex_hull_volume(track.xyz, track.frames);
  throw InputError("convex hull: tracks must be 2-D or 3-D, got dim = " + std::to_string(track.dim));
}

}  // namespace phenoscale::spt
