#include "phenoscale/ml/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::ml {

using core::cat;

double quantile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty() || !std::isfinite(q)) return std::numeric_limits<double>::quiet_NaN();
  const double h = (static_cast<double>(sorted.size()) - 1.0) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Pooled proportions of every cluster for one condition, given sums over its cells.
void pooled(const double* cluster_sums, double total, std::uint64_t clusters, double* out) {
  for (std::uint64_t c = 0; c < clusters; ++c) out[c] = total > 0 ? cluster_sums[c] / total : kNaN;
}

// Observed pooled proportions K × C from the full table.
std::vector<double> observed_proportions(const CellTable& t) {
  const std::uint64_t C = t.clusters;
  std::vector<double> out(t.conditions.size() * C);
  std::vector<double> sums(C);
  for (std::size_t k = 0; k < t.conditions.size(); ++k) {
    std::fill(sums.begin(), sums.end(), 0.0);
    double total = 0;
    for (std::uint64_t i = t.cell_begin[k]; i < t.cell_begin[k + 1]; ++i) {
      for (std::uint64_t c = 0; c < C; ++c) sums[c] += t.counts[i * C + c];
      total += t.totals[i];
    }
    pooled(sums.data(), total, C, &out[k * C]);
  }
  return out;
}

// Pooled proportions (K × C, into `out`) of replicate r; `sums` is C scratch values.
void one_replicate(const CellTable& t, std::uint64_t seed, std::uint64_t r, std::vector<double>& sums,
                   double* out) {
  const std::uint64_t C = t.clusters;
  core::Rng rng(seed, core::Stream::bootstrap, r);
  for (std::size_t k = 0; k < t.conditions.size(); ++k) {
    std::fill(sums.begin(), sums.end(), 0.0);
    double total = 0;
    const std::uint64_t begin = t.cell_begin[k], n_k = t.cells_in(k);
    for (std::uint64_t j = 0; j < n_k; ++j) {
      const std::uint64_t cell = begin + rng.below(n_k);
      const double* row = &t.counts[cell * C];
      for (std::uint64_t c = 0; c < C; ++c) sums[c] += row[c];
      total += t.totals[cell];
    }
    pooled(sums.data(), total, C, out + k * C);
  }
}

// Replicate proportions (K × C per replicate) of the replicates in `range`.
// Chunks between progress reports keep the OpenMP threads away from core::Progress.
std::vector<double> replicate_block(const CellTable& t, const BootstrapOptions& options, par::Range range,
                                    int ranks) {
  const std::uint64_t stride = t.conditions.size() * t.clusters;
  std::vector<double> out(range.size() * stride);
  core::Progress progress("ml bootstrap", options.replicates, ranks, options.progress_interval_s);
  constexpr std::uint64_t chunk = 4096;
  for (std::uint64_t first = 0; first < range.size(); first += chunk) {
    const auto last = static_cast<std::int64_t>(std::min(range.size(), first + chunk));
#pragma omp parallel
    {
      std::vector<double> sums(t.clusters);
#pragma omp for schedule(static)
      for (auto local = static_cast<std::int64_t>(first); local < last; ++local) {
        const auto l = static_cast<std::uint64_t>(local);
        one_replicate(t, options.seed, range.begin + l, sums, &out[l * stride]);
      }
    }
    progress.advance(static_cast<std::uint64_t>(last) - first);
  }
  progress.finish();
  return out;
}

// Jackknife acceleration of the pooled-proportion difference (treatment tk vs control ck)
// for cluster c: leave one cell out of its own condition.
double acceleration(const CellTable& t, std::size_t tk, std::size_t ck, std::uint64_t c) {
  const std::uint64_t C = t.clusters;
  auto sums = [&](std::size_t k, double& count, double& total) {
    count = total = 0;
    for (std::uint64_t i = t.cell_begin[k]; i < t.cell_begin[k + 1]; ++i) {
      count += t.counts[i * C + c];
      total += t.totals[i];
    }
  };
  double count_t, total_t, count_c, total_c;
  sums(tk, count_t, total_t);
  sums(ck, count_c, total_c);
  std::vector<double> theta;
  for (std::size_t k : {tk, ck}) {
    for (std::uint64_t i = t.cell_begin[k]; i < t.cell_begin[k + 1]; ++i) {
      const double cnt = t.counts[i * C + c], tot = t.totals[i];
      if (k == tk) {
        if (total_t - tot <= 0) continue;
        theta.push_back((count_t - cnt) / (total_t - tot) - count_c / total_c);
      } else {
        if (total_c - tot <= 0) continue;
        theta.push_back(count_t / total_t - (count_c - cnt) / (total_c - tot));
      }
    }
  }
  if (theta.empty()) return 0.0;
  double mean = 0;
  for (double v : theta) mean += v;
  mean /= static_cast<double>(theta.size());
  double s2 = 0, s3 = 0;
  for (double v : theta) {
    const double d = mean - v;
    s2 += d * d;
    s3 += d * d * d;
  }
  return s2 > 0 ? s3 / (6.0 * std::pow(s2, 1.5)) : 0.0;
}

