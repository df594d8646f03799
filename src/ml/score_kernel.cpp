// The score kernel shared by k-means and the exact kNN (score_kernel.hpp).
#include "score_kernel.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace phenoscale::ml::detail {
namespace {

// GCC 12 warns about the deliberately undefined upper halves inside its own
// AVX-512 intrinsic headers; the warning is not about this code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// The widest path the CPU has; PHENOSCALE_KMEANS_ISA=scalar|avx2 narrows it
// (to check that every path gives the same labels).
Isa detect_isa() {
  __builtin_cpu_init();
  const char* env = std::getenv("PHENOSCALE_KMEANS_ISA");
  const std::string cap = env ? env : "";
  if (cap != "scalar" && cap != "avx2" && __builtin_cpu_supports("avx512f")) return Isa::avx512;
  if (cap != "scalar" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
  return Isa::scalar;
}

// Scores of kRows rows (x: kRows × d) against all padded centres into s (kRows × kp).
void scores_scalar(const float* x, const Packed& p, float* s) {
  for (std::size_t r = 0; r < kRows; ++r) {
    for (std::size_t c = 0; c < p.kp; ++c) {
      float acc = 0.0f;
      for (std::size_t j = 0; j < p.d; ++j) acc = std::fma(x[r * p.d + j], p.ct[j * p.kp + c], acc);
      s[r * p.kp + c] = std::fma(-2.0f, acc, p.cn[c]);
    }
  }
}

__attribute__((target("avx2,fma"))) void scores_avx2_4(const float* x, const Packed& p, float* s) {
  const std::size_t d = p.d, kp = p.kp;
  const __m256 two = _mm256_set1_ps(2.0f);
  for (std::size_t t = 0; t < kp; t += 16) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
           a31 = a00;
    const float* c = p.ct.data() + t;
    for (std::size_t j = 0; j < d; ++j, c += kp) {
      const __m256 c0 = _mm256_loadu_ps(c), c1 = _mm256_loadu_ps(c + 8);
      __m256 xb = _mm256_broadcast_ss(x + j);
      a00 = _mm256_fmadd_ps(xb, c0, a00);
      a01 = _mm256_fmadd_ps(xb, c1, a01);
      xb = _mm256_broadcast_ss(x + d + j);
      a10 = _mm256_fmadd_ps(xb, c0, a10);
      a11 = _mm256_fmadd_ps(xb, c1, a11);
      xb = _mm256_broadcast_ss(x + 2 * d + j);
      a20 = _mm256_fmadd_ps(xb, c0, a20);
      a21 = _mm256_fmadd_ps(xb, c1, a21);
      xb = _mm256_broadcast_ss(x + 3 * d + j);
      a30 = _mm256_fmadd_ps(xb, c0, a30);
      a31 = _mm256_fmadd_ps(xb, c1, a31);
    }
    const __m256 n0 = _mm256_loadu_ps(p.cn.data() + t), n1 = _mm256_loadu_ps(p.cn.data() + t + 8);
    _mm256_storeu_ps(s + t, _mm256_fnmadd_ps(two, a00, n0));
    _mm256_storeu_ps(s + t + 8, _mm256_fnmadd_ps(two, a01, n1));
    _mm256_storeu_ps(s + kp + t, _mm256_fnmadd_ps(two, a10, n0));
    _mm256_storeu_ps(s + kp + t + 8, _mm256_fnmadd_ps(two, a11, n1));
    _mm256_storeu_ps(s + 2 * kp + t, _mm256_fnmadd_ps(two, a20, n0));
    _mm256_storeu_ps(s + 2 * kp + t + 8, _mm256_fnmadd_ps(two, a21, n1));
    _mm256_storeu_ps(s + 3 * kp + t, _mm256_fnmadd_ps(two, a30, n0));
    _mm256_storeu_ps(s + 3 * kp + t + 8, _mm256_fnmadd_ps(two, a31, n1));
  }
}
void scores_avx2(const float* x, const Packed& p, float* s) {
  scores_avx2_4(x, p, s);
  scores_avx2_4(x + 4 * p.d, p, s + 4 * p.kp);
}

// 8 rows × 32 centres per tile (16 accumulators of the 32 zmm registers),
// then a 16-centre tile when kp is an odd multiple of 16.
__attribute__((target("avx512f"))) void scores_avx512(const float* x, const Packed& p, float* s) {
  const std::size_t d = p.d, kp = p.kp;
  const __m512 two = _mm512_set1_ps(2.0f);
  std::size_t t = 0;
  for (; t + 32 <= kp; t += 32) {
    __m512 a0[8], a1[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) a0[r] = a1[r] = _mm512_setzero_ps();
    const float* c = p.ct.data() + t;
    for (std::size_t j = 0; j < d; ++j, c += kp) {
      const __m512 c0 = _mm512_loadu_ps(c), c1 = _mm512_loadu_ps(c + 16);
  #pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
        const __m512 xb = _mm512_set1_ps(x[r * d + j]);
        a0[r] = _mm512_fmadd_ps(xb, c0, a0[r]);
        a1[r] = _mm512_fmadd_ps(xb, c1, a1[r]);
      }
    }
    const __m512 n0 = _mm512_loadu_ps(p.cn.data() + t), n1 = _mm512_loadu_ps(p.cn.data() + t + 16);
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
      _mm512_storeu_ps(s + r * kp + t, _mm512_fnmadd_ps(two, a0[r], n0));
      _mm512_storeu_ps(s + r * kp + t + 16, _mm512_fnmadd_ps(two, a1[r], n1));
    }
  }
  if (t < kp) {
    __m512 a0[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) a0[r] = _mm512_setzero_ps();
    const float* c = p.ct.data() + t;
    for (std::size_t j = 0; j < d; ++j, c += kp) {
      const __m512 c0 = _mm512_loadu_ps(c);
  #pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) a0[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[r * d + j]), c0, a0[r]);
    }
    const __m512 n0 = _mm512_loadu_ps(p.cn.data() + t);
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) _mm512_storeu_ps(s + r * kp + t, _mm512_fnmadd_ps(two, a0[r], n0));
  }
}

