// Minimum-cost assignment by the Hungarian method (ml/assignment.hpp).
#include "phenoscale/ml/assignment.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "phenoscale/core/error.hpp"

namespace phenoscale::ml {

namespace {

// Rows ≤ cols. The shortest-augmenting-path form with row potentials u and
// column potentials v (reduced cost c(i, j) − u(i) − v(j) ≥ 0); row i is
// added one at a time and matched along a path of zero reduced cost.
// Arrays are 1-based with column 0 as the virtual start of each path.
std::vector<std::int64_t> assign_rows(const std::vector<double>& cost, std::size_t n, std::size_t m) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0.0), v(m + 1, 0.0);
  std::vector<std::size_t> match(m + 1, 0), way(m + 1, 0);  // match[j]: row of column j (0: none)
  for (std::size_t i = 1; i <= n; ++i) {
    match[0] = i;
    std::size_t j0 = 0;
    std::vector<double> reach(m + 1, inf);
    std::vector<char> used(m + 1, 0);
    do {
      used[j0] = 1;
      const std::size_t i0 = match[j0];
      double delta = inf;
      std::size_t j1 = 0;
      for (std::size_t j = 1; j <= m; ++j) {
        if (used[j]) continue;
        const double reduced = cost[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
        if (reduced < reach[j]) reach[j] = reduced, way[j] = j0;
        if (reach[j] < delta) delta = reach[j], j1 = j;
      }
      for (std::size_t j = 0; j <= m; ++j) {
        if (used[j]) u[match[j]] += delta, v[j] -= delta;
        else reach[j] -= delta;
      }
      j0 = j1;
    } while (match[j0] != 0);
    do {  // flip the augmenting path
      const std::size_t j1 = way[j0];
      match[j0] = match[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<std::int64_t> row_to_col(n, -1);
  for (std::size_t j = 1; j <= m; ++j)
    if (match[j] != 0) row_to_col[match[j] - 1] = static_cast<std::int64_t>(j - 1);
  return row_to_col;
}

}  // namespace

std::vector<std::int64_t> min_cost_assignment(const std::vector<double>& cost, std::size_t rows, std::size_t cols) {
  if (cost.size() != rows * cols) {
    std::ostringstream msg;
    msg << "min_cost_assignment: expected a " << rows << " x " << cols << " cost matrix, found " << cost.size()
        << " values";
    throw ConfigError(msg.str());
  }
  for (double c : cost)
    if (!std::isfinite(c)) throw ConfigError("min_cost_assignment: expected finite costs, found " + std::to_string(c));
  if (rows == 0 || cols == 0) return std::vector<std::int64_t>(rows, -1);
  if (rows <= cols) return assign_rows(cost, rows, cols);
  // More rows than columns: assign the columns to rows on the transpose.
  std::vector<double> t(cost.size());
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) t[j * rows + i] = cost[i * cols + j];
  const auto col_to_row = assign_rows(t, cols, rows);
  std::vector<std::int64_t> row_to_col(rows, -1);
  for (std::size_t j = 0; j < cols; ++j) row_to_col[static_cast<std::size_t>(col_to_row[j])] = static_cast<std::int64_t>(j);
  return row_to_col;
}

}  // namespace phenoscale::ml
