#include "phenoscale/ml/kmeans.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <limits>
#include <numeric>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/exact_sum.hpp"
#include "score_kernel.hpp"

namespace phenoscale::ml {
namespace {

using core::cat;
using i128 = par::Int128;

// ---------------------------------------------------------------------------
// Seeds. Each random decision gets its own seed derived from (seed, restart,
// purpose, round) by SplitMix64 finalisation; the Rng index is the global row
// (or step) index, so a draw never depends on who makes it.
enum Purpose : std::uint64_t { first_centre = 1, parallel_round, pp_step, random_pick, recluster, topup };

std::uint64_t derive_seed(std::uint64_t seed, int restart, Purpose purpose, std::uint64_t round = 0) {
  return core::mix64(core::mix64(core::mix64(core::mix64(seed) ^ static_cast<std::uint64_t>(restart)) ^ purpose) ^ round);
}
core::Rng rng_for(std::uint64_t seed, int restart, Purpose purpose, std::uint64_t round, std::uint64_t index) {
  return core::Rng(derive_seed(seed, restart, purpose, round), core::Stream::kmeans, index);
}

// ---------------------------------------------------------------------------
// Per-column quantisation of the data for exact cluster sums: |x|·2^s_j < 2^B.
struct ColumnScale {
  std::vector<float> scale;      // 2^s_j (power of two: x·scale is exact)
  std::vector<double> inverse;   // 2^-s_j
};
ColumnScale column_scale(const ShardedMatrix& x, const par::Comm& comm) {
  const std::size_t d = x.cols;
  std::vector<float> colmax(d, 0.0f);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    const float* r = x.row(i);
    for (std::size_t j = 0; j < d; ++j) colmax[j] = std::max(colmax[j], std::fabs(r[j]));
  }
  comm.allreduce_max_inplace(colmax);
  // Headroom: N values of at most 2^B each must sum below 2^63.
  int n_bits = 0;
  while (n_bits < 63 && (std::uint64_t{1} << n_bits) <= x.global_rows) ++n_bits;
  const int bits = std::min(30, 62 - n_bits);
  ColumnScale cs{std::vector<float>(d), std::vector<double>(d)};
  for (std::size_t j = 0; j < d; ++j) {
    int s = colmax[j] > 0 ? bits - (std::ilogb(colmax[j]) + 1) : 0;
    s = std::clamp(s, -120, 120);
    cs.scale[j] = std::ldexp(1.0f, s);
    cs.inverse[j] = std::ldexp(1.0, -s);
  }
  return cs;
}

// ---------------------------------------------------------------------------
// Assignment kernel: the shared score kernel (score_kernel.hpp), ‖c‖² − 2 x·c
// with the same rounding on every instruction set, then the lowest index of
// the smallest score.
using detail::kRows;
using detail::Packed;
using detail::pack;
using detail::Isa;

// GCC 12 warns about the deliberately undefined upper halves inside its own
// AVX-512 intrinsic headers; the warning is not about this code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Fixed-point accumulation of a row into its cluster's sums.
void accumulate_scalar(const float* x, const float* scale, std::size_t d, std::int64_t* acc) {
  for (std::size_t j = 0; j < d; ++j) acc[j] += static_cast<std::int32_t>(x[j] * scale[j]);
}

__attribute__((target("avx512f"))) void accumulate_avx512(const float* x, const float* scale, std::size_t d,
                                                          std::int64_t* acc) {
  for (std::size_t j = 0; j < d; j += 16) {
    const std::size_t n = std::min<std::size_t>(16, d - j);
    const __mmask16 m = static_cast<__mmask16>((1u << n) - 1u);
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + j), _mm512_maskz_loadu_ps(m, scale + j));
    const __m512i q = _mm512_cvttps_epi32(v);
    const __mmask8 m0 = static_cast<__mmask8>(m & 0xFF), m1 = static_cast<__mmask8>(m >> 8);
    const __m512i lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(q));
    const __m512i hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(q, 1));
    _mm512_mask_storeu_epi64(acc + j, m0, _mm512_add_epi64(_mm512_maskz_loadu_epi64(m0, acc + j), lo));
    if (m1) {
      _mm512_mask_storeu_epi64(acc + j + 8, m1,
                               _mm512_add_epi64(_mm512_maskz_loadu_epi64(m1, acc + j + 8), hi));
    }
  }
}

// Per-thread scratch of the kernel.
struct Scratch {
  std::vector<float> scores;
  std::vector<float> rows;  // the kernel's zero-padded copy of a tail block
};

// Labels of local rows [begin, end), kRows rows per kernel call (a tail
// zero-padded by the kernel).
template <typename Sink>
void assign_range(const ShardedMatrix& x, const Packed& p, std::uint64_t begin, std::uint64_t end,
                  Scratch& scratch, Sink&& sink) {
  scratch.scores.resize(kRows * p.kp);
  float* s = scratch.scores.data();
  for (std::uint64_t i = begin; i < end; i += kRows) {
    const std::uint64_t n = std::min<std::uint64_t>(kRows, end - i);
    detail::scores_block(x.row(i), n, p, s, scratch.rows);
    std::int32_t labels[kRows];
    detail::argmins(s, p, n, labels);
    for (std::uint64_t r = 0; r < n; ++r) sink(i + r, labels[r]);
  }
}

