// Parallel HDF5 throughput of a sharded sample array: collective write and
// read of N × 40³ float32 subtomogram-sized rows at the current rank count.
// Prints one table row; tests/bench/run_hdf5_io.sh runs it at 1 and 2 ranks
// next to h5py and dd on the same file and prints the ratios.
//   mpirun -n 2 bench_hdf5_io FILE.h5 [rows=2000] [row_floats=64000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/environment.hpp"
#include "phenoscale/par/partition.hpp"

using namespace phenoscale;

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  const par::Comm& world = env.world();
  if (argc < 2) {
    if (world.is_root()) std::fprintf(stderr, "usage: bench_hdf5_io FILE.h5 [rows] [row_floats]\n");
    return 2;
  }
  const std::string path = argv[1];
  const std::uint64_t rows = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2000;
  const std::uint64_t width = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 64000;
  const auto mine = par::BlockPartition::over(rows, world).range(world.rank());
  std::vector<float> data(mine.size() * width);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i % 977) * 0.5f;
  const double gb = double(rows) * width * sizeof(float) / 1e9;

  auto seconds_since = [](auto t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  world.barrier();
  auto t0 = std::chrono::steady_clock::now();
  {
    io::H5File f = io::H5File::create(path, world);
    io::write_samples(f, "/samples", data, {width});
    f.commit();
  }
  world.barrier();
  const double write_s = seconds_since(t0);

  world.barrier();
  t0 = std::chrono::steady_clock::now();
  double checksum = 0;
  {
    io::H5File f = io::H5File::open(path, world);
    const auto block = io::read_samples<float>(f, "/samples", {{}, false});
    checksum = block.data.empty() ? 0.0 : block.data.back();
  }
  world.barrier();
  const double read_s = seconds_since(t0);
  if (world.is_root()) {
    std::printf("phenoscale np=%d  %.3f GB  write %.2f GB/s  read %.2f GB/s  (checksum %g)\n",
                world.size(), gb, gb / write_s, gb / read_s, checksum);
  }
  return 0;
}
