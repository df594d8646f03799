#include "phenoscale/io/provenance.hpp"

#include <ctime>

#include "phenoscale/core/buildinfo.hpp"

namespace phenoscale::io {

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const std::vector<std::string>& provenance_attributes() {
  static const std::vector<std::string> names = {
      "phenoscale_version", "git_revision", "stage", "created_utc", "mpi_ranks",
      "seed", "command_line", "inputs", "deck"};
  return names;
}

void write_provenance(H5File& file, const Provenance& p) {
  const par::Comm& comm = file.comm();
  // Attribute writes are collective and must carry identical values: take
  // the time and the inputs list from rank 0.
  std::string created = utc_now_iso8601();
  comm.broadcast(created);
  std::string inputs;
  for (const auto& in : p.inputs) inputs += (inputs.empty() ? "" : "\n") + in;
  comm.broadcast(inputs);

  file.write_attribute("/", "phenoscale_version", std::string(core::version()));
  file.write_attribute("/", "git_revision", std::string(core::git_revision()));
  file.write_attribute("/", "stage", p.stage);
  file.write_attribute("/", "created_utc", created);
  file.write_attribute("/", "mpi_ranks", static_cast<std::int64_t>(comm.size()));
  file.write_attribute("/", "seed", p.seed);
  file.write_attribute("/", "command_line", p.command_line);
  file.write_attribute("/", "inputs", inputs);
  file.write_attribute("/", "deck", p.deck);
}

}  // namespace phenoscale::io
