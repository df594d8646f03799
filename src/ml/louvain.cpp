#include "phenoscale/ml/louvain.hpp"

#include <igraph/igraph.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "phenoscale/core/rng.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/spectral.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"
#include "graph_detail.hpp"

namespace phenoscale::ml {
namespace {

using core::cat;

std::vector<std::int64_t> sorted_unique(std::vector<std::int64_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Sends each key to the rank `owner(key)` names and returns `answer(key)`
// from there, in the order of `keys` (the request/reply pattern of every
// owner-keyed table: community totals, new community ids).
template <typename T>
std::vector<T> ask_owners(const std::vector<std::int64_t>& keys, const std::function<int(std::int64_t)>& owner,
                          const std::function<T(std::int64_t)>& answer, const par::Comm& comm) {
  const int ranks = comm.size();
  std::vector<std::vector<std::int64_t>> requests(ranks);
  std::vector<std::vector<std::size_t>> positions(ranks);
  for (std::size_t p = 0; p < keys.size(); ++p) {
    const int r = owner(keys[p]);
    requests[r].push_back(keys[p]);
    positions[r].push_back(p);
  }
  std::vector<std::uint64_t> counts;
  const auto incoming = comm.alltoallv(requests, &counts);
  std::vector<std::vector<T>> replies(ranks);
  std::size_t at = 0;
  for (int r = 0; r < ranks; ++r) {
    for (std::uint64_t i = 0; i < counts[r]; ++i) replies[r].push_back(answer(incoming[at++]));
  }
  const auto answers = comm.alltoallv(replies);
  std::vector<T> out(keys.size());
  at = 0;
  for (int r = 0; r < ranks; ++r) {
    for (std::size_t p : positions[r]) out[p] = answers[at++];
  }
  return out;
}

// Which remote vertices this rank's edges touch, and the slot of every edge's
// target in a "local values then ghost values" array; built once per level so
// each refresh of ghost values is a single pair of all-to-alls.
class Ghosts {
 public:
  Ghosts(const DistGraph& g, const par::Comm& comm)
      : comm_(comm), first_(g.first_vertex), local_(g.local_vertices()) {
    const par::BlockPartition partition(g.global_vertices, comm.size());
    std::vector<std::int64_t> remote;
    for (auto t : g.targets) {
      if (!is_local(t)) remote.push_back(t);
    }
    ids_ = sorted_unique(std::move(remote));
    std::vector<std::vector<std::int64_t>> wanted(comm.size());
    for (auto id : ids_) wanted[partition.owner(id)].push_back(id);
    serve_ = comm.alltoallv(wanted, &serve_counts_);
    slots_.resize(g.targets.size());
    for (std::size_t e = 0; e < g.targets.size(); ++e) {
      const auto t = g.targets[e];
      slots_[e] = is_local(t) ? static_cast<std::uint64_t>(t) - first_
                              : local_ + (std::lower_bound(ids_.begin(), ids_.end(), t) - ids_.begin());
    }
  }

  // Collective. `local` (one value per local vertex) followed by the ghosts' values.
  template <typename T>
  std::vector<T> with_ghosts(const std::vector<T>& local) const {
    std::vector<std::vector<T>> replies(comm_.size());
    std::size_t at = 0;
    for (int r = 0; r < comm_.size(); ++r) {
      for (std::uint64_t i = 0; i < serve_counts_[r]; ++i) replies[r].push_back(local[serve_[at++] - first_]);
    }
    // Owners answer in rank order and ids_ is sorted, so arrival order is ids_ order.
    const auto ghost = comm_.alltoallv(replies);
    std::vector<T> all(local);
    all.insert(all.end(), ghost.begin(), ghost.end());
    return all;
  }

  std::uint64_t slot(std::size_t edge) const { return slots_[edge]; }
  std::uint64_t count() const { return ids_.size(); }

 private:
  bool is_local(std::int64_t v) const {
    return v >= static_cast<std::int64_t>(first_) && v < static_cast<std::int64_t>(first_ + local_);
  }
  const par::Comm& comm_;
  std::uint64_t first_, local_;
  std::vector<std::int64_t> ids_;
  std::vector<std::int64_t> serve_;
  std::vector<std::uint64_t> serve_counts_;
  std::vector<std::uint64_t> slots_;
};

// One level of the Louvain hierarchy: a graph whose vertex ids double as the
// initial community ids, so a community's totals live on its id's owner.
class Level {
 public:
  // `initial`: each local vertex's starting community (ids of this level);
  // empty = singletons. `may_leave`: a vertex may also move to its own id's
  // community when that is empty (Leiden's move to ∅, which a non-singleton
  // start needs); plain Louvain only joins neighbouring communities.
  Level(const DistGraph& g, const CommunityOptions& options, const par::Comm& comm,
        std::vector<std::int64_t> initial = {}, bool may_leave = false)
      : g_(g), options_(options), comm_(comm), partition_(g.global_vertices, comm.size()), ghosts_(g, comm),
        may_leave_(may_leave) {
    const std::uint64_t n = g.local_vertices();
    degree_.assign(n, 0.0);
    for (std::uint64_t v = 0; v < n; ++v) {
      for (auto e = g.offsets[v]; e < g.offsets[v + 1]; ++e) degree_[v] += g.weights[e];
    }
    m2_ = comm.allreduce_sum(std::accumulate(degree_.begin(), degree_.end(), 0.0));
    community_ = std::move(initial);
    if (community_.empty()) {
      community_.resize(n);
      std::iota(community_.begin(), community_.end(), static_cast<std::int64_t>(g.first_vertex));
    }
    rebuild_totals();
    colour_boundary();
  }

  double total_weight() const { return m2_; }
  const std::vector<std::int64_t>& community() const { return community_; }
  const std::vector<double>& degrees() const { return degree_; }
  const Ghosts& ghosts() const { return ghosts_; }
  const par::BlockPartition& partition() const { return partition_; }

  // This rank's counters of the level; `seconds` is left to the caller.
  CommunityLevel stats() const {
    return {g_.global_vertices, g_.local_vertices(), g_.targets.size(), ghosts_.count(), sweeps_, 0.0};
  }

  // Collective. Replaces the communities (ids of this level), e.g. by a refinement.
  void assign(std::vector<std::int64_t> communities) {
    community_ = std::move(communities);
    rebuild_totals();
  }

  // Collective. Number of non-empty communities.
  std::uint64_t count() const {
    std::int64_t kept = 0;
    for (auto s : size_) kept += s > 0 ? 1 : 0;
    return static_cast<std::uint64_t>(comm_.allreduce_sum(kept));
  }

  // Sweeps until a sweep gains less than the tolerance; returns the gain of the level.
  double optimise() {
    const double start = modularity();
    double q = start;
    for (int it = 0; it < options_.max_iterations; ++it) {
      const auto before = community_;
      ++sweeps_;
      if (comm_.allreduce_sum(sweep()) == 0) break;
      const double next = modularity();
      if (next < q) {
        // Concurrent moves on different ranks read stale neighbours and can
        // lose modularity; the sweep is undone and the level ends.
        community_ = before;
        rebuild_totals();
        break;
      }
      const double gain = next - q;
      q = next;
      if (gain < options_.tolerance) break;
    }
    return q - start;
  }

  // Collective. Modularity of the current communities on this level's graph.
  double modularity() const {
    const auto all = ghosts_.with_ghosts(community_);
    double internal = 0.0;
    for (std::uint64_t v = 0; v < community_.size(); ++v) {
      for (auto e = g_.offsets[v]; e < g_.offsets[v + 1]; ++e) {
        if (all[ghosts_.slot(e)] == community_[v]) internal += g_.weights[e];
      }
    }
    double squares = 0.0;
    for (double t : tot_) squares += t * t;
    internal = comm_.allreduce_sum(internal);
    squares = comm_.allreduce_sum(squares);
    return internal / m2_ - options_.resolution * squares / (m2_ * m2_);
  }

  // Collective. The next level's graph (non-empty communities renumbered in id
  // order) and, for each of `vertices` (ids of this level, any owner), the id
  // of its community in that graph; `local_ids`, when given, gets the same
  // for this rank's own vertices.
  DistGraph coarsen(std::vector<std::int64_t>& vertices, std::vector<std::int64_t>* local_ids = nullptr) const {
    const std::uint64_t first = g_.first_vertex;
    std::int64_t kept = 0;
    for (auto s : size_) kept += s > 0 ? 1 : 0;
    const std::int64_t base = comm_.exscan_sum(kept);
    const auto communities = static_cast<std::uint64_t>(comm_.allreduce_sum(kept));
    std::vector<std::int64_t> renumber(size_.size(), -1);
    std::int64_t next = base;
    for (std::size_t c = 0; c < size_.size(); ++c) {
      if (size_[c] > 0) renumber[c] = next++;
    }
    const auto owner = [this](std::int64_t c) { return partition_.owner(static_cast<std::uint64_t>(c)); };
    const auto all = ghosts_.with_ghosts(community_);
    const auto keys = sorted_unique(all);
    const auto new_ids = ask_owners<std::int64_t>(
        keys, owner, [&](std::int64_t c) { return renumber[c - first]; }, comm_);
    std::unordered_map<std::int64_t, std::int64_t> to_new;
    for (std::size_t i = 0; i < keys.size(); ++i) to_new[keys[i]] = new_ids[i];

    // Arcs between communities, merged here first so only one arc per
    // community pair and rank travels.
    std::vector<std::pair<std::pair<std::int64_t, std::int64_t>, double>> arcs;
    for (std::uint64_t v = 0; v < community_.size(); ++v) {
      const auto a = to_new.at(community_[v]);
      for (auto e = g_.offsets[v]; e < g_.offsets[v + 1]; ++e) {
        arcs.push_back({{a, to_new.at(all[ghosts_.slot(e)])}, g_.weights[e]});
      }
    }
    std::sort(arcs.begin(), arcs.end());
    std::vector<std::int64_t> sources, targets;
    std::vector<double> weights;
    for (const auto& arc : arcs) {
      if (!sources.empty() && sources.back() == arc.first.first && targets.back() == arc.first.second) {
        weights.back() += arc.second;
        continue;
      }
      sources.push_back(arc.first.first);
      targets.push_back(arc.first.second);
      weights.push_back(arc.second);
    }
    vertices = ask_owners<std::int64_t>(
        vertices, owner, [&](std::int64_t v) { return to_new.at(community_[v - first]); }, comm_);
    if (local_ids) {
      local_ids->resize(community_.size());
      for (std::size_t v = 0; v < community_.size(); ++v) (*local_ids)[v] = to_new.at(community_[v]);
    }
    return graph_from_arcs(communities, sources, targets, weights, Duplicates::sum, comm_);
  }

 private:
  int owner(std::int64_t c) const { return partition_.owner(static_cast<std::uint64_t>(c)); }

  // Collective. Totals (Σ_tot, member count) of the owned communities from scratch.
  void rebuild_totals() {
    std::vector<std::vector<std::int64_t>> keys(comm_.size());
    std::vector<std::vector<double>> degrees(comm_.size());
    for (std::size_t v = 0; v < community_.size(); ++v) {
      keys[owner(community_[v])].push_back(community_[v]);
      degrees[owner(community_[v])].push_back(degree_[v]);
    }
    apply_deltas(keys, degrees, true);
  }

  void apply_deltas(const std::vector<std::vector<std::int64_t>>& keys,
                    const std::vector<std::vector<double>>& dtot, bool reset,
                    const std::vector<std::vector<std::int64_t>>* dsize = nullptr) {
    const auto k = comm_.alltoallv(keys);
    const auto t = comm_.alltoallv(dtot);
    std::vector<std::int64_t> s;
    if (dsize) s = comm_.alltoallv(*dsize);
    if (reset) {
      tot_.assign(g_.local_vertices(), 0.0);
      size_.assign(g_.local_vertices(), 0);
    }
    for (std::size_t i = 0; i < k.size(); ++i) {
      const auto c = static_cast<std::uint64_t>(k[i]) - g_.first_vertex;
      tot_[c] += t[i];
      size_[c] += dsize ? s[i] : 1;
    }
  }

  // Collective. Colours the boundary vertices (those with an edge to another
  // rank) so that no two vertices joined by a cross-rank edge share a colour
  // (Jones & Plassmann 1993: a vertex takes the smallest colour its coloured
  // cross-rank neighbours leave free once it outranks, by a hash of its id,
  // every uncoloured one). Vertices with only local edges get colour 0. A
  // sweep moves one colour at a time, so a vertex never moves on a stale view
  // of a neighbour on another rank: the plain concurrent sweep (every rank
  // at once on one-sweep-old ghosts) can merge communities that a sequential
  // sweep keeps apart (e.g. the planted badly connected community of
  // Traag et al. 2019, Fig. 2, merged into one at 2 and 3 ranks). On one
  // rank every vertex is interior: one colour, the sequential sweep.
  void colour_boundary() {
    const std::uint64_t n = g_.local_vertices();
    const auto priority = [](std::int64_t id) {  // an id-order-free ranking
      return std::make_pair(core::mix64(static_cast<std::uint64_t>(id)), id);
    };
    std::vector<std::int64_t> ids(n);
    std::iota(ids.begin(), ids.end(), static_cast<std::int64_t>(g_.first_vertex));
    const auto all_ids = ghosts_.with_ghosts(ids);
    colour_.assign(n, 0);
    std::vector<std::uint64_t> open;  // boundary vertices still uncoloured
    for (std::uint64_t v = 0; v < n; ++v) {
      for (auto e = g_.offsets[v]; e < g_.offsets[v + 1]; ++e) {
        if (ghosts_.slot(e) >= n) {
          colour_[v] = -1;
          open.push_back(v);
          break;
        }
      }
    }
    std::vector<char> taken;
    while (comm_.allreduce_sum(static_cast<std::int64_t>(open.size())) > 0) {
      const auto all = ghosts_.with_ghosts(colour_);
      std::vector<std::uint64_t> still;
      for (const auto v : open) {
        const auto mine = priority(static_cast<std::int64_t>(g_.first_vertex + v));
        bool top = true;
        taken.clear();
        for (auto e = g_.offsets[v]; e < g_.offsets[v + 1] && top; ++e) {
          const auto slot = ghosts_.slot(e);
          if (slot < n) continue;  // same rank: swept in order, never concurrently
          if (all[slot] < 0) {
            top = priority(all_ids[slot]) < mine;
          } else {
            if (taken.size() <= static_cast<std::size_t>(all[slot])) taken.resize(all[slot] + 1, 0);
            taken[all[slot]] = 1;
          }
        }
        if (!top) {
          still.push_back(v);
          continue;
        }
        colour_[v] = static_cast<std::int64_t>(std::find(taken.begin(), taken.end(), 0) - taken.begin());
      }
      open = std::move(still);
    }
    std::int64_t top = 0;
    for (auto c : colour_) top = std::max(top, c);
    colours_ = static_cast<int>(comm_.allreduce_max(top)) + 1;
  }

  // Collective. One pass over the local vertices, colour by colour, in id
  // order within a colour; returns the moves made.
  std::int64_t sweep() {
    std::int64_t moves = 0;
    for (int c = 0; c < colours_; ++c) moves += sweep_colour(c);
    return moves;
  }

  // Collective. Moves the local vertices of colour `colour` on fresh ghosts
  // and totals; returns the moves made.
  std::int64_t sweep_colour(std::int64_t colour) {
    struct Totals {
      double tot;
      std::int64_t size;
    };
    auto all = ghosts_.with_ghosts(community_);
    std::vector<std::int64_t> touched;  // the communities this round's vertices see
    for (std::uint64_t v = 0; v < community_.size(); ++v) {
      if (colour_[v] != colour) continue;
      touched.push_back(community_[v]);
      for (auto e = g_.offsets[v]; e < g_.offsets[v + 1]; ++e) touched.push_back(all[ghosts_.slot(e)]);
    }
    const auto keys = sorted_unique(std::move(touched));
    const std::uint64_t first = g_.first_vertex;
    const auto owner_of = [this](std::int64_t c) { return owner(c); };
    const auto tots = ask_owners<double>(keys, owner_of, [&](std::int64_t c) { return tot_[c - first]; }, comm_);
    const auto sizes =
        ask_owners<std::int64_t>(keys, owner_of, [&](std::int64_t c) { return size_[c - first]; }, comm_);
    // This rank's view of the totals: exact for its own moves, one sweep
    // stale for the other ranks' (the vite scheme).
    std::unordered_map<std::int64_t, Totals> view, delta;
    for (std::size_t i = 0; i < keys.size(); ++i) view[keys[i]] = {tots[i], sizes[i]};

    const double gamma = options_.resolution;
    std::vector<std::pair<std::int64_t, double>> links;
    std::int64_t moves = 0;
    for (std::uint64_t v = 0; v < community_.size(); ++v) {
      if (colour_[v] != colour) continue;
      const auto self = static_cast<std::int64_t>(first + v);
      const std::int64_t current = community_[v];
      const double k = degree_[v];
      links.clear();
      for (auto e = g_.offsets[v]; e < g_.offsets[v + 1]; ++e) {
        if (g_.targets[e] != self) links.push_back({all[ghosts_.slot(e)], g_.weights[e]});
      }
      std::sort(links.begin(), links.end());
      double to_current = 0.0;
      for (const auto& l : links) to_current += l.first == current ? l.second : 0.0;
      const double stay = to_current - gamma * k * (view[current].tot - k) / m2_;
      std::int64_t best = current;
      double best_gain = -std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i < links.size();) {
        const std::int64_t c = links[i].first;
        double w = 0.0;
        for (; i < links.size() && links[i].first == c; ++i) w += links[i].second;
        if (c == current) continue;
        const double gain = w - gamma * k * view[c].tot / m2_;
        if (gain > best_gain) {  // ascending ids: ties keep the lowest
          best_gain = gain;
          best = c;
        }
      }
      if (may_leave_ && current != self && 0.0 > stay && 0.0 > best_gain) {
        // Alone beats every neighbouring community: back to its own id, if
        // that community is empty in this rank's view.
        const auto it = view.find(self);
        if ((it != view.end() ? it->second.size : size_[v]) == 0) {
          best = self;
          best_gain = 0.0;
        }
      }
      if (best == current || !(best_gain > stay)) continue;
      // Two singletons on different ranks would swap into each other forever;
      // only the move towards the lower id is allowed.
      if (view[current].size == 1 && view[best].size == 1 && best > current) continue;
      view[current].tot -= k;
      view[current].size -= 1;
      view[best].tot += k;
      view[best].size += 1;
      delta[current].tot -= k;
      delta[current].size -= 1;
      delta[best].tot += k;
      delta[best].size += 1;
      community_[v] = best;
      all[v] = best;
      ++moves;
    }

    std::vector<std::int64_t> changed;
    for (const auto& d : delta) changed.push_back(d.first);
    std::sort(changed.begin(), changed.end());
    std::vector<std::vector<std::int64_t>> keys_out(comm_.size()), sizes_out(comm_.size());
    std::vector<std::vector<double>> tots_out(comm_.size());
    for (auto c : changed) {
      keys_out[owner(c)].push_back(c);
      tots_out[owner(c)].push_back(delta[c].tot);
      sizes_out[owner(c)].push_back(delta[c].size);
    }
    apply_deltas(keys_out, tots_out, false, &sizes_out);
    return moves;
  }

  const DistGraph& g_;
  const CommunityOptions& options_;
  const par::Comm& comm_;
  par::BlockPartition partition_;
  Ghosts ghosts_;
  bool may_leave_ = false;
  int sweeps_ = 0;
  std::vector<std::int64_t> colour_;  // per local vertex (colour_boundary)
  int colours_ = 1;
  std::vector<double> degree_;
  double m2_ = 0.0;
  std::vector<std::int64_t> community_;
  std::vector<double> tot_;          // Σ_tot of the owned community ids
  std::vector<std::int64_t> size_;   // members of the owned community ids
};

struct Partition {
  std::vector<std::int64_t> labels;  // per local vertex of the input graph
  int levels = 1;
  std::vector<CommunityLevel> stats;
};

// A level's counters with its wall time since `start`.
CommunityLevel level_stats(const Level& l, std::chrono::steady_clock::time_point start) {
  CommunityLevel s = l.stats();
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

Partition louvain(const DistGraph& graph, const CommunityOptions& options, const par::Comm& comm) {
  Partition result;
  result.levels = 0;
  result.labels.resize(graph.local_vertices());
  std::iota(result.labels.begin(), result.labels.end(), static_cast<std::int64_t>(graph.first_vertex));
  DistGraph current = graph;
  for (int level = 0; level < options.max_levels; ++level) {
    const auto start = std::chrono::steady_clock::now();
    Level l(current, options, comm);
    if (l.total_weight() <= 0.0) break;
    const double gain = l.optimise();
    const std::uint64_t before = current.global_vertices;
    DistGraph next = l.coarsen(result.labels);
    result.stats.push_back(level_stats(l, start));
    const bool merged = next.global_vertices < before;
    current = std::move(next);
    if (merged) ++result.levels;
    core::Log::debug(cat("louvain level ", level, ": ", before, " -> ", current.global_vertices,
                         " vertices, modularity gain ", gain));
    if (!merged || gain < options.tolerance) break;
  }
  return result;
}

// --- Leiden (Traag, Waltman & van Eck 2019) --------------------------------

// The induced subgraphs of a set of communities gathered on the ranks that
// own them: vertices sorted by (community, id), arcs by source position.
struct Subgraphs {
  std::vector<std::int64_t> ids;         // global vertex ids of the level
  std::vector<std::int64_t> community;
  std::vector<double> degree;            // in the whole graph, not the subgraph
  std::vector<std::uint64_t> starts{0};  // community c spans positions [starts[c], starts[c+1])
  std::vector<std::uint64_t> offsets;    // CSR over positions
  std::vector<std::uint64_t> targets;
  std::vector<double> weights;
};

// Collective. Ships every vertex record and every arc inside its community
// (self-loops dropped) to `owner(community)`; each rank then holds whole
// communities, O(edges inside its communities) memory.
Subgraphs gather_subgraphs(const DistGraph& g, const Ghosts& ghosts, const std::vector<std::int64_t>& community,
                           const std::vector<double>& degree, const std::function<int(std::int64_t)>& owner,
                           const par::Comm& comm) {
  const int ranks = comm.size();
  const auto all = ghosts.with_ghosts(community);
  std::vector<std::vector<std::int64_t>> vid(ranks), vcom(ranks), from(ranks), to(ranks);
  std::vector<std::vector<double>> vdeg(ranks), w(ranks);
  for (std::uint64_t v = 0; v < g.local_vertices(); ++v) {
    const auto self = static_cast<std::int64_t>(g.first_vertex + v);
    const int r = owner(community[v]);
    vid[r].push_back(self);
    vcom[r].push_back(community[v]);
    vdeg[r].push_back(degree.empty() ? 0.0 : degree[v]);
    for (auto e = g.offsets[v]; e < g.offsets[v + 1]; ++e) {
      if (g.targets[e] == self || all[ghosts.slot(e)] != community[v]) continue;
      from[r].push_back(self);
      to[r].push_back(g.targets[e]);
      w[r].push_back(g.weights[e]);
    }
  }
  const auto ids = comm.alltoallv(vid), coms = comm.alltoallv(vcom);
  const auto degs = comm.alltoallv(vdeg);
  const auto src = comm.alltoallv(from), dst = comm.alltoallv(to);
  const auto wts = comm.alltoallv(w);

  std::vector<std::size_t> order(ids.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::make_pair(coms[a], ids[a]) < std::make_pair(coms[b], ids[b]);
  });
  Subgraphs s;
  std::unordered_map<std::int64_t, std::uint64_t> position;
  for (std::size_t i : order) {
    if (!s.ids.empty() && s.community.back() != coms[i]) s.starts.push_back(s.ids.size());
    position[ids[i]] = s.ids.size();
    s.ids.push_back(ids[i]);
    s.community.push_back(coms[i]);
    s.degree.push_back(degs[i]);
  }
  if (!s.ids.empty()) s.starts.push_back(s.ids.size());
  // CSR by a counting sort on the source position (no comparison sort of the arcs).
  std::vector<std::uint64_t> source(src.size());
  s.offsets.assign(s.ids.size() + 1, 0);
  for (std::size_t a = 0; a < src.size(); ++a) {
    source[a] = position.at(src[a]);
    ++s.offsets[source[a] + 1];
  }
  std::partial_sum(s.offsets.begin(), s.offsets.end(), s.offsets.begin());
  std::vector<std::uint64_t> fill(s.offsets.begin(), s.offsets.end() - 1);
  s.targets.resize(src.size());
  s.weights.resize(src.size());
  for (std::size_t a = 0; a < src.size(); ++a) {
    const auto at = fill[source[a]]++;
    s.targets[at] = position.at(dst[a]);
    s.weights[at] = wts[a];
  }
  return s;
}

// Collective. Hands each local vertex the global id its gathered record was
// given (`root[p]` is a position of `s`; the answer is that position's id).
std::vector<std::int64_t> scatter_roots(const Subgraphs& s, const std::vector<std::uint64_t>& root,
                                        const DistGraph& g, const std::vector<std::int64_t>& community,
                                        const std::function<int(std::int64_t)>& owner, const par::Comm& comm) {
  std::unordered_map<std::int64_t, std::int64_t> answer;
  for (std::size_t p = 0; p < s.ids.size(); ++p) answer[s.ids[p]] = s.ids[root[p]];
  std::vector<std::int64_t> mine(g.local_vertices());
  std::iota(mine.begin(), mine.end(), static_cast<std::int64_t>(g.first_vertex));
  const auto first = static_cast<std::int64_t>(g.first_vertex);
  return ask_owners<std::int64_t>(
      mine, [&](std::int64_t v) { return owner(community[v - first]); },
      [&](std::int64_t v) { return answer.at(v); }, comm);
}

// MergeNodesSubset of Traag et al. (2019, Algorithm A.2) on the community at
// positions [b, e), in the modularity form (node weight = degree, resolution
// γ/2m): from singletons, a vertex still alone and well connected to the rest
// of the community, w(v, S−v) ≥ γ k_v (K_S − k_v)/2m, joins the well-connected
// sub-community C, w(C, S−C) ≥ γ K_C (K_S − K_C)/2m, of largest modularity gain
// w(v, C) − γ k_v K_C/2m > 0 (ties: lowest position). The greedy (θ → 0) variant
// of the paper's randomised choice: deterministic, so the refinement never
// depends on the rank count. A positive gain needs an edge to C, hence every
// sub-community is connected. Writes the root position of each vertex's
// sub-community into `root`.
void merge_nodes_subset(const Subgraphs& s, std::uint64_t b, std::uint64_t e, double gamma_over_m2,
                        std::vector<std::uint64_t>& root) {
  double total = 0.0;
  for (auto p = b; p < e; ++p) total += s.degree[p];
  const auto n = e - b;
  std::vector<double> weight(n), external(n, 0.0);
  std::vector<std::uint64_t> members(n, 1);
  for (auto p = b; p < e; ++p) {
    root[p] = p;
    weight[p - b] = s.degree[p];
    for (auto a = s.offsets[p]; a < s.offsets[p + 1]; ++a) external[p - b] += s.weights[a];
  }
  const auto well_connected = [&](std::uint64_t c) {
    return external[c] >= gamma_over_m2 * weight[c] * (total - weight[c]);
  };
  std::vector<std::pair<std::uint64_t, double>> links;
  for (auto p = b; p < e; ++p) {
    const auto v = p - b;
    if (root[p] != p || members[v] != 1 || !well_connected(v)) continue;
    links.clear();
    for (auto a = s.offsets[p]; a < s.offsets[p + 1]; ++a) links.push_back({root[s.targets[a]] - b, s.weights[a]});
    std::sort(links.begin(), links.end());
    std::uint64_t best = v;
    double best_gain = 0.0, to_best = 0.0;
    for (std::size_t i = 0; i < links.size();) {
      const auto c = links[i].first;
      double w = 0.0;
      for (; i < links.size() && links[i].first == c; ++i) w += links[i].second;
      if (c == v || !well_connected(c)) continue;
      const double gain = w - gamma_over_m2 * s.degree[p] * weight[c];
      if (gain > best_gain) {
        best_gain = gain;
        best = c;
        to_best = w;
      }
    }
    if (best == v) continue;
    root[p] = b + best;
    external[best] += external[v] - 2.0 * to_best;
    weight[best] += weight[v];
    members[best] += 1;
    members[v] = 0;
  }
}

// Collective. The refined partition of a level's communities: per local
// vertex, the id of a vertex of its sub-community (so ids stay in [0, n)).
std::vector<std::int64_t> refine(const DistGraph& g, const Level& level, double resolution, const par::Comm& comm) {
  const auto owner = [&level](std::int64_t c) { return level.partition().owner(static_cast<std::uint64_t>(c)); };
  const Subgraphs s = gather_subgraphs(g, level.ghosts(), level.community(), level.degrees(), owner, comm);
  std::vector<std::uint64_t> root(s.ids.size());
  for (std::size_t c = 0; c + 1 < s.starts.size(); ++c) {
    merge_nodes_subset(s, s.starts[c], s.starts[c + 1], resolution / level.total_weight(), root);
  }
  return scatter_roots(s, root, g, level.community(), owner, comm);
}

// Collective. Splits every community into its connected components (each
// named by its lowest vertex id): the guarantee kept when Leiden stops early.
std::vector<std::int64_t> split_components(const DistGraph& g, const std::vector<std::int64_t>& labels,
                                           const par::Comm& comm) {
  const Ghosts ghosts(g, comm);
  const int ranks = comm.size();
  const auto owner = [ranks](std::int64_t c) { return static_cast<int>(((c % ranks) + ranks) % ranks); };
  const Subgraphs s = gather_subgraphs(g, ghosts, labels, {}, owner, comm);
  std::vector<std::uint64_t> root(s.ids.size());
  std::iota(root.begin(), root.end(), std::uint64_t{0});
  const auto find = [&root](std::uint64_t p) {
    while (root[p] != p) p = root[p] = root[root[p]];
    return p;
  };
  for (std::uint64_t p = 0; p < s.ids.size(); ++p) {
    for (auto a = s.offsets[p]; a < s.offsets[p + 1]; ++a) {
      const auto x = find(p), y = find(s.targets[a]);
      root[std::max(x, y)] = std::min(x, y);  // positions ascend with ids inside a community
    }
  }
  for (std::uint64_t p = 0; p < s.ids.size(); ++p) root[p] = find(p);
  return scatter_roots(s, root, g, labels, owner, comm);
}

// Collective. The aggregate's starting partition (Traag et al. 2019, §"Leiden
// algorithm": aggregation on the refined partition, initial partition from the
// unrefined one): aggregate vertex `merged[v]` joins the community of its
// members, named by the smallest aggregate id inside that community.
std::vector<std::int64_t> aggregate_start(const std::vector<std::int64_t>& community,
                                          const std::vector<std::int64_t>& merged, const par::BlockPartition& level,
                                          const DistGraph& next, const par::Comm& comm) {
  const int ranks = comm.size();
  const auto owner = [&level](std::int64_t c) { return level.owner(static_cast<std::uint64_t>(c)); };
  std::map<std::int64_t, std::int64_t> lowest;
  for (std::size_t v = 0; v < community.size(); ++v) {
    const auto it = lowest.find(community[v]);
    if (it == lowest.end() || merged[v] < it->second) lowest[community[v]] = merged[v];
  }
  std::vector<std::vector<std::int64_t>> keys(ranks), values(ranks);
  for (const auto& [c, m] : lowest) {
    keys[owner(c)].push_back(c);
    values[owner(c)].push_back(m);
  }
  const auto k = comm.alltoallv(keys), m = comm.alltoallv(values);
  std::unordered_map<std::int64_t, std::int64_t> name;
  for (std::size_t i = 0; i < k.size(); ++i) {
    const auto it = name.find(k[i]);
    if (it == name.end() || m[i] < it->second) name[k[i]] = m[i];
  }
  const auto communities = sorted_unique(community);
  const auto names = ask_owners<std::int64_t>(
      communities, owner, [&](std::int64_t c) { return name.at(c); }, comm);
  std::map<std::int64_t, std::int64_t> start;  // aggregate vertex -> its community's name
  for (std::size_t v = 0; v < community.size(); ++v) {
    const auto at = std::lower_bound(communities.begin(), communities.end(), community[v]) - communities.begin();
    start[merged[v]] = names[at];
  }
  const par::BlockPartition partition(next.global_vertices, ranks);
  std::vector<std::vector<std::int64_t>> ids(ranks), starts(ranks);
  for (const auto& [a, c] : start) {
    ids[partition.owner(static_cast<std::uint64_t>(a))].push_back(a);
    starts[partition.owner(static_cast<std::uint64_t>(a))].push_back(c);
  }
  const auto got = comm.alltoallv(ids), got_start = comm.alltoallv(starts);
  std::vector<std::int64_t> initial(next.local_vertices(), -1);
  const auto first = static_cast<std::int64_t>(next.first_vertex);
  for (std::size_t i = 0; i < got.size(); ++i) initial[got[i] - first] = got_start[i];
  return initial;
}

// Traag, Waltman & van Eck (2019), Algorithm A.1 on the distributed levels:
// local moving (our distributed Louvain sweeps), refinement, aggregation of
// the refined partition starting from the unrefined one, until local moving
// leaves every vertex of a level alone. Final communities are aggregate
// vertices, which are connected sets of connected sets.
Partition leiden(const DistGraph& graph, const CommunityOptions& options, const par::Comm& comm) {
  Partition result;
  result.levels = 0;
  result.labels.resize(graph.local_vertices());
  std::iota(result.labels.begin(), result.labels.end(), static_cast<std::int64_t>(graph.first_vertex));
  DistGraph current = graph;
  std::vector<std::int64_t> initial;
  for (int level = 0;; ++level) {
    const auto start = std::chrono::steady_clock::now();
    Level l(current, options, comm, std::exchange(initial, {}), true);
    if (l.total_weight() <= 0.0) break;
    const double gain = l.optimise();
    const std::uint64_t vertices = current.global_vertices, communities = l.count();
    if (communities == vertices) {  // converged: every community is one aggregate vertex
      result.stats.push_back(level_stats(l, start));
      break;
    }
    const auto unrefined = l.community();
    std::vector<std::int64_t> merged;
    if (level + 1 < options.max_levels) {
      l.assign(refine(current, l, options.resolution, comm));
      DistGraph next = l.coarsen(result.labels, &merged);
      if (next.global_vertices < vertices) {
        initial = aggregate_start(unrefined, merged, l.partition(), next, comm);
        result.stats.push_back(level_stats(l, start));
        core::Log::debug(cat("leiden level ", level, ": ", vertices, " vertices, ", communities, " communities, ",
                             next.global_vertices, " refined; modularity gain ", gain));
        current = std::move(next);
        ++result.levels;
        continue;
      }
      l.assign(unrefined);
    }
    // Out of levels, or a refinement that merged nothing: the unrefined
    // communities are final, split into connected components.
    core::Log::debug(cat("leiden stopped early at level ", level, "; communities split into components"));
    result.labels = ask_owners<std::int64_t>(
        result.labels, [&l](std::int64_t v) { return l.partition().owner(static_cast<std::uint64_t>(v)); },
        [&](std::int64_t v) { return l.community()[v - static_cast<std::int64_t>(current.first_vertex)]; }, comm);
    result.labels = split_components(graph, result.labels, comm);
    result.stats.push_back(level_stats(l, start));
    ++result.levels;
    break;
  }
  return result;
}

// --- igraph reference path -------------------------------------------------

void check(igraph_error_t rc, const char* what) {
  if (rc != IGRAPH_SUCCESS) throw IoError(cat("igraph ", what, " failed: ", igraph_strerror(rc)));
}

// igraph aborts the process on errors by default; within this scope it
// returns codes instead, which `check` turns into exceptions.
class IgraphErrorsAsCodes {
 public:
  IgraphErrorsAsCodes() : previous_(igraph_set_error_handler(igraph_error_handler_ignore)) {}
  ~IgraphErrorsAsCodes() { igraph_set_error_handler(previous_); }
  IgraphErrorsAsCodes(const IgraphErrorsAsCodes&) = delete;
  IgraphErrorsAsCodes& operator=(const IgraphErrorsAsCodes&) = delete;

