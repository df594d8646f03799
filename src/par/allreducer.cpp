// The registry of allreduce backends — the one table to extend.
#include "phenoscale/par/allreducer.hpp"

#include <functional>

#include "phenoscale/core/error.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::par {

std::unique_ptr<Allreducer> make_mpi_allreducer(const Comm& comm);
#ifdef PHENOSCALE_HAVE_NCCL
std::unique_ptr<Allreducer> make_nccl_allreducer(const Comm& comm);
#endif

namespace {

struct Entry {
  AllreducerInfo info;
  std::function<std::unique_ptr<Allreducer>(const Comm&)> make;
};

const std::vector<Entry>& registry() {
  static const std::vector<Entry> table = {
      {{"mpi", "MPI_Iallreduce on host memory (CPU training)"}, make_mpi_allreducer},
#ifdef PHENOSCALE_HAVE_NCCL
      {{"nccl", "ncclAllReduce on device memory, one GPU per rank (CUDA training)"},
       make_nccl_allreducer},
#endif
  };
  return table;
}

}  // namespace

std::vector<AllreducerInfo> allreducer_backends() {
  std::vector<AllreducerInfo> out;
  for (const auto& e : registry()) out.push_back(e.info);
  return out;
}

std::unique_ptr<Allreducer> make_allreducer(const std::string& name, const Comm& comm) {
  for (const auto& e : registry()) {
    if (e.info.name != name) continue;
    std::unique_ptr<Allreducer> backend;
    collectively(comm, [&] { backend = e.make(comm); });
    return backend;
  }
  std::string names;
  for (const auto& e : registry()) names += (names.empty() ? "" : ", ") + e.info.name;
  std::string hint = name == "nccl" ? " (nccl needs a build with PHENOSCALE_WITH_CUDA)" : "";
  throw ConfigError("allreduce backend '" + name + "' is not available in this build" + hint +
                    "; available: " + names);
}

}  // namespace phenoscale::par