// Lowest index of the smallest score (exact comparisons: any order of
// evaluation gives the same answer). Every path keeps one rule for scores
// that overflowed (features near 1e19): a NaN is never chosen, and when no
// score is below +inf the answer is index 0 — never a padding column.
std::int32_t argmin_scalar(const float* s, std::size_t n) {
  std::size_t best = 0;
  float smallest = std::numeric_limits<float>::infinity();
  for (std::size_t c = 0; c < n; ++c) {
    if (s[c] < smallest) smallest = s[c], best = c;
  }
  return static_cast<std::int32_t>(best);
}

// All kRows rows at once (independent chains): per lane the smallest score
// and the first 16-column chunk holding it (strict <, chunks in order), then
// per row the lowest column index among the lanes holding the row's minimum —
// the lowest index of the smallest score, as argmin_scalar. Scores never
// below +inf (padding, or all NaN) leave index 0.
__attribute__((target("avx512f"))) void argmins_avx512(const float* s, std::size_t kp, std::size_t n,
                                                       std::int32_t* out) {
  __m512 best[kRows];
  __m512i chunk[kRows];
#pragma GCC unroll 8
  for (std::size_t r = 0; r < kRows; ++r) {
    best[r] = _mm512_set1_ps(std::numeric_limits<float>::infinity());
    chunk[r] = _mm512_setzero_si512();
  }
  for (std::size_t c = 0; c < kp; c += 16) {
    const __m512i here = _mm512_set1_epi32(static_cast<int>(c));
#pragma GCC unroll 8
    for (std::size_t r = 0; r < kRows; ++r) {
      const __m512 v = _mm512_loadu_ps(s + r * kp + c);
      const __mmask16 less = _mm512_cmp_ps_mask(v, best[r], _CMP_LT_OQ);
      best[r] = _mm512_mask_mov_ps(best[r], less, v);
      chunk[r] = _mm512_mask_mov_epi32(chunk[r], less, here);
    }
  }
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (std::size_t r = 0; r < n; ++r) {
    const __mmask16 at_min = _mm512_cmp_ps_mask(best[r], _mm512_set1_ps(_mm512_reduce_min_ps(best[r])), _CMP_EQ_OQ);
    out[r] = _mm512_mask_reduce_min_epi32(at_min, _mm512_add_epi32(chunk[r], lane));
  }
}