constexpr std::uint64_t kChunk = 1024;  // rows per OpenMP work item

// ‖x − c‖² in double, fixed association (four interleaved partial sums).
double sq_dist_scalar(const float* x, const double* c, std::size_t d) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::size_t j = 0;
  for (; j + 4 <= d; j += 4) {
    const double e0 = x[j] - c[j], e1 = x[j + 1] - c[j + 1], e2 = x[j + 2] - c[j + 2], e3 = x[j + 3] - c[j + 3];
    a0 += e0 * e0;
    a1 += e1 * e1;
    a2 += e2 * e2;
    a3 += e3 * e3;
  }
  for (; j < d; ++j) {
    const double e = x[j] - c[j];
    a0 += e * e;
  }
  return (a0 + a1) + (a2 + a3);
}

// The same four partial sums as the four lanes of one AVX2 register: the
// same products and additions in the same order (a multiply, then an add:
// no FMA, as in the scalar code built for baseline x86-64), so the same bits.
// k-means++ computes this for every row and trial centre.
__attribute__((target("avx2"))) double sq_dist_avx2(const float* x, const double* c, std::size_t d) {
  __m256d a = _mm256_setzero_pd();
  std::size_t j = 0;
  for (; j + 4 <= d; j += 4) {
    const __m256d e = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + j)), _mm256_loadu_pd(c + j));
    a = _mm256_add_pd(a, _mm256_mul_pd(e, e));
  }
  alignas(32) double lane[4];
  _mm256_store_pd(lane, a);
  for (; j < d; ++j) {
    const double e = x[j] - c[j];
    lane[0] += e * e;
  }
  return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

double sq_dist(const float* x, const double* c, std::size_t d) {
  return detail::score_isa() == Isa::scalar ? sq_dist_scalar(x, c, d) : sq_dist_avx2(x, c, d);
}

// d² of one row to `count` centres (count × d, row-major), each as sq_dist
// gives it; one dispatch, and the AVX2 kernel inlined into the loop.
__attribute__((target("avx2"))) void sq_dists_avx2(const float* x, const double* c, std::size_t count, std::size_t d,
                                                   double* out) {
  for (std::size_t t = 0; t < count; ++t) out[t] = sq_dist_avx2(x, c + t * d, d);
}

// Two centres per register: the four partial sums of centre t in the low
// half of an AVX-512 register, those of centre t + 1 in the high half, each
// lane summing what it sums in sq_dist (same bits, twice the width). G pairs
// at once (centres t .. t + 2G − 1): G independent chains of additions, whose
// latencies overlap, and the row converted to double once for all of them.
template <int G>
__attribute__((target("avx512f"), always_inline)) inline void sq_dist_pairs_avx512(const float* x, const double* c,
                                                                                   std::size_t d, double* out) {
  __m512d a[G];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) a[g] = _mm512_setzero_pd();
  std::size_t j = 0;
  for (; j + 4 <= d; j += 4) {
    const __m512d xv = _mm512_broadcast_f64x4(_mm256_cvtps_pd(_mm_loadu_ps(x + j)));
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const double* c0 = c + 2 * g * d;
      const __m512d cv = _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_loadu_pd(c0 + j)), _mm256_loadu_pd(c0 + d + j), 1);
      const __m512d e = _mm512_sub_pd(xv, cv);
      a[g] = _mm512_add_pd(a[g], _mm512_mul_pd(e, e));
    }
  }
  alignas(64) double lane[G][8];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) _mm512_store_pd(lane[g], a[g]);
  for (std::size_t jt = j; jt < d; ++jt) {
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const double* c0 = c + 2 * g * d;
      const double e0 = x[jt] - c0[jt], e1 = x[jt] - c0[d + jt];
      lane[g][0] += e0 * e0;
      lane[g][4] += e1 * e1;
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    out[2 * g] = (lane[g][0] + lane[g][1]) + (lane[g][2] + lane[g][3]);
    out[2 * g + 1] = (lane[g][4] + lane[g][5]) + (lane[g][6] + lane[g][7]);
  }
}

__attribute__((target("avx512f"))) void sq_dists_avx512(const float* x, const double* c, std::size_t count,
                                                        std::size_t d, double* out) {
  std::size_t t = 0;
  for (; t + 8 <= count; t += 8) sq_dist_pairs_avx512<4>(x, c + t * d, d, out + t);
  switch ((count - t) / 2) {
    case 3: sq_dist_pairs_avx512<3>(x, c + t * d, d, out + t); t += 6; break;
    case 2: sq_dist_pairs_avx512<2>(x, c + t * d, d, out + t); t += 4; break;
    case 1: sq_dist_pairs_avx512<1>(x, c + t * d, d, out + t); t += 2; break;
    default: break;
  }
  if (t < count) out[t] = sq_dist_avx2(x, c + t * d, d);
}

void sq_dists(const float* x, const double* c, std::size_t count, std::size_t d, double* out) {
  switch (detail::score_isa()) {
    case Isa::avx512: return sq_dists_avx512(x, c, count, d, out);
    case Isa::avx2: return sq_dists_avx2(x, c, count, d, out);
    case Isa::scalar: break;
  }
  for (std::size_t t = 0; t < count; ++t) out[t] = sq_dist_scalar(x, c + t * d, d);
}

