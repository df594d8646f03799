// The score kernel shared by k-means (assignment) and the exact kNN (its
// candidate filter): for rows x and packed columns c, s = key(c) − 2 x·c,
// with key = ‖c‖² for k-means centres and any per-column key the caller
// packs (the kNN's margin-scaled norms). Columns are packed transposed in
// float32 (d × kp, kp a multiple of 16; padding columns have key +inf). The
// dot product is accumulated by FMA in feature order from 0 — the same
// rounding sequence in the AVX-512, AVX2 and scalar paths, so results do not
// depend on the instruction set or on which rows share a block
// (docs/methods.md §3, k-means and kNN). PHENOSCALE_KMEANS_ISA=scalar|avx2
// narrows the path (to check that every path gives the same answer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace phenoscale::ml::detail {

constexpr std::size_t kTile = 16;  // columns per padded group
constexpr std::size_t kRows = 8;   // rows per kernel call

struct Packed {
  std::size_t k = 0, kp = 0, d = 0;
  std::vector<float> ct;  // d × kp, transposed
  std::vector<float> cn;  // kp keys; +inf for padding
};

// k-means centres (k × d, double): key ‖c‖² of the float-rounded centre.
Packed pack(const double* centres, std::size_t k, std::size_t d);
// Float rows (k × d) with the caller's keys (k values).
Packed pack(const float* rows, const float* keys, std::size_t k, std::size_t d);

enum class Isa { scalar, avx2, avx512 };
Isa score_isa();  // the path in use (fixed at start-up)

// Scores of kRows rows (x: kRows × d, row-major) against all packed columns
// into s (kRows × kp).
void scores(const float* x, const Packed& p, float* s);
// The same for n <= kRows rows: a tail (n < kRows) is copied into pad
// (resized to kRows × d, zero rows after it) so every row takes the same path.
void scores_block(const float* rows, std::size_t n, const Packed& p, float* s, std::vector<float>& pad);
// For each of the first n <= kRows rows of s (kRows × kp, as scores()
// writes it): the lowest index of the smallest of its first p.k scores. A
// NaN score (overflow, features near 1e19) is never chosen, and a row with
// no score below +inf gives 0 — the same on every path, never a padding column.
void argmins(const float* s, const Packed& p, std::size_t n, std::int32_t* out);
// The first j in [from, kp) with s[j] <= limit (NaN never), or kp.
std::size_t next_at_most(const float* s, std::size_t from, std::size_t kp, float limit);

}  // namespace phenoscale::ml::detail