 private:
  igraph_error_handler_t* previous_;
};

class IgraphGraph {
 public:
  // Takes the edges by value: igraph copies them, and ours are freed here.
  IgraphGraph(detail::RootEdges edges, std::uint64_t vertices) {
    static_assert(std::is_same_v<igraph_integer_t, std::int64_t>, "igraph built with 64-bit integers");
    // A view needs storage even for no edges (igraph asserts a non-null vector).
    static const igraph_integer_t no_edges[1] = {0};
    igraph_vector_int_t view{};
    const igraph_vector_int_t* list = igraph_vector_int_view(
        &view, edges.ends.empty() ? no_edges : edges.ends.data(), static_cast<igraph_integer_t>(edges.ends.size()));
    const auto rc = igraph_create(&graph_, list, static_cast<igraph_integer_t>(vertices), IGRAPH_UNDIRECTED);
    check(rc, "create");
    std::vector<std::int64_t>().swap(edges.ends);
    const auto count = static_cast<igraph_integer_t>(edges.weight.size());
    if ((count == 0 ? igraph_vector_init(&weights_, 0) : igraph_vector_init_array(&weights_, edges.weight.data(), count)) !=
        IGRAPH_SUCCESS) {
      igraph_destroy(&graph_);
      throw IoError("igraph vector allocation failed");
    }
  }
  ~IgraphGraph() {
    igraph_vector_destroy(&weights_);
    igraph_destroy(&graph_);
  }
  IgraphGraph(const IgraphGraph&) = delete;
  IgraphGraph& operator=(const IgraphGraph&) = delete;
  const igraph_t* graph() const { return &graph_; }
  const igraph_vector_t* weights() const { return &weights_; }

