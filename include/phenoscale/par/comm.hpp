// MPI communicator with typed collectives.
//
// A thin RAII layer over MPI: `Comm` either borrows a communicator (the
// world) or owns one it duplicated/split (freed in the destructor). The typed
// helpers exist so that layer code never spells MPI datatypes by hand and the
// rank-count-independence rules (fixed reduction order, double accumulators)
// live in one place.
#pragma once

#include <mpi.h>

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
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  void barrier() const;

  template <typename T>
  T allreduce_sum(T value) const {
    T out{};
    MPI_Allreduce(&value, &out, 1, mpi_type<T>(), MPI_SUM, comm_);
    return out;
  }
  template <typename T>
  T allreduce_max(T value) const {
    T out{};
    MPI_Allreduce(&value, &out, 1, mpi_type<T>(), MPI_MAX, comm_);
    return out;
  }
  template <typename T>
  T allreduce_min(T value) const {
    T out{};
    MPI_Allreduce(&value, &out, 1, mpi_type<T>(), MPI_MIN, comm_);
    return out;
  }
  template <typename T>
  void allreduce_sum_inplace(std::vector<T>& values) const {
    MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), mpi_type<T>(),
                  MPI_SUM, comm_);
  }
  // Exclusive prefix sum: rank r receives sum of values of ranks < r (0 on rank 0).
  template <typename T>
  T exscan_sum(T value) const {
    T out{};
    MPI_Exscan(&value, &out, 1, mpi_type<T>(), MPI_SUM, comm_);
    if (rank_ == 0) out = T{};  // MPI leaves rank 0's buffer undefined
    return out;
  }
  template <typename T>
  std::vector<T> allgather(T value) const {
    std::vector<T> out(size_);
    MPI_Allgather(&value, 1, mpi_type<T>(), out.data(), 1, mpi_type<T>(), comm_);
    return out;
  }
  // Concatenation of every rank's `local` in rank order, on every rank
  // (counts may differ between ranks; the total must fit an int per rank).
  template <typename T>
  std::vector<T> allgatherv(const std::vector<T>& local) const {
    const std::vector<int> counts = allgather(static_cast<int>(local.size()));
    std::vector<int> displs(size_, 0);
    for (int r = 1; r < size_; ++r) displs[r] = displs[r - 1] + counts[r - 1];
    std::vector<T> out(static_cast<std::size_t>(displs[size_ - 1]) + static_cast<std::size_t>(counts[size_ - 1]));
    MPI_Allgatherv(local.data(), static_cast<int>(local.size()), mpi_type<T>(), out.data(), counts.data(),
                   displs.data(), mpi_type<T>(), comm_);
    return out;
  }
  template <typename T>
  void broadcast(T& value, int root = 0) const {
    MPI_Bcast(&value, 1, mpi_type<T>(), root, comm_);
  }
  template <typename T>
  void broadcast(std::vector<T>& values, int root = 0) const {
    std::uint64_t n = values.size();
    broadcast(n, root);
    values.resize(n);
    if (n) MPI_Bcast(values.data(), static_cast<int>(n), mpi_type<T>(), root, comm_);
  }
  void broadcast(std::string& text, int root = 0) const;

  // Personalised all-to-all: `send` holds the blocks for ranks 0..size-1 back
  // to back, `send_counts[r]` elements for rank r. Returns the blocks received
  // from ranks 0..size-1 in rank order; `recv_counts` gets their sizes.
  template <typename T>
  std::vector<T> alltoallv(const std::vector<T>& send, const std::vector<int>& send_counts,
                           std::vector<int>& recv_counts) const {
    recv_counts.assign(size_, 0);
    MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, comm_);
    std::vector<int> send_displs(size_, 0), recv_displs(size_, 0);
    for (int r = 1; r < size_; ++r) {
      send_displs[r] = send_displs[r - 1] + send_counts[r - 1];
      recv_displs[r] = recv_displs[r - 1] + recv_counts[r - 1];
    }
    std::vector<T> recv(static_cast<std::size_t>(recv_displs[size_ - 1] + recv_counts[size_ - 1]));
    MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), mpi_type<T>(), recv.data(),
                  recv_counts.data(), recv_displs.data(), mpi_type<T>(), comm_);
    return recv;
  }

 private:
  MPI_Comm comm_;
  bool owned_ = false;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace phenoscale::par
