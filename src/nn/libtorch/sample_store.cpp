// Sharded training data and the all-to-all exchange that assembles batches.
#include "phenoscale/nn/sample_store.hpp"

#include <algorithm>
#include <numeric>

#include "phenoscale/core/config.hpp"  // core::format_value
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/ragged.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/check_deck.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::nn {

using core::cat;

std::int64_t SampleStore::frame_size() const {
  std::int64_t size = 1;
  for (auto d : sample_shape) size *= d;
  return size;
}

void SampleStore::push_back(const float* data, std::int64_t frames, const std::int64_t* frame_targets) {
  const std::int64_t width = frame_size();
  values.insert(values.end(), data, data + frames * width);
  lengths.push_back(frames);
  offsets.push_back(offsets.back() + frames);
  if (frame_targets) {
    const std::int64_t count = per_frame_targets ? frames : 1;
    targets.insert(targets.end(), frame_targets, frame_targets + count);
  }
}

void SampleStore::finish_sharding(const par::Comm& comm) {
  const auto counts = comm.allgather<std::int64_t>(size());
  global_count = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  first = std::accumulate(counts.begin(), counts.begin() + comm.rank(), std::int64_t{0});
  rank_firsts.assign(comm.size(), 0);
  for (int r = 1; r < comm.size(); ++r) rank_firsts[r] = rank_firsts[r - 1] + counts[r - 1];
  // Every rank needs every length: the sampler buckets series by length and
  // the normaliser of a global batch is its total frame count.
  all_lengths = comm.allgatherv(lengths);
}

namespace {

// An empty store with the layout of `like`.
SampleStore empty_like(const SampleStore& like) {
  SampleStore out;
  out.sequences = like.sequences;
  out.sample_shape = like.sample_shape;
  out.per_frame_targets = like.per_frame_targets;
  out.labelled = like.labelled;
  out.global_count = like.global_count;
  out.all_lengths = like.all_lengths;
  return out;
}

// Which rank owns global sample i: the owners' first indices, ascending.
int owner_of(std::int64_t i, const std::vector<std::int64_t>& firsts) {
  auto it = std::upper_bound(firsts.begin(), firsts.end(), i);
  return static_cast<int>(it - firsts.begin()) - 1;
}

std::int64_t target_count(const SampleStore& s, std::int64_t local) {
  return s.per_frame_targets ? s.lengths[local] : 1;
}

}  // namespace

SampleStore fetch(const SampleStore& local, const std::vector<std::int64_t>& wanted,
                  const par::Comm& comm) {
  const int p = comm.size();
  const auto firsts = static_cast<int>(local.rank_firsts.size()) == p ? local.rank_firsts
                                                                     : comm.allgather<std::int64_t>(local.first);
  // 1. Requests: which global indices this rank needs from each owner.
  std::vector<std::vector<std::int64_t>> requests(p);
  for (auto i : wanted) {
    if (i < 0 || i >= local.global_count) {
      throw Error(cat("sample index ", i, " outside [0, ", local.global_count, ")"));
    }
    requests[owner_of(i, firsts)].push_back(i);
  }
  std::vector<std::int64_t> send_idx;
  std::vector<std::uint64_t> send_counts(p), recv_counts;
  for (int r = 0; r < p; ++r) {
    send_idx.insert(send_idx.end(), requests[r].begin(), requests[r].end());
    send_counts[r] = requests[r].size();
  }
  const auto asked = comm.alltoallv(send_idx, send_counts, recv_counts);

  // 2. Replies: the owners pack lengths, values and targets in request order.
  std::vector<std::int64_t> reply_lengths;
  std::vector<float> reply_values;
  std::vector<std::int64_t> reply_targets;
  std::vector<std::uint64_t> len_counts(p), value_counts(p), target_counts(p);
  const std::int64_t width = local.frame_size();
  std::size_t k = 0;
  for (int r = 0; r < p; ++r) {
    std::int64_t values_for_r = 0, targets_for_r = 0;
    for (std::uint64_t j = 0; j < recv_counts[r]; ++j, ++k) {
      const std::int64_t l = asked[k] - local.first;
      reply_lengths.push_back(local.lengths[l]);
      const float* begin = local.values.data() + local.offsets[l] * width;
      reply_values.insert(reply_values.end(), begin, begin + local.lengths[l] * width);
      values_for_r += local.lengths[l] * width;
      if (local.labelled) {
        const std::int64_t t0 = local.per_frame_targets ? local.offsets[l] : l;
        const std::int64_t n = target_count(local, l);
        reply_targets.insert(reply_targets.end(), local.targets.begin() + t0,
                             local.targets.begin() + t0 + n);
        targets_for_r += n;
      }
    }
    len_counts[r] = recv_counts[r];
    value_counts[r] = static_cast<std::uint64_t>(values_for_r);
    target_counts[r] = static_cast<std::uint64_t>(targets_for_r);
  }
  std::vector<std::uint64_t> got_lengths_counts, got_value_counts, got_target_counts;
  const auto got_lengths = comm.alltoallv(reply_lengths, len_counts, got_lengths_counts);
  const auto got_values = comm.alltoallv(reply_values, value_counts, got_value_counts);
  const auto got_targets = comm.alltoallv(reply_targets, target_counts, got_target_counts);

  // 3. Received samples arrive grouped by owner in request order; put them
  // back into the order of `wanted`.
  std::vector<std::int64_t> sample_pos(got_lengths.size() + 1, 0), target_pos(got_lengths.size() + 1, 0);
  for (std::size_t s = 0; s < got_lengths.size(); ++s) {
    sample_pos[s + 1] = sample_pos[s] + got_lengths[s] * width;
    target_pos[s + 1] = target_pos[s] + (local.labelled ? (local.per_frame_targets ? got_lengths[s] : 1) : 0);
  }
  std::vector<std::size_t> slot_of_owner(p, 0);
  for (int r = 1; r < p; ++r) slot_of_owner[r] = slot_of_owner[r - 1] + requests[r - 1].size();
  std::vector<std::size_t> next(p, 0);
  SampleStore out = empty_like(local);
  for (auto i : wanted) {
    const int r = owner_of(i, firsts);
    const std::size_t s = slot_of_owner[r] + next[r]++;
    out.push_back(got_values.data() + sample_pos[s], got_lengths[s],
                  local.labelled ? got_targets.data() + target_pos[s] : nullptr);
  }
  return out;
}

SampleStore local_rows(const SampleStore& local, const std::vector<std::int64_t>& rows) {
  SampleStore out = empty_like(local);
  for (const std::int64_t l : rows) {
    const std::int64_t t0 = local.per_frame_targets ? local.offsets[l] : l;
    out.push_back(local.values.data() + local.offsets[l] * local.frame_size(), local.lengths[l],
                  local.labelled ? local.targets.data() + t0 : nullptr);
  }
  return out;
}

SampleStore local_slice(const SampleStore& local, std::int64_t begin, std::int64_t end) {
  std::vector<std::int64_t> rows(static_cast<std::size_t>(std::max<std::int64_t>(0, end - begin)));
  std::iota(rows.begin(), rows.end(), begin);
  return local_rows(local, rows);
}

SampleStore without_labels(const SampleStore& local, const std::vector<std::int64_t>& excluded,
                           const par::Comm& comm) {
  par::collectively(comm, [&] {
    if (!local.labelled || local.per_frame_targets) {
      throw ConfigError("leaving classes out needs one label per sample");
    }
  });
  SampleStore out = empty_like(local);
  std::vector<double> left_out(excluded.size(), 0.0);
  for (std::int64_t l = 0; l < local.size(); ++l) {
    const auto it = std::find(excluded.begin(), excluded.end(), local.targets[l]);
    if (it != excluded.end()) {
      left_out[static_cast<std::size_t>(it - excluded.begin())] += 1;
      continue;
    }
    out.push_back(local.values.data() + local.offsets[l] * local.frame_size(), local.lengths[l], &local.targets[l]);
  }
  out.finish_sharding(comm);
  // A class id no sample has (a deck written for other data) leaves nothing out: say so.
  comm.allreduce_sum_inplace(left_out);
  for (std::size_t c = 0; c < excluded.size(); ++c)
    if (left_out[c] == 0)
      core::Log::warn(cat("leaving out class ", excluded[c], ": no sample has that label, nothing left out for it"));
  par::check_deck(comm, out.global_count > 0,
                  cat("train.exclude_classes: leaving out classes ", core::format_value(excluded),
                      " leaves no sample to train on"));
  return out;
}

Batch collate(const SampleStore& samples, const std::vector<std::int64_t>& indices,
              double global_samples, double global_frames) {
  Batch batch;
  batch.indices = indices;
  batch.global_samples = global_samples;
  batch.global_frames = global_frames;
  const std::int64_t b = samples.size();
  batch.lengths = torch::from_blob(const_cast<std::int64_t*>(samples.lengths.data()), {b}, torch::kInt64).clone();
  if (!samples.sequences) {
    std::vector<std::int64_t> shape{b};
    shape.insert(shape.end(), samples.sample_shape.begin(), samples.sample_shape.end());
    batch.inputs = torch::from_blob(const_cast<float*>(samples.values.data()), shape, torch::kFloat32).clone();
    if (samples.labelled) {
      batch.targets = torch::from_blob(const_cast<std::int64_t*>(samples.targets.data()), {b}, torch::kInt64).clone();
    }
    return batch;
  }
  const std::int64_t c = samples.frame_size();
  const std::int64_t t = b ? *std::max_element(samples.lengths.begin(), samples.lengths.end()) : 0;
  batch.inputs = torch::zeros({b, t, c}, torch::kFloat32);
  batch.mask = torch::zeros({b, t}, torch::kFloat32);
  if (samples.labelled) {
    batch.targets = samples.per_frame_targets ? torch::zeros({b, t}, torch::kInt64) : torch::zeros({b}, torch::kInt64);
  }
  auto in = batch.inputs.accessor<float, 3>();
  auto mask = batch.mask.accessor<float, 2>();
  for (std::int64_t i = 0; i < b; ++i) {
    const float* src = samples.values.data() + samples.offsets[i] * c;
    for (std::int64_t f = 0; f < samples.lengths[i]; ++f) {
      mask[i][f] = 1.0f;
      for (std::int64_t j = 0; j < c; ++j) in[i][f][j] = src[f * c + j];
    }
    if (!samples.labelled) continue;
    if (samples.per_frame_targets) {
      auto tg = batch.targets.accessor<std::int64_t, 2>();
      for (std::int64_t f = 0; f < samples.lengths[i]; ++f) tg[i][f] = samples.targets[samples.offsets[i] + f];
    } else {
      batch.targets.accessor<std::int64_t, 1>()[i] = samples.targets[i];
    }
  }
  return batch;
}

namespace {

bool is_csr_group(const io::H5File& file, const std::string& name) {
  return file.has(name + "/offsets") && file.has(name + "/values");
}

void load_fixed(SampleStore& store, const io::H5File& file, const std::string& inputs) {
  const auto block = io::read_samples<float>(file, inputs);
  store.sequences = false;
  store.sample_shape.assign(block.sample_shape.begin(), block.sample_shape.end());
  const auto rows = static_cast<std::int64_t>(block.rows.size());
  store.values = block.data;
  store.lengths.assign(rows, 1);
  store.offsets.resize(rows + 1);
  std::iota(store.offsets.begin(), store.offsets.end(), 0);
}

void load_series(SampleStore& store, const io::H5File& file, const std::string& inputs) {
  const auto series = io::read_ragged<float>(file, inputs);
  store.sequences = true;
  store.sample_shape = {static_cast<std::int64_t>(series.width)};
  store.values = series.values;
  store.offsets.assign(series.offsets.begin(), series.offsets.end());
  store.lengths.resize(series.size());
  for (std::uint64_t i = 0; i < series.size(); ++i) store.lengths[i] = series.length(i);
}

void load_labels(SampleStore& store, const io::H5File& file, const std::string& labels,
                 const par::Comm& comm) {
  store.labelled = true;
  if (is_csr_group(file, labels)) {
    const auto frames = io::read_ragged<std::int64_t>(file, labels, 1);
    par::collectively(comm, [&] {
      if (!store.sequences) {
        throw InputError(cat(file.where(labels), ": per-frame labels need variable-length inputs"));
      }
      for (std::uint64_t i = 0; i < frames.size(); ++i) {
        if (static_cast<std::int64_t>(frames.length(i)) != store.lengths.at(i)) {
          throw InputError(cat(file.where(labels), ": series ", frames.first_series + i, " has ",
                               frames.length(i), " labels but ", store.lengths.at(i), " frames"));
        }
      }
    });
    store.per_frame_targets = true;
    store.targets = frames.values;
    return;
  }
  const auto block = io::read_samples<std::int64_t>(file, labels, {{}, true});
  store.targets = block.data;
}

}  // namespace

SampleStore load_samples(const std::string& path, const std::string& inputs,
                         const std::string& labels, const par::Comm& comm) {
  io::H5File file = io::H5File::open(path, comm);
  SampleStore store;
  if (is_csr_group(file, inputs)) {
    load_series(store, file, inputs);
  } else {
    load_fixed(store, file, inputs);
  }
  if (!labels.empty()) load_labels(store, file, labels, comm);
  const auto label_rows = comm.allreduce_sum<std::int64_t>(
      store.per_frame_targets ? static_cast<std::int64_t>(store.lengths.size())
                              : static_cast<std::int64_t>(store.targets.size()));
  store.finish_sharding(comm);
  par::collectively(comm, [&] {
    if (store.labelled && label_rows != store.global_count) {
      throw InputError(cat(file.where(labels), ": ", label_rows, " labels for ", store.global_count,
                           " samples in ", file.where(inputs)));
    }
    for (auto t : store.targets) {
      if (t < 0) throw InputError(cat(file.where(labels), ": negative class label ", t));
    }
  });
  return store;
}

}  // namespace phenoscale::nn
