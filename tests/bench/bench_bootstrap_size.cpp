// Size of the cell bootstrap's one-sided test under a null (DeepHACKS drug
// statistics, docs/methods.md §3.4): two conditions drawn alike, n cells each,
// m samples per cell, a phenotype of proportion p0 per cell (the same in every
// cell, or cell-to-cell Beta with intra-class correlation ICC), then
// ml::bootstrap as `edge stats` runs it. Prints, per n, the fraction of null
// experiments with p_greater < 0.05 (nominal 0.05) and < 0.01 (nominal 0.01):
// the percentile bootstrap understates the spread of a pooled proportion by
// (n − 1)/n and n cells give few distinct resamples, so small n is
// anti-conservative. The root draws the experiments; the figures do not depend on
// the rank count (ml::bootstrap's replicates are rank-independent).
//   bench_bootstrap_size [trials=1000] [replicates=2000]
#include <cstdio>
#include <cstdlib>
#include <random>

#include "phenoscale/core/log.hpp"
#include "phenoscale/ml/bootstrap.hpp"
#include "phenoscale/par/environment.hpp"

using namespace phenoscale;

namespace {

// One null experiment: condition 0 and 1 alike; label 1 = the phenotype.
ml::Observations null_experiment(int n, int m, double p0, double icc, std::mt19937_64& gen) {
  ml::Observations obs;
  for (int k = 0; k < 2; ++k)
    for (int cell = 0; cell < n; ++cell) {
      double p = p0;
      if (icc > 0) {  // Beta(a, b) with mean p0 and intra-class correlation 1 / (a + b + 1)
        const double s = 1.0 / icc - 1.0;
        const double x = std::gamma_distribution<double>(p0 * s)(gen), y = std::gamma_distribution<double>((1 - p0) * s)(gen);
        p = x / (x + y);
      }
      std::bernoulli_distribution phenotype(p);
      for (int i = 0; i < m; ++i) {
        obs.labels.push_back(phenotype(gen) ? 1 : 0);
        obs.groups.push_back(cell);
        obs.conditions.push_back(k);
      }
    }
  return obs;
}

}  // namespace

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  const par::Comm& world = env.world();
  const int trials = argc > 1 ? std::atoi(argv[1]) : 1000;
  ml::BootstrapOptions options;
  options.replicates = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2000;
  options.progress_interval_s = 1e9;
  core::Log::set_level(core::LogLevel::warn);  // no progress line per bootstrap
  const int m = 110;        // samples per cell: the demo's ≈ 5,000 samples over 45 cells
  const double p0 = 0.25;   // one of four phenotypes
  if (env.world().is_root()) {
    std::printf("Null experiments: 2 conditions x n cells x %d samples, p0 = %.2f, %d trials, R = %llu\n\n", m, p0,
                trials, static_cast<unsigned long long>(options.replicates));
    std::printf("| ICC | n cells per condition | P(p_greater < 0.05) | P(p_greater < 0.01) |\n|---|---|---|---|\n");
  }
  for (double icc : {0.0, 0.05})
    for (int n : {3, 5, 10, 15, 30}) {
      std::mt19937_64 gen(20261205 + n + static_cast<int>(icc * 1000));
      int below5 = 0, below1 = 0;
      for (int t = 0; t < trials; ++t) {
        // The root holds the observations; build_cell_table sums every rank's block.
        const auto table =
            ml::build_cell_table(world.is_root() ? null_experiment(n, m, p0, icc, gen) : ml::Observations{}, 2, world);
        options.seed = static_cast<std::uint64_t>(t);
        const auto result = ml::bootstrap(table, options, world);
        const double p = result.p_greater[1];  // treatment 1, phenotype (cluster) 1
        below5 += p < 0.05;
        below1 += p < 0.01;
      }
      if (env.world().is_root())
        std::printf("| %.2f | %d | %.3f | %.3f |\n", icc, n, double(below5) / trials, double(below1) / trials);
    }
  return 0;
}