 private:
  igraph_t graph_;
  igraph_vector_t weights_;
};

class IgraphMembership {
 public:
  IgraphMembership() { check(igraph_vector_int_init(&v_, 0), "vector"); }
  ~IgraphMembership() { igraph_vector_int_destroy(&v_); }
  IgraphMembership(const IgraphMembership&) = delete;
  IgraphMembership& operator=(const IgraphMembership&) = delete;
  igraph_vector_int_t* get() { return &v_; }
  std::vector<std::int64_t> values() const {
    std::vector<std::int64_t> out(igraph_vector_int_size(&v_));
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = VECTOR(v_)[i];
    return out;
  }

 private:
  igraph_vector_int_t v_;
};

int igraph_multilevel(const IgraphGraph& g, const CommunityOptions& o, IgraphMembership& m) {
  igraph_matrix_int_t levels;
  check(igraph_matrix_int_init(&levels, 0, 0), "matrix");
  const auto rc = igraph_community_multilevel(g.graph(), g.weights(), o.resolution, m.get(), &levels, nullptr);
  const auto count = static_cast<int>(igraph_matrix_int_nrow(&levels));
  igraph_matrix_int_destroy(&levels);
  check(rc, "community_multilevel");
  return count;
}

int igraph_leiden(const IgraphGraph& g, const CommunityOptions& o, IgraphMembership& m) {
  // Leiden optimises modularity when node weights are the strengths and the
  // resolution is scaled by 1/(2m).
  igraph_vector_t strength;
  check(igraph_vector_init(&strength, 0), "vector");
  auto rc = igraph_strength(g.graph(), &strength, igraph_vss_all(), IGRAPH_ALL, IGRAPH_LOOPS, g.weights());
  const double m2 = rc == IGRAPH_SUCCESS ? igraph_vector_sum(&strength) : 1.0;
  igraph_integer_t clusters = 0;
  igraph_real_t quality = 0;
  if (rc == IGRAPH_SUCCESS) {
    rc = igraph_community_leiden(g.graph(), g.weights(), &strength, o.resolution / m2, 0.01, false, -1, m.get(),
                                 &clusters, &quality);
  }
  igraph_vector_destroy(&strength);
  check(rc, "community_leiden");
  return 1;
}

int igraph_infomap(const IgraphGraph& g, const CommunityOptions&, IgraphMembership& m) {
  igraph_real_t codelength = 0;
  check(igraph_community_infomap(g.graph(), g.weights(), nullptr, 10, m.get(), &codelength), "community_infomap");
  return 1;
}

using IgraphMethod = int (*)(const IgraphGraph&, const CommunityOptions&, IgraphMembership&);

// Gathers the graph on rank 0 (only), runs `method` there and hands every rank its labels.
Partition run_on_root(IgraphMethod method, const DistGraph& graph, const CommunityOptions& options,
                      const par::Comm& comm) {
  detail::RootEdges edges = detail::gather_edges_on_root(graph, comm);
  std::vector<std::int64_t> membership;
  int levels = 1;
  par::collectively(comm, [&] {
    if (!comm.is_root()) return;
    IgraphErrorsAsCodes codes;
    igraph_rng_seed(igraph_rng_default(), options.seed);
    IgraphGraph g(std::move(edges), graph.global_vertices);
    IgraphMembership m;
    levels = method(g, options, m);
    membership = m.values();
  });
  comm.broadcast(membership);
  comm.broadcast(levels);
  Partition p;
  p.levels = levels;
  p.labels.assign(membership.begin() + graph.first_vertex,
                  membership.begin() + graph.first_vertex + graph.local_vertices());
  return p;
}

using Method = std::function<Partition(const DistGraph&, const CommunityOptions&, const par::Comm&)>;

// The one table of community methods: name → implementation.
const std::vector<std::pair<std::string, Method>>& method_table() {
  static const std::vector<std::pair<std::string, Method>> table = {
      {"louvain", louvain},
      {"leiden", leiden},
      {"igraph-louvain",
       [](const DistGraph& g, const CommunityOptions& o, const par::Comm& c) {
         return run_on_root(igraph_multilevel, g, o, c);
       }},
      {"igraph-leiden",
       [](const DistGraph& g, const CommunityOptions& o, const par::Comm& c) {
         return run_on_root(igraph_leiden, g, o, c);
       }},
      {"igraph-infomap",
       [](const DistGraph& g, const CommunityOptions& o, const par::Comm& c) {
         return run_on_root(igraph_infomap, g, o, c);
       }},
      {"spectral",
       [](const DistGraph& g, const CommunityOptions& o, const par::Comm& c) {
         return Partition{spectral_communities(g, o, c), 1, {}};
       }},
  };
  return table;
}

// Labels 0, 1, ... by decreasing community size (ties: lower original id).
// The original labels may be vertex ids (Leiden stopped at max_levels keeps
// a representative's): sized by the communities found, not the largest id.
std::vector<std::int64_t> relabel_by_size(const std::vector<std::int64_t>& labels, std::uint64_t& count,
                                          const par::Comm& comm) {
  const LabelIndex index(labels, comm);
  const auto dense = index.dense(labels);
  std::vector<std::int64_t> sizes(index.size(), 0);
  for (auto c : dense) ++sizes[static_cast<std::size_t>(c)];
  comm.allreduce_sum_inplace(sizes);
  std::vector<std::int64_t> order(index.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return sizes[a] > sizes[b]; });
  std::vector<std::int64_t> rank(index.size(), -1);
  for (std::size_t i = 0; i < order.size(); ++i) rank[order[i]] = static_cast<std::int64_t>(i);
  count = order.size();
  std::vector<std::int64_t> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) out[i] = rank[static_cast<std::size_t>(dense[i])];
  return out;
}