__attribute__((target("avx2"))) std::int32_t argmin_avx2(const float* s, std::size_t kp) {
  // min_ps(a, b) returns b when either is NaN: with the running minimum as b
  // (from +inf), a NaN score never enters it.
  __m256 m = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  for (std::size_t c = 0; c < kp; c += 8) m = _mm256_min_ps(_mm256_loadu_ps(s + c), m);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float best = lanes[0];
  for (int l = 1; l < 8; ++l) best = std::min(best, lanes[l]);
  if (!(best < std::numeric_limits<float>::infinity())) return 0;  // nothing below +inf (padding's key)
  const __m256 b = _mm256_set1_ps(best);
  for (std::size_t c = 0; c < kp; c += 8) {
    const int eq = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + c), b, _CMP_EQ_OQ));
    if (eq) return static_cast<std::int32_t>(c + __builtin_ctz(eq));
  }
  return 0;
}

const Isa kIsa = detect_isa();  // at start-up: the hot paths only read it

std::size_t next_at_most_scalar(const float* s, std::size_t from, std::size_t kp, float limit) {
  for (std::size_t j = from; j < kp; ++j) {
    if (s[j] <= limit) return j;
  }
  return kp;
}

__attribute__((target("avx512f"))) std::size_t next_at_most_avx512(const float* s, std::size_t from, std::size_t kp,
                                                                   float limit) {
  const __m512 l = _mm512_set1_ps(limit);
  std::size_t j = from;
  for (; j + 16 <= kp; j += 16) {
    const __mmask16 m = _mm512_cmp_ps_mask(_mm512_loadu_ps(s + j), l, _CMP_LE_OQ);
    if (m) return j + __builtin_ctz(m);
  }
  return next_at_most_scalar(s, j, kp, limit);
}

__attribute__((target("avx2"))) std::size_t next_at_most_avx2(const float* s, std::size_t from, std::size_t kp,
                                                              float limit) {
  const __m256 l = _mm256_set1_ps(limit);
  std::size_t j = from;
  for (; j + 8 <= kp; j += 8) {
    const int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + j), l, _CMP_LE_OQ));
    if (m) return j + __builtin_ctz(m);
  }
  return next_at_most_scalar(s, j, kp, limit);
}

}  // namespace

Packed pack(const double* centres, std::size_t k, std::size_t d) {
  std::vector<float> rows(k * d), keys(k);
  for (std::size_t c = 0; c < k; ++c) {
    double norm = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const float v = static_cast<float>(centres[c * d + j]);
      rows[c * d + j] = v;
      norm += double(v) * double(v);
    }
    keys[c] = static_cast<float>(norm);
  }
  return pack(rows.data(), keys.data(), k, d);
}

Packed pack(const float* rows, const float* keys, std::size_t k, std::size_t d) {
  Packed p;
  p.k = k;
  p.d = d;
  p.kp = (k + kTile - 1) / kTile * kTile;
  p.ct.assign(d * p.kp, 0.0f);
  p.cn.assign(p.kp, std::numeric_limits<float>::infinity());
  for (std::size_t c = 0; c < k; ++c) {
    for (std::size_t j = 0; j < d; ++j) p.ct[j * p.kp + c] = rows[c * d + j];
    p.cn[c] = keys[c];
  }
  return p;
}

Isa score_isa() { return kIsa; }

void scores(const float* x, const Packed& p, float* s) {
  switch (kIsa) {
    case Isa::avx512: scores_avx512(x, p, s); break;
    case Isa::avx2: scores_avx2(x, p, s); break;
    default: scores_scalar(x, p, s);
  }
}

void scores_block(const float* rows, std::size_t n, const Packed& p, float* s, std::vector<float>& pad) {
  if (n < kRows) {
    pad.assign(kRows * p.d, 0.0f);
    std::copy(rows, rows + n * p.d, pad.begin());
    rows = pad.data();
  }
  scores(rows, p, s);
}

void argmins(const float* s, const Packed& p, std::size_t n, std::int32_t* out) {
  switch (kIsa) {
    case Isa::avx512: return argmins_avx512(s, p.kp, n, out);
    case Isa::avx2:
      for (std::size_t r = 0; r < n; ++r) out[r] = argmin_avx2(s + r * p.kp, p.kp);
      return;
    default:
      for (std::size_t r = 0; r < n; ++r) out[r] = argmin_scalar(s + r * p.kp, p.k);
  }
}

std::size_t next_at_most(const float* s, std::size_t from, std::size_t kp, float limit) {
  switch (kIsa) {
    case Isa::avx512: return next_at_most_avx512(s, from, kp, limit);
    case Isa::avx2: return next_at_most_avx2(s, from, kp, limit);
    default: return next_at_most_scalar(s, from, kp, limit);
  }
}

}  // namespace phenoscale::ml::detail
