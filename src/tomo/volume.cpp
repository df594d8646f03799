// Volumes and rigid-body geometry (see include/phenoscale/tomo/volume.hpp).
#include "phenoscale/tomo/volume.hpp"

#include <algorithm>
#include <cmath>

#include "phenoscale/core/error.hpp"

namespace phenoscale::tomo {

Volume::Volume(int nx_, int ny_, int nz_, double voxel_nm_) : nx(nx_), ny(ny_), nz(nz_), voxel_nm(voxel_nm_) {
  if (nx <= 0 || ny <= 0 || nz <= 0)
    throw Error("tomo::Volume: expected positive dimensions, found " + std::to_string(nx) + "x" +
                std::to_string(ny) + "x" + std::to_string(nz));
  data.assign(static_cast<std::size_t>(nx) * ny * nz, 0.0f);
}

Mat3 identity_rotation() { return {1, 0, 0, 0, 1, 0, 0, 0, 1}; }

namespace {
Mat3 rotation_z(double a) {
  const double c = std::cos(a), s = std::sin(a);
  return {c, -s, 0, s, c, 0, 0, 0, 1};
}
Mat3 rotation_y(double a) {
  const double c = std::cos(a), s = std::sin(a);
  return {c, 0, s, 0, 1, 0, -s, 0, c};
}
}  // namespace

Mat3 multiply(const Mat3& a, const Mat3& b) {
  Mat3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += a[3 * i + k] * b[3 * k + j];
      r[3 * i + j] = s;
    }
  return r;
}

Mat3 transpose(const Mat3& r) { return {r[0], r[3], r[6], r[1], r[4], r[7], r[2], r[5], r[8]}; }

Vec3 rotate_vector(const Mat3& r, const Vec3& v) {
  return {r[0] * v[0] + r[1] * v[1] + r[2] * v[2], r[3] * v[0] + r[4] * v[1] + r[5] * v[2],
          r[6] * v[0] + r[7] * v[1] + r[8] * v[2]};
}

Mat3 rotation_zyz(const EulerZyz& e) {
  return multiply(rotation_z(e.phi), multiply(rotation_y(e.theta), rotation_z(e.psi)));
}

EulerZyz euler_from_rotation(const Mat3& r) {
  EulerZyz e;
  const double c = std::clamp(r[8], -1.0, 1.0);
  e.theta = std::acos(c);
  const double s = std::sqrt(std::max(0.0, 1.0 - c * c));
  if (s > 1e-9) {
    e.phi = std::atan2(r[5], r[2]);
    e.psi = std::atan2(r[7], -r[6]);
  } else if (c > 0) {  // theta = 0: only phi + psi is defined
    e.phi = std::atan2(r[3], r[0]);
  } else {  // theta = π: only phi − psi is defined
    e.phi = std::atan2(-r[1], r[4]);
  }
  return e;
}

std::array<double, 3> relion_angles_deg(const Mat3& to_reference) {
  constexpr double kDeg = 180.0 / 3.14159265358979323846;
  const EulerZyz e = euler_from_rotation(to_reference);
  return {e.phi * kDeg, e.theta * kDeg, e.psi * kDeg};
}

Mat3 rotation_about_axis(const Vec3& axis, double angle) {
  const double norm = std::sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
  const double x = axis[0] / norm, y = axis[1] / norm, z = axis[2] / norm;
  const double c = std::cos(angle), s = std::sin(angle), t = 1 - c;
  return {t * x * x + c,     t * x * y - s * z, t * x * z + s * y,  //
          t * x * y + s * z, t * y * y + c,     t * y * z - s * x,  //
          t * x * z - s * y, t * y * z + s * x, t * z * z + c};
}

double geodesic_distance_rad(const Mat3& a, const Mat3& b) {
  double trace = 0;  // trace(aᵀ b)
  for (int i = 0; i < 9; ++i) trace += a[i] * b[i];
  return std::acos(std::clamp((trace - 1.0) / 2.0, -1.0, 1.0));
}

double geodesic_distance_modulo_rad(const Mat3& estimate, const Mat3& truth, const std::vector<Mat3>& group) {
  double best = geodesic_distance_rad(estimate, truth);
  for (const auto& g : group) best = std::min(best, geodesic_distance_rad(estimate, multiply(g, truth)));
  return best;
}

Mat3 random_rotation(core::Rng& rng) {
  const double pi = 3.14159265358979323846;
  const double u1 = rng.uniform(), u2 = rng.uniform(), u3 = rng.uniform();
  const double a = std::sqrt(1 - u1), b = std::sqrt(u1);
  const double x = a * std::sin(2 * pi * u2), y = a * std::cos(2 * pi * u2);
  const double z = b * std::sin(2 * pi * u3), w = b * std::cos(2 * pi * u3);
  return {1 - 2 * (y * y + z * z), 2 * (x * y - z * w),     2 * (x * z + y * w),  //
          2 * (x * y + z * w),     1 - 2 * (x * x + z * z), 2 * (y * z - x * w),  //
          2 * (x * z - y * w),     2 * (y * z + x * w),     1 - 2 * (x * x + y * y)};
}