// Labels (and optionally exact d²) of all local rows.
void assign_all(const ShardedMatrix& x, const Packed& p, const double* centres, std::int32_t* labels,
                double* d2) {
  const std::uint64_t n = x.local_rows;
#pragma omp parallel
  {
    Scratch scratch;
#pragma omp for schedule(static)
    for (std::uint64_t b = 0; b < n; b += kChunk) {
      assign_range(x, p, b, std::min(n, b + kChunk), scratch, [&](std::uint64_t i, std::int32_t label) {
        labels[i] = label;
        if (d2) d2[i] = sq_dist(x.row(i), centres + std::size_t(label) * p.d, p.d);
      });
    }
  }
}

// ---------------------------------------------------------------------------
// The k-means++ trial step: for each trial centre t (rows: trials × d) the
// potential Σ_i quantise(min(cur[i], d²(row i, t))) over the local rows. The
// potentials are integers, so how the rows are grouped does not change them;
// the d² are sq_dists' bits. The minima are not kept: the chosen trial's are
// computed again once it is chosen (one d² per row, where keeping every
// trial's would write trials × 8 bytes per row, to memory at this size).
struct TrialStep {
  const ShardedMatrix& x;
  const double* rows;
  std::size_t trials, d;
  const double* cur;
  const par::FixedPoint& scale;

  void row(std::uint64_t i, double* d2, i128* pot) const {
    sq_dists(x.row(i), rows, trials, d, d2);
    for (std::size_t t = 0; t < trials; ++t) pot[t] += scale.quantise(std::min(cur[i], d2[t]));
  }