// Cohen's d of the per-cell proportions of cluster c between conditions tk and ck.
double cohens_d(const CellTable& t, std::size_t tk, std::size_t ck, std::uint64_t c) {
  const std::uint64_t C = t.clusters;
  auto moments = [&](std::size_t k, double& mean, double& ss) {
    mean = 0;
    for (std::uint64_t i = t.cell_begin[k]; i < t.cell_begin[k + 1]; ++i) mean += t.counts[i * C + c] / t.totals[i];
    mean /= static_cast<double>(t.cells_in(k));
    ss = 0;
    for (std::uint64_t i = t.cell_begin[k]; i < t.cell_begin[k + 1]; ++i) {
      const double d = t.counts[i * C + c] / t.totals[i] - mean;
      ss += d * d;
    }
  };
  const double n = static_cast<double>(t.cells_in(tk) + t.cells_in(ck));
  if (n < 3) return kNaN;
  double mean_t, ss_t, mean_c, ss_c;
  moments(tk, mean_t, ss_t);
  moments(ck, mean_c, ss_c);
  const double s = std::sqrt((ss_t + ss_c) / (n - 2.0));
  if (s > 0) return (mean_t - mean_c) / s;
  return mean_t == mean_c ? 0.0 : kNaN;
}

}  // namespace

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double normal_quantile(double p) {
  if (!(p > 0.0 && p < 1.0)) {
    if (p == 0.0) return -std::numeric_limits<double>::infinity();
    if (p == 1.0) return std::numeric_limits<double>::infinity();
    return kNaN;
  }
  // Acklam's rational approximation (relative error < 1.2e-9) ...
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double low = 0.02425, high = 1 - low;
  double x;
  if (p < low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= high) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // ... and two Halley steps on Φ(x) − p, which reach double precision.
  for (int step = 0; step < 2; ++step) {
    const double e = normal_cdf(x) - p;
    const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
    x = x - u / (1 + x * u / 2);
  }
  return x;
}

Observations read_observations(const std::string& file, const std::string& labels_dataset,
                               const std::string& groups_dataset,
                               const std::string& conditions_dataset, const par::Comm& comm) {
  io::H5File in = io::H5File::open(file, comm);
  std::uint64_t rows[3] = {0, 0, 0};
  const std::string* names[3] = {&labels_dataset, &groups_dataset, &conditions_dataset};
  par::collectively(comm, [&] {
    for (int i = 0; i < 3; ++i) {
      const auto info = in.info(*names[i]);
      if (info.shape.size() != 1) {
        throw InputError(cat(in.where(*names[i]), ": expected a vector of shape [N], found ",
                             io::shape_string(info.shape)));
      }
      rows[i] = info.shape[0];
    }
    for (int i = 1; i < 3; ++i) {
      if (rows[i] != rows[0]) {
        throw InputError(cat(in.where(*names[0]), " has ", rows[0], " rows but ", *names[i],
                             " has ", rows[i], " (one value per observation expected in both)"));
      }
    }
  });
  Observations obs;
  obs.labels = io::read_samples<std::int64_t>(in, labels_dataset, io::one_value_per_row()).data;
  obs.groups = io::read_samples<std::int64_t>(in, groups_dataset, io::one_value_per_row()).data;
  obs.conditions = io::read_samples<std::int64_t>(in, conditions_dataset, io::one_value_per_row()).data;
  return obs;
}