double mean(const Volume& v) {
  double s = 0;
  for (float x : v.data) s += x;
  return v.data.empty() ? 0.0 : s / static_cast<double>(v.data.size());
}

double variance(const Volume& v) {
  const double m = mean(v);
  double s = 0;
  for (float x : v.data) s += (x - m) * (x - m);
  return v.data.empty() ? 0.0 : s / static_cast<double>(v.data.size());
}

void normalise(Volume& v) {
  const double m = mean(v), var = variance(v);
  const double scale = var > 0 ? 1.0 / std::sqrt(var) : 0.0;
  for (float& x : v.data) x = static_cast<float>((x - m) * scale);
}

double correlation(const Volume& a, const Volume& b) {
  if (!a.same_shape(b)) throw Error("tomo::correlation: volumes differ in shape");
  const double ma = mean(a), mb = mean(b);
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double da = a.data[i] - ma, db = b.data[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return (saa > 0 && sbb > 0) ? sab / std::sqrt(saa * sbb) : 0.0;
}

float sample_trilinear(const Volume& v, double x, double y, double z) {
  const double fx = std::floor(x), fy = std::floor(y), fz = std::floor(z);
  const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy), z0 = static_cast<int>(fz);
  if (x0 < -1 || y0 < -1 || z0 < -1 || x0 >= v.nx || y0 >= v.ny || z0 >= v.nz) return 0.0f;
  const double tx = x - fx, ty = y - fy, tz = z - fz;
  double acc = 0;
  for (int dz = 0; dz < 2; ++dz) {
    const int zz = z0 + dz;
    if (zz < 0 || zz >= v.nz) continue;
    const double wz = dz ? tz : 1 - tz;
    for (int dy = 0; dy < 2; ++dy) {
      const int yy = y0 + dy;
      if (yy < 0 || yy >= v.ny) continue;
      const double wy = dy ? ty : 1 - ty;
      for (int dx = 0; dx < 2; ++dx) {
        const int xx = x0 + dx;
        if (xx < 0 || xx >= v.nx) continue;
        acc += wz * wy * (dx ? tx : 1 - tx) * v.at(xx, yy, zz);
      }
    }
  }
  return static_cast<float>(acc);
}

Volume rotate(const Volume& v, const Mat3& r, const Vec3& shift_voxels) {
  Volume out(v.nx, v.ny, v.nz, v.voxel_nm);
  const Mat3 rt = transpose(r);
  const double cx = v.nx / 2, cy = v.ny / 2, cz = v.nz / 2;
#pragma omp parallel for schedule(static)
  for (int z = 0; z < v.nz; ++z)
    for (int y = 0; y < v.ny; ++y)
      for (int x = 0; x < v.nx; ++x) {
        const Vec3 p = rotate_vector(rt, {x - cx - shift_voxels[0], y - cy - shift_voxels[1], z - cz - shift_voxels[2]});
        out.at(x, y, z) = sample_trilinear(v, p[0] + cx, p[1] + cy, p[2] + cz);
      }
  return out;
}

Volume shift_integer(const Volume& v, int dx, int dy, int dz) {
  Volume out(v.nx, v.ny, v.nz, v.voxel_nm);
  for (int z = 0; z < v.nz; ++z) {
    const int sz = z - dz;
    if (sz < 0 || sz >= v.nz) continue;
    for (int y = 0; y < v.ny; ++y) {
      const int sy = y - dy;
      if (sy < 0 || sy >= v.ny) continue;
      for (int x = 0; x < v.nx; ++x) {
        const int sx = x - dx;
        if (sx >= 0 && sx < v.nx) out.at(x, y, z) = v.at(sx, sy, sz);
      }
    }
  }
  return out;
}

Volume shift(const Volume& v, const Vec3& shift_voxels) { return rotate(v, identity_rotation(), shift_voxels); }

Volume extract_box(const Volume& v, const std::array<int, 3>& centre, int out_n) {
  Volume out = Volume::cube(out_n, v.voxel_nm);
  const int h = out_n / 2;
  for (int z = 0; z < out_n; ++z) {
    const int sz = centre[2] - h + z;
    if (sz < 0 || sz >= v.nz) continue;
    for (int y = 0; y < out_n; ++y) {
      const int sy = centre[1] - h + y;
      if (sy < 0 || sy >= v.ny) continue;
      for (int x = 0; x < out_n; ++x) {
        const int sx = centre[0] - h + x;
        if (sx >= 0 && sx < v.nx) out.at(x, y, z) = v.at(sx, sy, sz);
      }
    }
  }
  return out;
}

}  // namespace phenoscale::tomo