// Communities smaller than `min_size` join the community their vertices are
// best connected to (total edge weight into it; ties: the lower label, i.e.
// the community that was larger when detected).
// Seurat's FindClusters does this for singletons (group.singletons), and
// PhenoGraph sets communities under min_cluster_size = 10 apart as outliers:
// Infomap on a dense kNN graph can leave a one- or two-vertex community, and
// the silhouette and Davies–Bouldin, which weigh every cluster alike, then
// score the partition by that stray vertex (docs/methods.md §3.2). A small
// community with no edge into a large one waits a round for its neighbours
// to join one; one that never reaches a large community stays.
std::vector<std::int64_t> merge_small_communities(const DistGraph& graph, const Ghosts& ghosts,
                                                  std::vector<std::int64_t> labels, std::uint64_t span,
                                                  std::uint64_t min_size, const par::Comm& comm) {
  for (;;) {
    std::vector<std::int64_t> sizes(span, 0);
    for (auto l : labels) ++sizes[l];
    comm.allreduce_sum_inplace(sizes);
    // An occupied community below min_size (a vertex's own community is never empty).
    const auto small = [&](std::int64_t n) { return n > 0 && n < static_cast<std::int64_t>(min_size); };
    if (std::none_of(sizes.begin(), sizes.end(), small)) return labels;  // sizes are global: all ranks
    const auto all = ghosts.with_ghosts(labels);
    std::vector<std::int64_t> next(labels);
    std::int64_t moved = 0;
    for (std::uint64_t v = 0; v < graph.local_vertices(); ++v) {
      if (!small(sizes[labels[v]])) continue;
      std::map<std::int64_t, double> into;  // large community -> weight; ordered, so ties go to the lower id
      for (auto e = graph.offsets[v]; e < graph.offsets[v + 1]; ++e) {
        const std::int64_t c = all[ghosts.slot(e)];
        if (!small(sizes[c])) into[c] += graph.weights[e];
      }
      auto best = into.end();
      for (auto it = into.begin(); it != into.end(); ++it)
        if (best == into.end() || it->second > best->second) best = it;
      if (best != into.end()) next[v] = best->first, ++moved;
    }
    if (comm.allreduce_sum(moved) == 0) return labels;
    labels = std::move(next);
  }
}