CellTable build_cell_table(const Observations& local, std::uint64_t clusters, const par::Comm& comm) {
  std::int64_t max_label = -1;
  par::collectively(comm, [&] {
    if (local.groups.size() != local.labels.size() || local.conditions.size() != local.labels.size()) {
      throw InputError(cat("bootstrap: ", local.labels.size(), " labels but ", local.groups.size(),
                           " groups and ", local.conditions.size(), " conditions on rank ", comm.rank()));
    }
    for (std::size_t i = 0; i < local.labels.size(); ++i) {
      const auto l = local.labels[i];
      if (l < 0 || (clusters > 0 && static_cast<std::uint64_t>(l) >= clusters)) {
        throw InputError(cat("bootstrap: label ", l, " (an observation of cell ", local.groups[i],
                             ", condition ", local.conditions[i], ") is outside [0, ",
                             clusters > 0 ? cat(clusters) : std::string("inf"), ")"));
      }
      max_label = std::max(max_label, l);
    }
  });
  CellTable t;
  t.clusters = clusters > 0 ? clusters : static_cast<std::uint64_t>(comm.allreduce_max(max_label) + 1);
  const std::uint64_t C = t.clusters;

  // The global set of cells: (condition, group) keys from every rank, sorted.
  std::vector<std::int64_t> keys;
  {
    std::vector<std::pair<std::int64_t, std::int64_t>> mine;
    mine.reserve(local.labels.size());
    for (std::size_t i = 0; i < local.labels.size(); ++i) mine.emplace_back(local.conditions[i], local.groups[i]);
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    for (const auto& [k, g] : mine) {
      keys.push_back(k);
      keys.push_back(g);
    }
  }
  const auto all_keys = comm.allgatherv(keys);
  std::vector<std::pair<std::int64_t, std::int64_t>> cells;
  for (std::size_t i = 0; i + 1 < all_keys.size(); i += 2) cells.emplace_back(all_keys[i], all_keys[i + 1]);
  std::sort(cells.begin(), cells.end());
  cells.erase(std::unique(cells.begin(), cells.end()), cells.end());
  if (cells.size() > UINT32_MAX) throw InputError(cat("bootstrap: ", cells.size(), " cells exceed 2^32"));

  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (t.conditions.empty() || t.conditions.back() != cells[i].first) {
      t.conditions.push_back(cells[i].first);
      t.cell_begin.push_back(i);
    }
    t.cell_condition.push_back(cells[i].first);
    t.cell_group.push_back(cells[i].second);
  }
  t.cell_begin.push_back(cells.size());

  // Counts are integers held exactly in double, so the allreduce is exact.
  t.counts.assign(cells.size() * C, 0.0);
  for (std::size_t i = 0; i < local.labels.size(); ++i) {
    const auto it = std::lower_bound(cells.begin(), cells.end(), std::make_pair(local.conditions[i], local.groups[i]));
    t.counts[static_cast<std::size_t>(it - cells.begin()) * C + static_cast<std::uint64_t>(local.labels[i])] += 1.0;
  }
  comm.allreduce_sum_inplace(t.counts);
  t.totals.assign(cells.size(), 0.0);
  for (std::size_t i = 0; i < cells.size(); ++i) {
    for (std::uint64_t c = 0; c < C; ++c) t.totals[i] += t.counts[i * C + c];
  }
  return t;
}

std::vector<std::uint32_t> resample_indices(const CellTable& table, std::uint64_t seed,
                                            par::Range replicates) {
  const std::uint64_t n = table.cells();
  std::vector<std::uint32_t> out(replicates.size() * n);
  for (std::uint64_t r = replicates.begin; r < replicates.end; ++r) {
    core::Rng rng(seed, core::Stream::bootstrap, r);
    std::uint32_t* row = &out[(r - replicates.begin) * n];
    for (std::size_t k = 0; k < table.conditions.size(); ++k) {
      const std::uint64_t begin = table.cell_begin[k], n_k = table.cells_in(k);
      for (std::uint64_t j = 0; j < n_k; ++j) row[begin + j] = static_cast<std::uint32_t>(begin + rng.below(n_k));
    }
  }
  return out;
}

