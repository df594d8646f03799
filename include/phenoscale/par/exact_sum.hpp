// Exactly reproducible global sums of doubles.
//
// A double allreduce adds the ranks' partial sums in an order that depends on
// the rank count, so a result that a later decision compares (k-means'
// potential, the NLL of a temperature fit) would change with it. Here every
// value is rounded on its own to a fixed point 2^-s, with s chosen from the
// global largest magnitude so that one value fits 62 bits, and the integers
// are summed in 128 bits: the sum is the same at any rank count and in any
// order. Its relative error is at most N · 2^-62 of the largest term.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "phenoscale/par/comm.hpp"

namespace phenoscale::par {

__extension__ typedef __int128 Int128;

// Collective. Element-wise sum over ranks of 128-bit integers (exact, as four
// 32-bit limbs in int64; no overflow below 2^31 ranks).
void allreduce_sum_int128(std::vector<Int128>& values, const Comm& comm);

// The fixed point of one global sum: values times 2^shift, rounded.
struct FixedPoint {
  int shift = 0;
  double scale = 1.0;  // 2^shift when that is a normal double, else 0 (quantise then calls ldexp)
  // `max_abs` is the largest |value| over all ranks (0: every value is 0;
  // not finite: shift 0, and the values must not be quantised).
  explicit FixedPoint(double max_abs);
  // llround(ldexp(v, shift)), inline and without the libm calls: k-means++
  // quantises every row's d² once per trial centre. v · 2^shift is the
  // correctly rounded ldexp, and the rounding is llround's (halves away from
  // zero; x − trunc(x) is exact below 2^52, and above it x is an integer).
  std::int64_t quantise(double v) const {
    const double x = scale != 0.0 ? v * scale : std::ldexp(v, shift);
    if (!(std::fabs(x) < 0x1p63)) return INT64_MIN;  // NaN, ±inf, out of range: what llround gives on x86-64
    double t = std::trunc(x);
    if (std::fabs(x - t) >= 0.5) t += std::copysign(1.0, x);
    return static_cast<std::int64_t>(t);
  }
  double value(Int128 total) const;
};

// Collective. The largest |v| over this rank's values and all ranks (+inf
// when some value is NaN or infinite).
double global_max_abs(const std::vector<double>& v, const Comm& comm);

// Σ quantise(v) over this rank's values (OpenMP threads; exact).
Int128 local_fixed_sum(const std::vector<double>& v, const FixedPoint& fp);

// Collective. Σ v over all ranks' values, the same at any rank count (NaN or
// ±inf, as a plain sum, when some value is not finite).
double exact_sum(const std::vector<double>& v, const Comm& comm);

}  // namespace phenoscale::par
