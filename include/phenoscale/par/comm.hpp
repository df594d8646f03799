// MPI communicator with typed collectives.
//
// A thin RAII layer over MPI: `Comm` either borrows a communicator (the
// world) or owns one it duplicated/split (freed in the destructor). The typed
// helpers exist so that layer code never spells MPI datatypes by hand and the
// rank-count-independence rules (fixed reduction order, double accumulators)
// live in one place.
//
// Return codes: world's error handler is MPI_ERRORS_RETURN (par::Environment),
// which duplicates and splits inherit, so a failed call returns instead of
// ending the job. Every MPI call here goes through check_mpi, which throws
// IoError naming the call and MPI's text (a truncated message, a mismatched
// collective): the error then reaches par::agree like any other, instead of
// leaving a buffer silently unwritten. A failed post or wait of
// point-to-point requests ends the job instead (check_mpi_in_flight). Calls
// in destructors stay unchecked: there is nothing to throw to.
//
// Large counts: MPI's counts and displacements are ints, so a v-collective
// over more than 2^31 - 1 elements would overflow (the union kNN graph at the
// paper's K = 2560 reaches that many arcs a rank near 10^6 samples). Every
// collective here takes 64-bit sizes; data above `message_limit<T>()`
// elements (1 GiB) travel as several MPI calls addressed with 64-bit offsets.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace phenoscale::par {

template <typename T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, std::int8_t>) return MPI_INT8_T;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return MPI_UINT8_T;
  else if constexpr (std::is_same_v<T, std::int16_t>) return MPI_INT16_T;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return MPI_UINT16_T;
  else if constexpr (std::is_same_v<T, std::int32_t>) return MPI_INT32_T;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return MPI_UINT32_T;
  else if constexpr (std::is_same_v<T, std::int64_t>) return MPI_INT64_T;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return MPI_UINT64_T;
  else if constexpr (std::is_same_v<T, char>) return MPI_CHAR;
  else static_assert(sizeof(T) == 0, "no MPI datatype for this type");
}

// MPI's text for an error code (MPI_Error_string).
std::string mpi_error_text(int rc);
[[noreturn]] void throw_mpi_error(int rc, const char* call);
// Throws IoError("MPI: <call> failed: <MPI's text>") unless rc is MPI_SUCCESS.
inline void check_mpi(int rc, const char* call) {
  if (rc != MPI_SUCCESS) throw_mpi_error(rc, call);
}
// For the calls of non-blocking communication (point-to-point posts and
// waits, the MPI allreducer's overlapped posts): other requests may be in
// flight into buffers that an exception would free while the other ranks'
// messages still land there. Logs "MPI: <call> failed: <text>
// (...; the job is aborted)" and ends the job (Environment::abort).
[[noreturn]] void abort_on_mpi_error(int rc, const char* call);
inline void check_mpi_in_flight(int rc, const char* call) {
  if (rc != MPI_SUCCESS) abort_on_mpi_error(rc, call);
}

class Comm {
 public:
  // Borrows `comm` (not freed). Use `duplicate()` for an owned copy.
  explicit Comm(MPI_Comm comm = MPI_COMM_WORLD);
  ~Comm();
  Comm(Comm&& other) noexcept;
  Comm& operator=(Comm&& other) noexcept;
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  Comm duplicate() const;
  Comm split(int color, int key) const;
  // Ranks sharing a node (used to pick a GPU per rank).
  Comm split_shared() const;

  MPI_Comm raw() const { return comm_; }
  // The communicator par::agree (agree.hpp) meets on: a duplicate made at
  // this Comm's first agreement (collective then; par::collectively makes it
  // before its work starts), so that a rank whose work failed can never enter
  // a collective that the others, still inside the work, are blocked in.
  MPI_Comm agreement() const;
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  void barrier() const;