// Q = Σ_c [ e_c / (2m) − γ (Σ_tot,c / (2m))² ] over the ghost-completed labels.
double modularity_with(const DistGraph& graph, const Ghosts& ghosts, const std::vector<std::int64_t>& labels,
                       double resolution, const par::Comm& comm) {
  const auto all = ghosts.with_ghosts(labels);
  const int ranks = comm.size();
  // Σ_tot of arbitrary label ids: each label's total is summed on rank (label mod P).
  std::vector<std::vector<std::int64_t>> keys(ranks);
  std::vector<std::vector<double>> degrees(ranks);
  double internal = 0.0, m2 = 0.0;
  for (std::uint64_t v = 0; v < graph.local_vertices(); ++v) {
    double k = 0.0;
    for (auto e = graph.offsets[v]; e < graph.offsets[v + 1]; ++e) {
      k += graph.weights[e];
      if (all[ghosts.slot(e)] == labels[v]) internal += graph.weights[e];
    }
    m2 += k;
    const int owner = static_cast<int>(((labels[v] % ranks) + ranks) % ranks);
    keys[owner].push_back(labels[v]);
    degrees[owner].push_back(k);
  }
  const auto mine = comm.alltoallv(keys);
  const auto k = comm.alltoallv(degrees);
  std::unordered_map<std::int64_t, double> tot;
  for (std::size_t i = 0; i < mine.size(); ++i) tot[mine[i]] += k[i];
  std::vector<std::pair<std::int64_t, double>> ordered(tot.begin(), tot.end());
  std::sort(ordered.begin(), ordered.end());
  double squares = 0.0;
  for (const auto& t : ordered) squares += t.second * t.second;
  internal = comm.allreduce_sum(internal);
  squares = comm.allreduce_sum(squares);
  m2 = comm.allreduce_sum(m2);
  if (m2 <= 0.0) return 0.0;
  return internal / m2 - resolution * squares / (m2 * m2);
}

}  // namespace