  // Eight rows per step: the minimum and par::FixedPoint::quantise's exact
  // rounding on eight lanes (AVX-512 DQ's double -> int64 conversion), each
  // int64 split in 32-bit halves summed in int64 lanes (no overflow below
  // 2^31 steps). A step with a value out of the int64 range (INT64_MIN,
  // llround's answer) or a non-normal scale takes the scalar path instead.
  __attribute__((target("avx512f,avx512dq"))) void rows_avx512(std::uint64_t begin, std::uint64_t end,
                                                               i128* pot) const {
    std::vector<double> d2(trials), lanes(trials * 8), v8(trials * 8);
    std::vector<std::int64_t> lo(trials * 8, 0), hi(trials * 8, 0);
    const __m512d sc = _mm512_set1_pd(scale.scale), half = _mm512_set1_pd(0.5), one = _mm512_set1_pd(1.0);
    const __m512d sign = _mm512_set1_pd(-0.0), limit = _mm512_set1_pd(0x1p63);
    const __m512i low_bits = _mm512_set1_epi64(0xFFFFFFFF);
    std::uint64_t i = begin;
    for (; i + 8 <= end && scale.scale != 0.0; i += 8) {
      for (std::size_t r = 0; r < 8; ++r) {
        sq_dists(x.row(i + r), rows, trials, d, d2.data());
        for (std::size_t t = 0; t < trials; ++t) lanes[t * 8 + r] = d2[t];
      }
      const __m512d c = _mm512_loadu_pd(cur + i);
      __mmask8 in_range = 0xFF;
      for (std::size_t t = 0; t < trials; ++t) {
        const __m512d v = _mm512_min_pd(_mm512_loadu_pd(&lanes[t * 8]), c);  // std::min(cur, d2): cur on ties
        _mm512_storeu_pd(&v8[t * 8], v);
        in_range &= _mm512_cmp_pd_mask(_mm512_abs_pd(_mm512_mul_pd(v, sc)), limit, _CMP_LT_OQ);
      }
      if (in_range != 0xFF) {
        for (std::size_t t = 0; t < trials; ++t)
          for (std::size_t r = 0; r < 8; ++r) pot[t] += scale.quantise(v8[t * 8 + r]);
        continue;
      }
      for (std::size_t t = 0; t < trials; ++t) {
        const __m512d v = _mm512_mul_pd(_mm512_loadu_pd(&v8[t * 8]), sc);
        __m512d q = _mm512_roundscale_pd(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        const __mmask8 up = _mm512_cmp_pd_mask(_mm512_abs_pd(_mm512_sub_pd(v, q)), half, _CMP_GE_OQ);
        q = _mm512_mask_add_pd(q, up, q, _mm512_or_pd(_mm512_and_pd(v, sign), one));  // + copysign(1, v)
        const __m512i n = _mm512_cvttpd_epi64(q);
        _mm512_storeu_si512(&lo[t * 8], _mm512_add_epi64(_mm512_loadu_si512(&lo[t * 8]), _mm512_and_si512(n, low_bits)));
        _mm512_storeu_si512(&hi[t * 8], _mm512_add_epi64(_mm512_loadu_si512(&hi[t * 8]), _mm512_srai_epi64(n, 32)));
      }
    }
    for (std::size_t t = 0; t < trials; ++t) {
      i128 low = 0, high = 0;
      for (std::size_t l = 0; l < 8; ++l) {
        low += lo[t * 8 + l];
        high += hi[t * 8 + l];
      }
      pot[t] += high * (i128{1} << 32) + low;
    }
    for (; i < end; ++i) row(i, d2.data(), pot);
  }

  // The potentials of all local rows (OpenMP threads), summed into pots.
  void run(std::vector<i128>& pots) const {
    const std::uint64_t n = x.local_rows;
    static const bool wide = detail::score_isa() == Isa::avx512 && __builtin_cpu_supports("avx512dq");
#pragma omp parallel
    {
      std::vector<i128> part(trials, 0);
      std::vector<double> d2(trials);
#pragma omp for schedule(static) nowait
      for (std::uint64_t b = 0; b < n; b += kChunk) {
        const std::uint64_t e = std::min(n, b + kChunk);
        if (wide) rows_avx512(b, e, part.data());
        else for (std::uint64_t i = b; i < e; ++i) row(i, d2.data(), part.data());
      }
#pragma omp critical
      for (std::size_t t = 0; t < trials; ++t) pots[t] += part[t];
    }
  }
};

// ---------------------------------------------------------------------------
// Rows by global index, on every rank: owners contribute, others add zeros.
std::vector<double> fetch_rows(const ShardedMatrix& x, const std::vector<std::uint64_t>& indices,
                               const par::Comm& comm) {
  const std::size_t d = x.cols;
  std::vector<double> rows(indices.size() * d, 0.0);
  for (std::size_t t = 0; t < indices.size(); ++t) {
    const std::uint64_t g = indices[t];
    if (g >= x.first_row && g < x.first_row + x.local_rows) {
      const float* r = x.row(g - x.first_row);
      for (std::size_t j = 0; j < d; ++j) rows[t * d + j] = r[j];
    }
  }
  comm.allreduce_sum_inplace(rows);
  return rows;
}

// k distinct uniformly drawn global indices (rejection of repeats).
std::vector<std::uint64_t> distinct_draws(std::uint64_t n, std::size_t count, std::uint64_t seed, int restart,
                                          Purpose purpose, std::vector<std::uint64_t> taken = {}) {
  std::vector<std::uint64_t> sorted(taken), picked;
  std::sort(sorted.begin(), sorted.end());
  for (std::uint64_t draw = 0; picked.size() < count; ++draw) {
    const std::uint64_t g = rng_for(seed, restart, purpose, 0, draw).below(n);
    const auto it = std::lower_bound(sorted.begin(), sorted.end(), g);
    if (it != sorted.end() && *it == g) continue;
    sorted.insert(it, g);
    picked.push_back(g);
  }
  return picked;
}

// ---------------------------------------------------------------------------
// Local weighted k-means on the k-means|| candidates (identical on every rank).
std::size_t trials_for(std::int64_t k) {
  return 2 + static_cast<std::size_t>(std::log(static_cast<double>(k)));
}

double sq_dist_dd(const double* a, const double* b, std::size_t d) {
  double s = 0;
  for (std::size_t j = 0; j < d; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

std::vector<double> weighted_kmeans(const std::vector<double>& pts, const std::vector<double>& w,
                                    std::size_t k, std::size_t d, std::uint64_t seed, int restart) {
  const std::size_t m = w.size();
  std::vector<double> centres(k * d);
  std::vector<char> chosen(m, 0);
  std::vector<double> best(m, std::numeric_limits<double>::infinity());
  const std::size_t trials = trials_for(static_cast<std::int64_t>(k));
  auto pick = [&](double target, const std::vector<double>& weight) {
    double cum = 0.0;
    for (std::size_t i = 0; i < m; ++i) {
      cum += weight[i];
      if (cum > target && weight[i] > 0) return i;
    }
    for (std::size_t i = m; i-- > 0;) if (weight[i] > 0) return i;
    return std::size_t{0};
  };
  auto take = [&](std::size_t c, std::size_t idx) {
    chosen[idx] = 1;
    std::copy(pts.begin() + idx * d, pts.begin() + (idx + 1) * d, centres.begin() + c * d);
    for (std::size_t i = 0; i < m; ++i) best[i] = std::min(best[i], sq_dist_dd(&pts[i * d], &pts[idx * d], d));
  };
  const double wsum = std::accumulate(w.begin(), w.end(), 0.0);
  take(0, pick(rng_for(seed, restart, recluster, 0, 0).uniform() * wsum, w));
  std::vector<double> pot(m), trial_best(m);
  for (std::size_t c = 1; c < k; ++c) {
    for (std::size_t i = 0; i < m; ++i) pot[i] = w[i] * best[i];
    const double total = std::accumulate(pot.begin(), pot.end(), 0.0);
    if (!(total > 0)) {  // every candidate sits on a centre: take the first unused one
      std::size_t idx = 0;
      while (idx + 1 < m && chosen[idx]) ++idx;
      take(c, idx);
      continue;
    }
    std::size_t best_idx = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (std::size_t t = 0; t < trials; ++t) {
      const std::size_t idx = pick(rng_for(seed, restart, recluster, c, t).uniform() * total, pot);
      double p = 0.0;
      for (std::size_t i = 0; i < m; ++i) p += w[i] * std::min(best[i], sq_dist_dd(&pts[i * d], &pts[idx * d], d));
      if (p < best_pot) best_pot = p, best_idx = idx;
    }
    take(c, best_idx);
  }
  // Weighted Lloyd on the candidates.
  std::vector<std::size_t> label(m, k);
  for (int it = 0; it < 50; ++it) {
    bool changed = false;
    for (std::size_t i = 0; i < m; ++i) {
      std::size_t b = 0;
      double bd = std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < k; ++c) {
        const double dd = sq_dist_dd(&pts[i * d], &centres[c * d], d);
        if (dd < bd) bd = dd, b = c;
      }
      if (b != label[i]) changed = true, label[i] = b;
    }
    if (!changed) break;
    std::vector<double> sums(k * d, 0.0), wt(k, 0.0);
    for (std::size_t i = 0; i < m; ++i) {
      wt[label[i]] += w[i];
      for (std::size_t j = 0; j < d; ++j) sums[label[i] * d + j] += w[i] * pts[i * d + j];
    }
    for (std::size_t c = 0; c < k; ++c) {
      if (wt[c] > 0) for (std::size_t j = 0; j < d; ++j) centres[c * d + j] = sums[c * d + j] / wt[c];
    }
  }
  return centres;
}

// ---------------------------------------------------------------------------
// Seeding on the full data.

struct Seeder {
  const ShardedMatrix& x;
  const KMeansOptions& opt;
  const par::Comm& comm;
  int restart;

  std::size_t d() const { return x.cols; }

  std::vector<double> random() const {
    return fetch_rows(x, distinct_draws(x.global_rows, opt.k, opt.seed, restart, random_pick), comm);
  }

  std::uint64_t first_index() const {
    return rng_for(opt.seed, restart, first_centre, 0, 0).below(x.global_rows);
  }

  // k-means||: oversampled candidates, weighted, reclustered locally.
  std::vector<double> parallel() const {
    const std::uint64_t n = x.local_rows;
    const std::size_t dd = d();
    std::vector<std::uint64_t> cand_index{first_index()};
    std::vector<double> cand = fetch_rows(x, cand_index, comm);
    std::vector<double> cur(n);
    std::vector<std::int64_t> near(n, 0);
#pragma omp parallel for schedule(static)
    for (std::uint64_t i = 0; i < n; ++i) cur[i] = sq_dist(x.row(i), cand.data(), dd);

    // Adds candidates (global rows) and updates each row's nearest candidate.
    auto add = [&](const std::vector<std::uint64_t>& fresh) {
      if (fresh.empty()) return;
      const std::vector<double> rows = fetch_rows(x, fresh, comm);
      const std::int64_t offset = static_cast<std::int64_t>(cand_index.size());
      cand_index.insert(cand_index.end(), fresh.begin(), fresh.end());
      cand.insert(cand.end(), rows.begin(), rows.end());
      const Packed p = pack(rows.data(), fresh.size(), dd);
      std::vector<std::int32_t> lab(n);
      std::vector<double> d2(n);
      assign_all(x, p, rows.data(), lab.data(), d2.data());
#pragma omp parallel for schedule(static)
      for (std::uint64_t i = 0; i < n; ++i) {
        if (d2[i] < cur[i]) cur[i] = d2[i], near[i] = offset + lab[i];
      }
      // A sampled row is its own candidate at distance 0.
      for (std::size_t t = 0; t < fresh.size(); ++t) {
        const std::uint64_t g = fresh[t];
        if (g >= x.first_row && g < x.first_row + n) {
          cur[g - x.first_row] = 0.0;
          near[g - x.first_row] = offset + static_cast<std::int64_t>(t);
        }
      }
    };

    const double ell = opt.oversampling * static_cast<double>(opt.k);
    for (int round = 0; round < opt.rounds; ++round) {
      const double phi = par::exact_sum(cur, comm);
      if (!(phi > 0)) break;
      std::vector<std::int64_t> mine;
      std::vector<char> keep(n, 0);
#pragma omp parallel for schedule(static)
      for (std::uint64_t i = 0; i < n; ++i) {
        if (!(cur[i] > 0)) continue;
        const double prob = ell * cur[i] / phi;
        keep[i] = prob >= 1.0 ||
                  rng_for(opt.seed, restart, parallel_round, round, x.first_row + i).uniform() < prob;
      }
      for (std::uint64_t i = 0; i < n; ++i) {
        if (keep[i]) mine.push_back(static_cast<std::int64_t>(x.first_row + i));
      }
      const std::vector<std::int64_t> all = gather_values(mine, comm);
      std::vector<std::uint64_t> fresh(all.begin(), all.end());
      std::sort(fresh.begin(), fresh.end());
      add(fresh);
    }
    const std::size_t k = static_cast<std::size_t>(opt.k);
    if (cand_index.size() < k) {
      add(distinct_draws(x.global_rows, k - cand_index.size(), opt.seed, restart, topup, cand_index));
    }
    std::vector<std::int64_t> counts(cand_index.size(), 0);
    for (std::uint64_t i = 0; i < n; ++i) ++counts[near[i]];
    comm.allreduce_sum_inplace(counts);
    const std::vector<double> w(counts.begin(), counts.end());
    return weighted_kmeans(cand, w, k, dd, opt.seed, restart);
  }

  // Greedy k-means++ on the full data: each step draws 2 + ⌊ln k⌋ rows with
  // probability ∝ d² (inverse CDF over fixed-point costs in global row order)
  // and keeps the one that lowers the potential most.
  std::vector<double> plusplus() const {
    const std::uint64_t n = x.local_rows;
    const std::size_t dd = d(), k = static_cast<std::size_t>(opt.k), trials = trials_for(opt.k);
    std::vector<double> centres = fetch_rows(x, {first_index()}, comm);
    centres.resize(k * dd);
    std::vector<double> cur(n);
#pragma omp parallel for schedule(static)
    for (std::uint64_t i = 0; i < n; ++i) cur[i] = sq_dist(x.row(i), centres.data(), dd);
    for (std::size_t c = 1; c < k; ++c) {
      const par::FixedPoint scale(par::global_max_abs(cur, comm));
      std::vector<std::int64_t> q(n);
      for (std::uint64_t i = 0; i < n; ++i) q[i] = scale.quantise(cur[i]);
      i128 local = 0;
      for (std::int64_t v : q) local += v;
      // Per-rank totals in rank order (= global row order).
      std::vector<i128> totals(comm.size(), 0);
      totals[comm.rank()] = local;
      par::allreduce_sum_int128(totals, comm);
      i128 total = 0, before = 0;
      for (int r = 0; r < comm.size(); ++r) {
        if (r < comm.rank()) before += totals[r];
        total += totals[r];
      }
      std::vector<std::int64_t> picks(trials, -1);
      for (std::size_t t = 0; t < trials; ++t) {
        const double u = rng_for(opt.seed, restart, pp_step, c, t).uniform();
        if (total == 0) {
          if (comm.is_root()) picks[t] = static_cast<std::int64_t>(
              rng_for(opt.seed, restart, pp_step, c, t).below(x.global_rows));
          continue;
        }
        i128 target = static_cast<i128>(u * static_cast<double>(total));
        if (target >= total) target = total - 1;
        if (target < before || target >= before + local) continue;
        i128 cum = before;
        for (std::uint64_t i = 0; i < n; ++i) {
          cum += q[i];
          if (cum > target) {
            picks[t] = static_cast<std::int64_t>(x.first_row + i);
            break;
          }
        }
      }
      comm.allreduce_max_inplace(picks);
      const std::vector<double> rows = fetch_rows(x, std::vector<std::uint64_t>(picks.begin(), picks.end()), comm);
      // Each row against every trial in one pass (the row read once); the
      // potentials are integer sums, so their order does not matter.
      std::vector<i128> pots(trials, 0);
      TrialStep{x, rows.data(), trials, dd, cur.data(), scale}.run(pots);
      par::allreduce_sum_int128(pots, comm);
      const std::size_t best = static_cast<std::size_t>(std::min_element(pots.begin(), pots.end()) - pots.begin());
      std::copy(rows.begin() + best * dd, rows.begin() + (best + 1) * dd, centres.begin() + c * dd);
      const double* chosen = centres.data() + c * dd;
#pragma omp parallel for schedule(static)
      for (std::uint64_t i = 0; i < n; ++i) cur[i] = std::min(cur[i], sq_dist(x.row(i), chosen, dd));
    }
    return centres;
  }
};

// ---------------------------------------------------------------------------
// Lloyd iterations of one restart.

struct Run {
  std::vector<double> centres;
  std::vector<std::int32_t> labels;
  int iterations = 0;
  bool converged = false;
  double inertia = 0.0;
};

class Lloyd {
 public:
  Lloyd(const ShardedMatrix& x, const KMeansOptions& opt, const par::Comm& comm, double tol_abs)
      : x_(x), opt_(opt), comm_(comm), tol_abs_(tol_abs), cs_(column_scale(x, comm)) {}

  Run run(std::vector<double> centres) const {
    const std::size_t k = static_cast<std::size_t>(opt_.k), d = x_.cols;
    const std::uint64_t n = x_.local_rows;
    Run out;
    out.labels.assign(n, -1);
    std::vector<std::int64_t> sums(k * d + k + 1);
    for (int it = 1; it <= opt_.max_iter; ++it) {
      out.iterations = it;
      const Packed p = pack(centres.data(), k, d);
      accumulate(p, out.labels, sums);
      comm_.allreduce_sum_inplace(sums);
      const std::int64_t changed = sums[k * d + k];
      const bool relocated = relocate_empty(centres, out.labels, sums);
      std::vector<double> next(k * d);
      for (std::size_t c = 0; c < k; ++c) {
        const std::int64_t count = sums[k * d + c];
        for (std::size_t j = 0; j < d; ++j) {
          next[c * d + j] = count > 0 ? static_cast<double>(sums[c * d + j]) * cs_.inverse[j] /
                                            static_cast<double>(count)
                                      : centres[c * d + j];
        }
      }
      double shift = 0.0;
      for (std::size_t i = 0; i < k * d; ++i) shift += (next[i] - centres[i]) * (next[i] - centres[i]);
      centres.swap(next);
      if (relocated) continue;
      if (changed == 0) {
        out.converged = true;
        break;
      }
      if (shift <= tol_abs_) {
        out.converged = true;
        break;
      }
    }
    std::vector<double> d2(n);
    const Packed p = pack(centres.data(), k, d);
    std::vector<std::int32_t> final_labels(n);
    assign_all(x_, p, centres.data(), final_labels.data(), d2.data());
    out.labels.swap(final_labels);
    out.inertia = par::exact_sum(d2, comm_);
    out.centres = std::move(centres);
    return out;
  }

 private:
  // One pass: labels, fixed-point sums (k×d), counts (k) and the number of
  // changed labels (last slot), all local.
  void accumulate(const Packed& p, std::vector<std::int32_t>& labels, std::vector<std::int64_t>& out) const {
    const std::size_t k = p.k, d = p.d;
    const std::uint64_t n = x_.local_rows;
    std::fill(out.begin(), out.end(), 0);
    const bool wide = detail::score_isa() == Isa::avx512;
#pragma omp parallel
    {
      std::vector<std::int64_t> acc(k * d + k + 1, 0);
      Scratch scratch;
#pragma omp for schedule(static) nowait
      for (std::uint64_t b = 0; b < n; b += kChunk) {
        assign_range(x_, p, b, std::min(n, b + kChunk), scratch, [&](std::uint64_t i, std::int32_t label) {
          acc[k * d + k] += labels[i] != label;
          labels[i] = label;
          ++acc[k * d + label];
          if (wide) accumulate_avx512(x_.row(i), cs_.scale.data(), d, &acc[label * d]);
          else accumulate_scalar(x_.row(i), cs_.scale.data(), d, &acc[label * d]);
        });
      }
#pragma omp critical
      for (std::size_t i = 0; i < acc.size(); ++i) out[i] += acc[i];
    }
  }

  // Moves the rows farthest from their centres (by d² to the centres used in
  // this assignment; ties to the lowest global index; rows alone in their
  // cluster excluded) into the empty clusters, adjusting the reduced sums.
  bool relocate_empty(const std::vector<double>& centres, std::vector<std::int32_t>& labels,
                      std::vector<std::int64_t>& sums) const {
    const std::size_t k = static_cast<std::size_t>(opt_.k), d = x_.cols;
    std::vector<std::size_t> empty;
    for (std::size_t c = 0; c < k; ++c) {
      if (sums[k * d + c] == 0) empty.push_back(c);
    }
    if (empty.empty()) return false;
    const std::size_t e = empty.size();
    struct Far {
      double d2;
      std::int64_t g;
    };
    auto farther = [](const Far& a, const Far& b) { return a.d2 > b.d2 || (a.d2 == b.d2 && a.g < b.g); };
    std::vector<Far> local;
    for (std::uint64_t i = 0; i < x_.local_rows; ++i) {
      if (sums[k * d + labels[i]] < 2) continue;
      const double v = sq_dist(x_.row(i), &centres[labels[i] * d], d);
      if (v > 0) local.push_back({v, static_cast<std::int64_t>(x_.first_row + i)});
    }
    const std::size_t keep = std::min(e, local.size());
    std::partial_sort(local.begin(), local.begin() + keep, local.end(), farther);
    local.resize(keep);
    // Gather every rank's best e (pairs as doubles and indices).
    std::vector<std::int64_t> idx;
    std::vector<double> val;
    for (const Far& f : local) idx.push_back(f.g), val.push_back(f.d2);
    const std::vector<std::int64_t> all_idx = comm_.allgatherv(idx);
    const std::vector<double> all_val = comm_.allgatherv(val);
    std::vector<Far> all(all_idx.size());
    for (std::size_t t = 0; t < all.size(); ++t) all[t] = {all_val[t], all_idx[t]};
    std::sort(all.begin(), all.end(), farther);
    std::vector<std::uint64_t> chosen;
    for (std::size_t t = 0; t < all.size() && chosen.size() < e; ++t) chosen.push_back(static_cast<std::uint64_t>(all[t].g));
    // The chosen rows' current clusters, known to their owners.
    std::vector<std::int64_t> old(chosen.size(), -1);
    for (std::size_t t = 0; t < chosen.size(); ++t) {
      const std::uint64_t g = chosen[t];
      if (g >= x_.first_row && g < x_.first_row + x_.local_rows) old[t] = labels[g - x_.first_row];
    }
    comm_.allreduce_max_inplace(old);
    // Each chosen row leaves its cluster (which keeps at least one row) for an
    // empty one; owners contribute the moved sums, rank 0 the count changes.
    std::vector<std::int64_t> moved(k * d + k, 0);
    std::vector<std::int64_t> remaining(sums.begin() + k * d, sums.begin() + k * d + k);
    std::size_t filled = 0;
    for (std::size_t t = 0; t < chosen.size(); ++t) {
      const std::size_t from = static_cast<std::size_t>(old[t]);
      if (remaining[from] < 2) continue;
      --remaining[from];
      const std::size_t target = empty[filled++];
      const std::uint64_t g = chosen[t];
      if (g >= x_.first_row && g < x_.first_row + x_.local_rows) {
        const float* r = x_.row(g - x_.first_row);
        for (std::size_t j = 0; j < d; ++j) {
          const std::int64_t q = static_cast<std::int32_t>(r[j] * cs_.scale[j]);
          moved[from * d + j] -= q;
          moved[target * d + j] += q;
        }
        labels[g - x_.first_row] = static_cast<std::int32_t>(target);
      }
      if (comm_.is_root()) --moved[k * d + from], ++moved[k * d + target];
    }
    comm_.allreduce_sum_inplace(moved);
    for (std::size_t i = 0; i < moved.size(); ++i) sums[i] += moved[i];
    return filled > 0;
  }

  const ShardedMatrix& x_;
  const KMeansOptions& opt_;
  const par::Comm& comm_;
  double tol_abs_;
  ColumnScale cs_;
};

// tol × mean per-feature variance (population variance, as numpy.var).
double absolute_tolerance(const ShardedMatrix& x, double tol, const par::Comm& comm) {
  const std::size_t d = x.cols;
  const ColumnScale cs = column_scale(x, comm);
  std::vector<std::int64_t> sums(d, 0);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) accumulate_scalar(x.row(i), cs.scale.data(), d, sums.data());
  comm.allreduce_sum_inplace(sums);
  const double n = static_cast<double>(x.global_rows);
  double mean_var = 0.0;
  for (std::size_t j = 0; j < d; ++j) {
    const double mean = static_cast<double>(sums[j]) * cs.inverse[j] / n;
    std::vector<double> dev(x.local_rows);
    for (std::uint64_t i = 0; i < x.local_rows; ++i) {
      const double e = x.row(i)[j] - mean;
      dev[i] = e * e;
    }
    mean_var += par::exact_sum(dev, comm) / n;
  }
  return tol * mean_var / static_cast<double>(d);
}

void validate(const ShardedMatrix& x, const KMeansOptions& o) {
  auto bad = [](const std::string& msg) { throw ConfigError(msg); };
  if (o.k < 1) bad(cat("kmeans.k = ", o.k, " must be at least 1"));
  if (static_cast<std::uint64_t>(o.k) > x.global_rows) {
    bad(cat("kmeans.k = ", o.k, " exceeds the number of input rows N = ", x.global_rows));
  }
  if (o.k > std::numeric_limits<std::int32_t>::max()) bad(cat("kmeans.k = ", o.k, " is too large"));
  if (o.n_init < 1) bad(cat("kmeans.n_init = ", o.n_init, " must be at least 1"));
  if (o.max_iter < 1) bad(cat("kmeans.max_iter = ", o.max_iter, " must be at least 1"));
  if (!(o.tol >= 0)) bad(cat("kmeans.tol = ", o.tol, " must be ≥ 0"));
  if (o.init != "k-means||" && o.init != "k-means++" && o.init != "random") {
    bad("kmeans.init = \"" + o.init + "\": expected one of k-means||, k-means++, random");
  }
  if (!(o.oversampling > 0)) bad(cat("kmeans.oversampling = ", o.oversampling, " must be > 0"));
  if (o.rounds < 1 || o.rounds > 8) bad(cat("kmeans.rounds = ", o.rounds, " must be in 1..8"));
  if (!o.initial_centroids.empty() && o.initial_centroids.size() != static_cast<std::size_t>(o.k) * x.cols) {
    bad(cat("kmeans initial centroids: expected k × d = ", o.k * static_cast<std::int64_t>(x.cols),
            " values, found ", o.initial_centroids.size()));
  }
  if (x.cols == 0) throw InputError("kmeans: the input has no feature columns");
}

}  // namespace