  template <typename T>
  T allreduce_sum(T value) const {
    allreduce_span(&value, 1, MPI_SUM);
    return value;
  }
  template <typename T>
  T allreduce_max(T value) const {
    allreduce_span(&value, 1, MPI_MAX);
    return value;
  }
  template <typename T>
  T allreduce_min(T value) const {
    allreduce_span(&value, 1, MPI_MIN);
    return value;
  }
  // Element-wise sum of the n elements at `data`, in place on every rank (in
  // pieces when above message_limit).
  template <typename T>
  void allreduce_sum_span(T* data, std::size_t n) const {
    allreduce_span(data, n, MPI_SUM);
  }
  template <typename T>
  void allreduce_sum_inplace(std::vector<T>& values) const {
    allreduce_span(values.data(), values.size(), MPI_SUM);
  }
  template <typename T>
  void allreduce_max_inplace(std::vector<T>& values) const {
    allreduce_span(values.data(), values.size(), MPI_MAX);
  }
  template <typename T>
  void allreduce_min_inplace(std::vector<T>& values) const {
    allreduce_span(values.data(), values.size(), MPI_MIN);
  }
  // Exclusive prefix sum: rank r receives sum of values of ranks < r (0 on rank 0).
  template <typename T>
  T exscan_sum(T value) const {
    T out{};
    check_mpi(MPI_Exscan(&value, &out, 1, mpi_type<T>(), MPI_SUM, comm_), "MPI_Exscan");
    if (rank_ == 0) out = T{};  // MPI leaves rank 0's buffer undefined
    return out;
  }
  template <typename T>
  std::vector<T> allgather(T value) const {
    std::vector<T> out(size_);
    check_mpi(MPI_Allgather(&value, 1, mpi_type<T>(), out.data(), 1, mpi_type<T>(), comm_), "MPI_Allgather");
    return out;
  }
  // Concatenation of every rank's `local` in rank order, on every rank.
  template <typename T>
  std::vector<T> allgatherv(const std::vector<T>& local) const {
    const auto counts = allgather<std::uint64_t>(local.size());
    const auto at = offsets(counts);
    std::vector<T> out(at.back());
    if (at.back() <= message_limit<T>()) {
      const std::vector<int> n(counts.begin(), counts.end()), d(at.begin(), at.end() - 1);
      check_mpi(MPI_Allgatherv(local.data(), n[rank_], mpi_type<T>(), out.data(), n.data(), d.data(),
                               mpi_type<T>(), comm_),
                "MPI_Allgatherv");
      return out;
    }
    std::copy(local.begin(), local.end(), out.begin() + static_cast<std::ptrdiff_t>(at[rank_]));
    for (int r = 0; r < size_; ++r) broadcast_span(out.data() + at[r], counts[r], r);
    return out;
  }
  // Concatenation of every rank's `local` in rank order on `root`; empty
  // elsewhere.
  template <typename T>
  std::vector<T> gatherv(const std::vector<T>& local, int root = 0) const {
    const auto counts = allgather<std::uint64_t>(local.size());
    const auto at = offsets(counts);
    std::vector<T> out(rank_ == root ? at.back() : 0);
    if (at.back() <= message_limit<T>()) {
      const std::vector<int> n(counts.begin(), counts.end()), d(at.begin(), at.end() - 1);
      check_mpi(MPI_Gatherv(local.data(), n[rank_], mpi_type<T>(), out.data(), n.data(), d.data(), mpi_type<T>(),
                            root, comm_),
                "MPI_Gatherv");
      return out;
    }
    Requests requests;
    if (rank_ != root) {
      post_send(local.data(), local.size(), root, requests);
    } else {
      std::copy(local.begin(), local.end(), out.begin() + static_cast<std::ptrdiff_t>(at[rank_]));
      for (int r = 0; r < size_; ++r)
        if (r != root) post_receive(out.data() + at[r], counts[r], r, requests);
    }
    wait_all(requests);
    return out;
  }
  template <typename T>
  void broadcast(T& value, int root = 0) const {
    check_mpi(MPI_Bcast(&value, 1, mpi_type<T>(), root, comm_), "MPI_Bcast");
  }
  template <typename T>
  void broadcast(std::vector<T>& values, int root = 0) const {
    std::uint64_t n = values.size();
    broadcast(n, root);
    values.resize(n);
    broadcast_span(values.data(), n, root);
  }
  void broadcast(std::string& text, int root = 0) const;
  // The n elements at `data` from `root` (in pieces when above message_limit).
  template <typename T>
  void broadcast_span(T* data, std::size_t n, int root) const {
    for_each_chunk<T>(n, [&](std::size_t at, int k) {
      check_mpi(MPI_Bcast(data + at, k, mpi_type<T>(), root, comm_), "MPI_Bcast");
    });
  }

  // Personalised all-to-all: `buckets[r]` goes to rank r. Returns what every
  // rank sent here, concatenated in source-rank order; `received_counts`
  // (when given) gets the size of each source's part, for replying in the
  // same order. Point-to-point from the buckets themselves, so no flat copy
  // of what is sent is made.
  template <typename T>
  std::vector<T> alltoallv(const std::vector<std::vector<T>>& buckets,
                           std::vector<std::uint64_t>* received_counts = nullptr) const {
    std::vector<std::uint64_t> counts(size_);
    for (int r = 0; r < size_; ++r) counts[r] = buckets[r].size();
    return exchange<T>([&](int r) { return buckets[r].data(); }, counts, received_counts);
  }
  // The same with the blocks for ranks 0..size-1 back to back in `send`,
  // `send_counts[r]` elements for rank r; `recv_counts` gets the received
  // blocks' sizes.
  template <typename T>
  std::vector<T> alltoallv(const std::vector<T>& send, const std::vector<std::uint64_t>& send_counts,
                           std::vector<std::uint64_t>& recv_counts) const {
    const auto at = offsets(send_counts);
    return exchange<T>([&](int r) { return send.data() + at[r]; }, send_counts, &recv_counts);
  }