std::vector<std::string> community_methods() {
  std::vector<std::string> names;
  for (const auto& m : method_table()) names.push_back(m.first);
  return names;
}

Communities detect_communities(const DistGraph& graph, const CommunityOptions& options, const par::Comm& comm) {
  const auto& table = method_table();
  const auto it = std::find_if(table.begin(), table.end(), [&](const auto& m) { return m.first == options.method; });
  if (it == table.end()) {
    std::string names;
    for (const auto& m : table) names += (names.empty() ? "" : ", ") + m.first;
    throw ConfigError(cat("communities.method = \"", options.method, "\" is not one of ", names));
  }
  const Partition p = it->second(graph, options, comm);
  Communities out;
  out.method = options.method;
  out.levels = p.levels;
  out.level_stats = p.stats;
  out.labels = relabel_by_size(p.labels, out.count, comm);
  // One ghost exchange for the merge and the modularity (the kNN graph can hold ~10^8 arcs).
  const Ghosts ghosts(graph, comm);
  if (options.min_size > 1) {
    const std::uint64_t found = out.count;
    out.labels = relabel_by_size(
        merge_small_communities(graph, ghosts, std::move(out.labels), found, options.min_size, comm), out.count, comm);
    out.merged = found - out.count;
    if (out.merged > 0)
      core::Log::info(cat("communities: ", out.merged, " of ", found, " communities had fewer than ", options.min_size,
                          " vertices and joined their best-connected neighbour"));
  }
  out.modularity = modularity_with(graph, ghosts, out.labels, options.resolution, comm);
  return out;
}

