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
  // `max_abs` is the largest |value| over all ranks (0: every value is 0;
  // not finite: shift 0, and the values must not be quantised).
  explicit FixedPoint(double max_abs);
  std::int64_t quantise(double v) const;
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
