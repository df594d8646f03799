// Counter-based random numbers keyed by (seed, stream, global index).
//
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11): a bijection of a 128-bit counter under a 64-bit key. Every random
// quantity of phenoscale is drawn from an `Rng` built from the run's seed, a
// stream id naming *what* is drawn (noise, rotation, shuffle, bootstrap ...)
// and the *global* index of the sample it belongs to. The draws for sample i
// are therefore the same whichever rank owns i and however many ranks there
// are — the basis of rank-count-independent results.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace phenoscale::core {

// SplitMix64's finaliser (Steele et al. 2014): a bijection of 64-bit words in
// which every input bit reaches every output bit. For hashing and for
// deriving seeds and rankings from ids, not for streams of draws.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Folds `n` bytes into the hash `h`, eight at a time through mix64 (the last
// word zero-padded). For digests of data (a checkpoint's training samples, a
// λ row's inputs), not for anything adversarial.
inline std::uint64_t mix_bytes(std::uint64_t h, const void* bytes, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  for (std::size_t at = 0; at < n; at += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + at, n - at < 8 ? n - at : 8);
    h = mix64(h ^ w);
  }
  return h;
}

// The raw block cipher: 10 rounds of Philox4x32.
std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> counter,
                                           std::array<std::uint32_t, 2> key);

// Named streams keep independent uses of one seed apart. Add new ones at the
// end; never renumber (stored datasets depend on them).
enum class Stream : std::uint32_t {
  test = 0,
  data_synthesis = 1,
  shuffle = 2,
  split = 3,
  rotation = 4,
  noise = 5,
  init = 6,
  bootstrap = 7,
  kmeans = 8,
  embedding = 9,
  silhouette_sample = 10,
  communities = 11,
  knn = 12,
  structure = 13,   // tomo: procedural macromolecule generator, keyed by class id
  placement = 14,   // tomo: particle placement in simulated tomograms, keyed by tomogram index
  augmentation = 15,  // nn: training-time augmentation, keyed by global sample index (seed varies per epoch)
  spt_simulation = 16,  // spt: diffusion track simulation, keyed by global track index
  edge_simulation = 17,  // edge: protrusion events and movies, keyed by cell index
  edge_padding = 18,     // edge: teacher noise padding, keyed by global sample index
  landmarks = 19,        // ml: landmark rows of a sketch clustering, keyed by global row index
  dropout = 20,          // nn: dropout masks, keyed by (step seed, global sample index, layer)
};

class Rng {
 public:
  Rng(std::uint64_t seed, Stream stream, std::uint64_t index);

  std::uint32_t next_u32();
  std::uint64_t next_u64();
  double uniform();                          // [0, 1), 53 random bits
  double uniform(double lo, double hi);      // [lo, hi)
  double normal();                           // N(0, 1), Box–Muller
  double normal(double mean, double stddev);
  std::uint64_t below(std::uint64_t n);      // uniform integer in [0, n), unbiased

  // How many 32-bit words this generator has produced so far.
  std::uint64_t words_drawn() const { return draws_; }

 private:
  std::array<std::uint32_t, 2> key_;
  std::uint32_t stream_;
  std::uint64_t index_;
  std::uint32_t block_ = 0;  // which 128-bit block of the (stream, index) sequence
  std::array<std::uint32_t, 4> buffer_{};
  int used_ = 4;
  std::uint64_t draws_ = 0;
  bool have_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

}  // namespace phenoscale::core
