// HDF5 model files (see model_file.hpp).
#include "phenoscale/nn/model_file.hpp"

#include "phenoscale/core/error.hpp"
#include "phenoscale/nn/engine.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::nn {

using core::cat;

namespace {

// Rank 0 contributes the whole tensor as rows of its first dimension.
void write_tensor(io::H5File& file, const std::string& name, const torch::Tensor& t, bool root) {
  auto host = t.detach().to(torch::kCPU).contiguous();
  if (host.dim() == 0) host = host.reshape({1});
  std::vector<std::uint64_t> sample_shape(host.sizes().begin() + 1, host.sizes().end());
  const std::uint64_t rows = root ? host.size(0) : 0;
  if (host.scalar_type() == torch::kInt64) {
    io::write_samples(file, name, host.data_ptr<std::int64_t>(), rows, sample_shape);
  } else {
    auto f = host.to(torch::kFloat32);
    io::write_samples(file, name, f.data_ptr<float>(), rows, sample_shape);
  }
}

void read_tensor(const io::H5File& file, const std::string& name, torch::Tensor& t) {
  const auto info = file.info(name);
  std::vector<std::uint64_t> expected(t.sizes().begin(), t.sizes().end());
  if (t.dim() == 0) expected = {1};
  if (info.shape != expected) {
    throw InputError(cat(file.where(name), ": shape ", io::shape_string(info.shape), " but the network expects ",
                         io::shape_string(expected)));
  }
  const par::Range all{0, expected[0]};
  const std::vector<std::uint64_t> sample_shape(expected.begin() + 1, expected.end());
  torch::NoGradGuard no_grad;
  if (t.scalar_type() == torch::kInt64) {
    auto block = io::read_sample_rows<std::int64_t>(file, name, all, {sample_shape, true});
    t.copy_(torch::from_blob(block.data.data(), t.sizes(), torch::kInt64));
  } else {
    auto block = io::read_sample_rows<float>(file, name, all, {sample_shape, true});
    t.copy_(torch::from_blob(block.data.data(), t.sizes(), torch::kFloat32));
  }
}

}  // namespace

void save_model(const std::string& path, Model& model, const io::Provenance& provenance, const par::Comm& comm,
                const std::map<std::string, double>& metrics) {
  io::H5File file = io::H5File::create(path, comm);
  file.create_group("/parameters");
  file.create_group("/buffers");
  for (const auto& p : model.named_parameters()) write_tensor(file, "/parameters/" + p.key(), p.value(), comm.is_root());
  for (const auto& b : model.named_buffers()) write_tensor(file, "/buffers/" + b.key(), b.value(), comm.is_root());
  const auto& arch = find_architecture(model.spec().architecture);
  file.write_attribute("/", "architecture", model.spec().architecture);
  file.write_attribute("/", "hyperparameters", model.spec().to_text());
  file.write_attribute("/", "task", task_name(arch.task));
  for (const auto& [name, value] : metrics) file.write_attribute("/", name, value);
  io::write_provenance(file, provenance);
  file.commit();
}

namespace {

// Collective. The architecture and hyper-parameters stored on `/`.
ModelSpec stored_spec(const io::H5File& file, const std::string& path) {
  ModelSpec spec;
  par::collectively(file.comm(), [&] {
    if (!file.has_attribute("/", "architecture") || !file.has_attribute("/", "hyperparameters")) {
      throw InputError(cat(path, ": not a phenoscale model file (no 'architecture' and 'hyperparameters' attributes)"));
    }
    const auto arch = file.read_string_attribute("/", "architecture");
    const std::string where = cat(path, ": attribute '/hyperparameters'");
    try {
      spec = ModelSpec::from_text(arch, file.read_string_attribute("/", "hyperparameters"), where);
    } catch (const ConfigError& e) {
      // An unknown architecture or key, or a value out of range: the file is at fault, not the deck.
      throw InputError(cat(path, ": ", e.what()));
    }
  });
  return spec;
}

}  // namespace

ModelSpec read_model_spec_from_file(const std::string& path, const par::Comm& comm) {
  return stored_spec(io::H5File::open(path, comm), path);
}

std::shared_ptr<Model> load_model(const std::string& path, const par::Comm& comm) {
  io::H5File file = io::H5File::open(path, comm);
  const ModelSpec spec = stored_spec(file, path);
  std::shared_ptr<Model> model;
  par::collectively(comm, [&] { model = make_model(spec); });
  for (auto& p : model->named_parameters()) read_tensor(file, "/parameters/" + p.key(), p.value());
  for (auto& b : model->named_buffers()) read_tensor(file, "/buffers/" + b.key(), b.value());
  return model;
}

}  // namespace phenoscale::nn