  // Nonblocking point-to-point of n elements in pieces of at most
  // message_limit<T>(), on one tag: a pair's messages match in the order
  // posted. Complete with wait_all before touching `data`.
  using Requests = std::vector<MPI_Request>;
  template <typename T>
  void post_send(const T* data, std::size_t n, int to, Requests& requests) const {
    for_each_chunk<T>(n, [&](std::size_t at, int k) {
      check_mpi_in_flight(MPI_Isend(data + at, k, mpi_type<T>(), to, kTag, comm_, &requests.emplace_back()),
                          "MPI_Isend");
    });
  }
  template <typename T>
  void post_receive(T* data, std::size_t n, int from, Requests& requests) const {
    for_each_chunk<T>(n, [&](std::size_t at, int k) {
      check_mpi_in_flight(MPI_Irecv(data + at, k, mpi_type<T>(), from, kTag, comm_, &requests.emplace_back()),
                          "MPI_Irecv");
    });
  }
  static void wait_all(Requests& requests) {
    check_mpi_in_flight(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE),
                        "MPI_Waitall");
  }

  // Most elements of T one MPI call moves here: as many as fill 1 GiB (so at
  // most 2^30, below INT_MAX).
  template <typename T>
  std::size_t message_limit() const {
    return std::max<std::size_t>(1, message_bytes_ / sizeof(T));
  }
  // Lowers the 1 GiB message size, so that tests can run the chunked paths on
  // small data. Collective in effect: every rank must set the same value.
  // duplicate() keeps it (so an allreducer built on this Comm does too).
  void set_message_bytes(std::size_t bytes) { message_bytes_ = std::clamp<std::size_t>(bytes, 1, kMessageBytes); }
  // Calls f(offset, count) over [0, n) in pieces of at most message_limit<T>():
  // the one chunking rule of every call here and of the allreduce backends.
  template <typename T, typename F>
  void for_each_chunk(std::size_t n, F&& f) const {
    const std::size_t limit = message_limit<T>();
    for (std::size_t at = 0; at < n; at += limit) f(at, static_cast<int>(std::min(limit, n - at)));
  }

 private:
  static constexpr std::size_t kMessageBytes = std::size_t{1} << 30;
  // The tag of post_send / post_receive (below the guaranteed MPI_TAG_UB).
  static constexpr int kTag = 32101;

  void release();  // frees what this Comm owns (the destructor, move assignment)
  static Comm adopt(MPI_Comm made);  // owns `made` (a duplicate or split)
  Comm(MPI_Comm owned, int rank, int size) : comm_(owned), owned_(true), rank_(rank), size_(size) {}

  template <typename T>
  void allreduce_span(T* data, std::size_t n, MPI_Op op) const {
    for_each_chunk<T>(n, [&](std::size_t at, int k) {
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, data + at, k, mpi_type<T>(), op, comm_), "MPI_Allreduce");
    });
  }

  // Exclusive prefix sums of `counts` with the total appended.
  static std::vector<std::uint64_t> offsets(const std::vector<std::uint64_t>& counts) {
    std::vector<std::uint64_t> at(counts.size() + 1, 0);
    for (std::size_t r = 0; r < counts.size(); ++r) at[r + 1] = at[r] + counts[r];
    return at;
  }
  // Both alltoallv: block_for(r) points at send_counts[r] elements for rank r.
  // Messages between a pair are matched in the order posted, which MPI keeps
  // for one source, tag and communicator, also across successive calls.
  template <typename T, typename BlockFor>
  std::vector<T> exchange(BlockFor&& block_for, const std::vector<std::uint64_t>& send_counts,
                          std::vector<std::uint64_t>* received_counts) const {
    std::vector<std::uint64_t> recv_counts(size_);
    check_mpi(MPI_Alltoall(send_counts.data(), 1, MPI_UINT64_T, recv_counts.data(), 1, MPI_UINT64_T, comm_),
              "MPI_Alltoall");
    const auto at = offsets(recv_counts);
    std::vector<T> out(at.back());
    Requests requests;
    // Staggered partners: rank r first receives from r - 1 and sends to r + 1.
    for (int k = 1; k < size_; ++k) {
      const int from = (rank_ - k + size_) % size_;
      post_receive(out.data() + at[from], recv_counts[from], from, requests);
    }
    for (int k = 1; k < size_; ++k) {
      const int to = (rank_ + k) % size_;
      post_send(block_for(to), send_counts[to], to, requests);
    }
    const T* own = block_for(rank_);
    std::copy(own, own + send_counts[rank_], out.begin() + static_cast<std::ptrdiff_t>(at[rank_]));
    wait_all(requests);
    if (received_counts) *received_counts = std::move(recv_counts);
    return out;
  }

  MPI_Comm comm_;
  bool owned_ = false;
  int rank_ = 0;
  int size_ = 1;
  std::size_t message_bytes_ = kMessageBytes;
  mutable MPI_Comm agreement_ = MPI_COMM_NULL;  // made by agreement(); freed with this Comm
};

}  // namespace phenoscale::par