BootstrapResult bootstrap(const CellTable& table, const BootstrapOptions& options, const par::Comm& comm) {
  BootstrapResult res;
  res.conditions = table.conditions;
  res.control = options.control;
  res.clusters = table.clusters;
  res.replicates = options.replicates;
  res.confidence = options.confidence;
  const std::uint64_t C = table.clusters, K = table.conditions.size(), R = options.replicates;

  const auto ctrl_it = std::find(table.conditions.begin(), table.conditions.end(), options.control);
  // Every rank reaches the same verdict; agreeing makes the CLI report it once and exit cleanly.
  par::collectively(comm, [&] {
    if (ctrl_it == table.conditions.end()) {
      throw ConfigError(cat("bootstrap.control = ", options.control,
                            ": no observation has this condition (found ", K, " condition(s))"));
    }
    if (K < 2) throw ConfigError("bootstrap: only the control condition is present; nothing to compare");
    if (R < 1) throw ConfigError("bootstrap.replicates must be at least 1");
    if (!(options.confidence > 0 && options.confidence < 1)) {
      throw ConfigError(cat("bootstrap.confidence = ", options.confidence, ": expected a value in (0, 1)"));
    }
  });
  const auto ck = static_cast<std::size_t>(ctrl_it - table.conditions.begin());
  std::vector<std::size_t> tks;
  for (std::size_t k = 0; k < K; ++k) {
    if (k == ck) continue;
    tks.push_back(k);
    res.treatments.push_back(table.conditions[k]);
  }
  const std::uint64_t M = tks.size();

  res.proportions = observed_proportions(table);
  const auto block = par::BlockPartition::over(R, comm).range(comm.rank());
  res.replicate_proportions = comm.allgatherv(replicate_block(table, options, block, comm.size()));

  const double alpha = 1.0 - options.confidence;
  const double z_lo = normal_quantile(alpha / 2), z_hi = normal_quantile(1 - alpha / 2);
  for (auto* v : {&res.difference, &res.p_greater, &res.p_less, &res.p_two_sided, &res.p_greater_holm,
                  &res.p_less_holm, &res.cohens_d, &res.bias_correction, &res.acceleration}) {
    v->assign(M * C, kNaN);
  }
  res.ci_percentile.assign(M * C * 2, kNaN);
  res.ci_bca.assign(M * C * 2, kNaN);
  std::vector<double> d(R);
  res.ci_proportion.assign(K * C * 2, kNaN);
  for (std::uint64_t k = 0; k < K; ++k)
    for (std::uint64_t c = 0; c < C; ++c) {
      for (std::uint64_t r = 0; r < R; ++r) d[r] = res.replicate_proportions[(r * K + k) * C + c];
      std::sort(d.begin(), d.end());
      res.ci_proportion[2 * (k * C + c)] = quantile_sorted(d, alpha / 2);
      res.ci_proportion[2 * (k * C + c) + 1] = quantile_sorted(d, 1 - alpha / 2);
    }
  for (std::uint64_t m = 0; m < M; ++m) {
    const std::size_t tk = tks[m];
    for (std::uint64_t c = 0; c < C; ++c) {
      const std::uint64_t at = m * C + c;
      const double observed = res.proportions[tk * C + c] - res.proportions[ck * C + c];
      res.difference[at] = observed;
      std::uint64_t not_above = 0, not_below = 0, below_observed = 0;
      for (std::uint64_t r = 0; r < R; ++r) {
        d[r] = res.replicate_proportions[(r * K + tk) * C + c] - res.replicate_proportions[(r * K + ck) * C + c];
        not_above += d[r] <= 0;
        not_below += d[r] >= 0;
        below_observed += d[r] < observed;
      }
      res.p_greater[at] = (1.0 + not_above) / (1.0 + R);
      res.p_less[at] = (1.0 + not_below) / (1.0 + R);
      res.p_two_sided[at] = std::min(1.0, 2.0 * std::min(res.p_greater[at], res.p_less[at]));
      std::sort(d.begin(), d.end());
      res.ci_percentile[2 * at] = quantile_sorted(d, alpha / 2);
      res.ci_percentile[2 * at + 1] = quantile_sorted(d, 1 - alpha / 2);
      const double z0 = normal_quantile(static_cast<double>(below_observed) / static_cast<double>(R));
      const double a = acceleration(table, tk, ck, c);
      res.bias_correction[at] = z0;
      res.acceleration[at] = a;
      if (std::isfinite(z0)) {
        auto adjusted = [&](double z) { return normal_cdf(z0 + (z0 + z) / (1 - a * (z0 + z))); };
        res.ci_bca[2 * at] = quantile_sorted(d, adjusted(z_lo));
        res.ci_bca[2 * at + 1] = quantile_sorted(d, adjusted(z_hi));
      }
      res.cohens_d[at] = cohens_d(table, tk, ck, c);
    }
    // The family: this treatment's C clusters in both directions.
    const auto first = static_cast<std::ptrdiff_t>(m * C), n = static_cast<std::ptrdiff_t>(C);
    std::vector<double> family(res.p_greater.begin() + first, res.p_greater.begin() + first + n);
    family.insert(family.end(), res.p_less.begin() + first, res.p_less.begin() + first + n);
    const std::vector<double> adjusted = holm_adjust(family);
    std::copy(adjusted.begin(), adjusted.begin() + n, res.p_greater_holm.begin() + first);
    std::copy(adjusted.begin() + n, adjusted.end(), res.p_less_holm.begin() + first);
  }
  return res;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (!std::isnan(p[i])) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  std::vector<double> adjusted(p.size(), kNaN);
  const auto m = static_cast<double>(order.size());
  double running = 0.0;  // the step-down maximum keeps the adjusted values monotone in p
  for (std::size_t j = 0; j < order.size(); ++j) {
    running = std::max(running, std::min(1.0, (m - static_cast<double>(j)) * p[order[j]]));
    adjusted[order[j]] = running;
  }
  return adjusted;
}

}  // namespace phenoscale::ml
