#include "phenoscale/par/exact_sum.hpp"

#include <algorithm>
#include <cmath>

namespace phenoscale::par {

__extension__ typedef unsigned __int128 UInt128;

void allreduce_sum_int128(std::vector<Int128>& values, const Comm& comm) {
  // Two's complement limbs: the three low ones unsigned, the top one signed,
  // so the int64 sums over ranks carry into each other without overflow.
  std::vector<std::int64_t> limbs(values.size() * 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const UInt128 u = static_cast<UInt128>(values[i]);
    limbs[4 * i] = static_cast<std::int64_t>(static_cast<std::uint32_t>(u));
    limbs[4 * i + 1] = static_cast<std::int64_t>(static_cast<std::uint32_t>(u >> 32));
    limbs[4 * i + 2] = static_cast<std::int64_t>(static_cast<std::uint32_t>(u >> 64));
    limbs[4 * i + 3] = static_cast<std::int64_t>(static_cast<std::int32_t>(static_cast<std::uint32_t>(u >> 96)));
  }
  comm.allreduce_sum_inplace(limbs);
  for (std::size_t i = 0; i < values.size(); ++i) {
    UInt128 u = static_cast<UInt128>(static_cast<Int128>(limbs[4 * i]));
    u += static_cast<UInt128>(static_cast<Int128>(limbs[4 * i + 1])) << 32;
    u += static_cast<UInt128>(static_cast<Int128>(limbs[4 * i + 2])) << 64;
    u += static_cast<UInt128>(static_cast<Int128>(limbs[4 * i + 3])) << 96;
    values[i] = static_cast<Int128>(u);
  }
}

FixedPoint::FixedPoint(double max_abs) {
  if (max_abs > 0 && std::isfinite(max_abs)) shift = 62 - (std::ilogb(max_abs) + 1);
  scale = shift >= -1022 && shift <= 1023 ? std::ldexp(1.0, shift) : 0.0;
}

double FixedPoint::value(Int128 total) const { return std::ldexp(static_cast<double>(total), -shift); }

double global_max_abs(const std::vector<double>& v, const Comm& comm) {
  double m = 0.0;
  for (double x : v) m = std::isnan(x) ? INFINITY : std::max(m, std::abs(x));
  return comm.allreduce_max(m);
}

Int128 local_fixed_sum(const std::vector<double>& v, const FixedPoint& fp) {
  Int128 total = 0;
#pragma omp parallel
  {
    Int128 mine = 0;
#pragma omp for schedule(static) nowait
    for (std::size_t i = 0; i < v.size(); ++i) mine += fp.quantise(v[i]);
#pragma omp critical
    total += mine;
  }
  return total;
}

double exact_sum(const std::vector<double>& v, const Comm& comm) {
  const double max_abs = global_max_abs(v, comm);
  if (!std::isfinite(max_abs)) {  // a NaN or an infinity somewhere: the plain sum is NaN or ±inf
    double local = 0.0;
    for (double x : v) local += x;
    return comm.allreduce_sum(local);
  }
  const FixedPoint fp(max_abs);
  std::vector<Int128> total{local_fixed_sum(v, fp)};
  allreduce_sum_int128(total, comm);
  return fp.value(total[0]);
}

}  // namespace phenoscale::par
