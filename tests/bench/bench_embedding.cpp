// 2-D embeddings on one rank: Barnes–Hut t-SNE or UMAP of an N × d float32
// dataset, timed without I/O, with the kNN preservation (k = 15) of the
// result. Prints one key=value line; tests/bench/run_embedding.sh runs it next
// to scikit-learn's TSNE on the same file and prints the table.
//   bench_embedding FILE.h5:/features tsne|umap [iterations_or_epochs=0 (default)]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "phenoscale/ml/embedding.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/environment.hpp"

using namespace phenoscale;

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  const par::Comm& world = env.world();
  if (argc < 3 || world.size() != 1) {
    std::fprintf(stderr, "usage: bench_embedding FILE.h5:/dataset tsne|umap [iterations] (one rank)\n");
    return 2;
  }
  const std::string method = argv[2];
  const std::uint64_t iterations = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 0;
  const ml::ShardedMatrix x = ml::read_matrix(ml::parse_dataset_spec(argv[1]), world);
  const std::uint64_t n = x.global_rows, d = x.cols;
  const auto t0 = std::chrono::steady_clock::now();
  ml::EmbeddingResult r;
  if (method == "tsne") {
    ml::TsneOptions o;
    if (iterations) o.iterations = iterations;
    r = ml::tsne(x.data, n, d, o);
  } else {
    ml::UmapOptions o;
    o.epochs = iterations;
    r = ml::umap(x.data, n, d, o);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double preserved = ml::knn_preservation(x.data, d, r.coordinates, 2, n, 15);
  std::printf("method=%s n=%llu d=%llu iterations=%llu seconds=%.3f knn_preservation=%.4f kl=%.4f\n", method.c_str(),
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(d),
              static_cast<unsigned long long>(r.iterations), seconds, preserved, r.kl_divergence);
  return 0;
}
