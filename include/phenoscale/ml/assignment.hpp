// Minimum-cost assignment (the linear assignment problem) by the Hungarian
// method with potentials (Kuhn 1955; Munkres 1957), O(n² m) for an n × m
// cost matrix. Used to match the communities found in separate groups of
// samples to one set of labels — the edge phenotypes of different paired
// experiments (DeepHACKS, Ma et al. 2024, Methods "Phenotyping Using Deep
// Features"; docs/methods.md §3.4).
#pragma once

#include <cstdint>
#include <vector>

namespace phenoscale::ml {

// `cost` is rows × cols, row-major, finite. Returns, for every row, the
// column it is assigned to, or -1: min(rows, cols) pairs are made, each
// column and each row used at most once, with the smallest total cost (the
// same optimum as scipy.optimize.linear_sum_assignment; ties may pick a
// different optimal assignment).
std::vector<std::int64_t> min_cost_assignment(const std::vector<double>& cost, std::size_t rows, std::size_t cols);

}  // namespace phenoscale::ml