KMeansResult kmeans_fit(const ShardedMatrix& x, const KMeansOptions& options, const par::Comm& comm) {
  par::collectively(comm, [&] { validate(x, options); });
  const std::size_t k = static_cast<std::size_t>(options.k), d = x.cols;
  const double tol_abs = absolute_tolerance(x, options.tol, comm);
  const Lloyd lloyd(x, options, comm, tol_abs);
  const int restarts = options.initial_centroids.empty() ? options.n_init : 1;

  KMeansResult result;
  result.k = options.k;
  result.d = static_cast<std::int64_t>(d);
  Run best;
  for (int r = 0; r < restarts; ++r) {
    const auto start = std::chrono::steady_clock::now();
    const Seeder seeder{x, options, comm, r};
    std::vector<double> init;
    if (!options.initial_centroids.empty()) init = options.initial_centroids;
    else if (options.init == "k-means||") init = seeder.parallel();
    else if (options.init == "k-means++") init = seeder.plusplus();
    else init = seeder.random();
    Run run = lloyd.run(std::move(init));
    KMeansRestart report{r, run.inertia, run.iterations, run.converged,
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
    result.restarts.push_back(report);
    if (options.on_restart) options.on_restart(report);
    if (r == 0 || run.inertia < best.inertia) {
      best = std::move(run);
      result.best_restart = r;
    }
  }
  result.restarts_run = restarts;
  result.centroids = std::move(best.centres);
  result.labels.assign(best.labels.begin(), best.labels.end());
  result.inertia = best.inertia;
  result.iterations = best.iterations;
  result.converged = best.converged;
  result.cluster_sizes.assign(k, 0);
  for (std::int64_t l : result.labels) ++result.cluster_sizes[l];
  comm.allreduce_sum_inplace(result.cluster_sizes);
  result.empty_clusters = std::count(result.cluster_sizes.begin(), result.cluster_sizes.end(), 0);
  return result;
}

std::vector<std::int64_t> kmeans_predict(const ShardedMatrix& x, const std::vector<double>& centroids,
                                         std::int64_t k, std::int64_t d, std::vector<double>* sq_distances) {
  if (k < 1 || d != static_cast<std::int64_t>(x.cols) || centroids.size() != static_cast<std::size_t>(k * d)) {
    throw InputError(cat("kmeans_predict: centroids of shape ", k, "×", d, " (", centroids.size(),
                         " values) do not match data with ", x.cols, " columns"));
  }
  const Packed p = pack(centroids.data(), static_cast<std::size_t>(k), static_cast<std::size_t>(d));
  std::vector<std::int32_t> labels(x.local_rows);
  std::vector<double> d2;
  if (sq_distances) d2.resize(x.local_rows);
  assign_all(x, p, centroids.data(), labels.data(), sq_distances ? d2.data() : nullptr);
  if (sq_distances) *sq_distances = std::move(d2);
  return {labels.begin(), labels.end()};
}

}  // namespace phenoscale::ml
