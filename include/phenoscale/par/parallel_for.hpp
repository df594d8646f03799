// An OpenMP loop whose body may throw. An exception escaping an OpenMP
// region calls std::terminate (the job dies with SIGABRT and no error line);
// here each iteration's exception is kept and the one of the lowest index is
// rethrown after the loop, so the caller's collective agreement reports it
// as it would from a serial loop.
#pragma once

#include <cstdint>
#include <exception>
#include <vector>

namespace phenoscale::par {

// Runs body(i) for i in [0, n) on the OpenMP threads (schedule dynamic, `chunk`).
template <typename Body>
void parallel_for(std::int64_t n, int chunk, Body&& body) {
  std::vector<std::exception_ptr> error(static_cast<std::size_t>(n > 0 ? n : 0));
#pragma omp parallel for schedule(dynamic, chunk)
  for (std::int64_t i = 0; i < n; ++i) {
    try {
      body(i);
    } catch (...) {
      error[static_cast<std::size_t>(i)] = std::current_exception();
    }
  }
  for (const std::exception_ptr& e : error)
    if (e) std::rethrow_exception(e);
}

}  // namespace phenoscale::par
