// Trained models as self-describing HDF5 files.
//
//   /parameters/<name>   every parameter, in its own shape (float32)
//   /buffers/<name>      BatchNorm running statistics etc.
//   attributes on /      architecture, hyperparameters ("key = value" lines),
//                        task, plus provenance of the training stage
// The architecture name and hyper-parameters are enough to rebuild the
// network, so `phenoscale nn predict` and the pipelines reload a model
// without the deck that trained it; h5py reads the weights directly.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/nn/model.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::nn {

// Collective: writes `model` (rank 0's copy) to `path` atomically, with
// `metrics` (e.g. held-out test accuracy) as root attributes.
void save_model(const std::string& path, Model& model, const io::Provenance& provenance, const par::Comm& comm,
                const std::map<std::string, double>& metrics = {});

// Collective: rebuilds the network stored in `path` on every rank.
std::shared_ptr<Model> load_model(const std::string& path, const par::Comm& comm);

// Collective. The architecture and hyper-parameters on `/`, without the weights.
ModelSpec read_model_spec_from_file(const std::string& path, const par::Comm& comm);

}  // namespace phenoscale::nn