double modularity(const DistGraph& graph, const std::vector<std::int64_t>& labels, double resolution,
                  const par::Comm& comm) {
  return modularity_with(graph, Ghosts(graph, comm), labels, resolution, comm);
}

double igraph_modularity(const DistGraph& graph, const std::vector<std::int64_t>& labels, double resolution,
                         const par::Comm& comm) {
  detail::RootEdges edges = detail::gather_edges_on_root(graph, comm);
  const auto all = gather_values(labels, comm);
  double q = 0.0;
  par::collectively(comm, [&] {
    if (!comm.is_root()) return;
    IgraphErrorsAsCodes codes;
    IgraphGraph g(std::move(edges), graph.global_vertices);
    // igraph wants memberships 0..C-1.
    const auto ids = sorted_unique(all);
    IgraphMembership m;
    check(igraph_vector_int_resize(m.get(), static_cast<igraph_integer_t>(all.size())), "vector");
    for (std::size_t i = 0; i < all.size(); ++i) {
      VECTOR(*m.get())[i] = std::lower_bound(ids.begin(), ids.end(), all[i]) - ids.begin();
    }
    check(::igraph_modularity(g.graph(), m.get(), g.weights(), resolution, false, &q), "modularity");
  });
  comm.broadcast(q);
  return q;
}

}  // namespace phenoscale::ml
