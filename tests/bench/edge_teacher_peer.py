#!/usr/bin/env python3
"""The edge teacher (DeepHACKS ACF pre-clustering, src/app/edge_teacher.cpp,
src/edge/sax.cpp) in Python: NumPy for the features, scikit-learn for the
exact kNN and the cluster quality, python-igraph for community detection.
The peer of tests/bench/run_edge_teacher.sh.

  edge_teacher_peer.py DENOISED.h5 OUT.h5 --neighbours 15,30 --method louvain
                       [--distance partial|zero-filled] [--select davies-bouldin|silhouette]
                       [--knn brute|kd_tree] [--threads N] [--seed S] [--acf-from TEACHER.h5]

Thread counts come from OMP_NUM_THREADS / OPENBLAS_NUM_THREADS /
MKL_NUM_THREADS, which the caller sets before Python starts (NumPy's BLAS and
scikit-learn's OpenMP read them at import); --threads is passed to
scikit-learn's n_jobs (the kd-tree query is parallel only through it).

Same rules as ours (edge/sax.hpp):
 - length pools: over the sorted distinct lengths, a pool starts at the
   shortest length L not yet pooled and takes every length <= L + tolerance;
   each series is padded to its pool's longest length with N(mu, sd^2), mu and
   sd (population) of its last `tail` values. The draws come from NumPy's
   default_rng(seed), not from our Philox streams: padded samples differ.
 - z-normalisation (population sd; constant -> zeros), SAX with blocks of
   `frames_per_symbol` (a last partial block is the mean of what is there),
   symbol = number of Gaussian breakpoints <= the block mean (middle
   breakpoint of an even alphabet exactly 0), ACF of the symbols at lags
   1..max_lag (statsmodels' biased estimator; lags >= n and constant series 0).
   --distance partial (the teacher's default): the lags >= the number of
   symbols n are missing (NaN), and every distance below is scikit-learn's
   nan_euclidean; zero-filled: they are 0 and the distance Euclidean.
 - for each K: exact kNN (float32 features like ours, a row is not its own
   neighbour; Euclidean: sklearn NearestNeighbors with --knn; nan_euclidean:
   sklearn has no tree for it and brute force over 10^5 rows takes ~12 min
   per K, so brute force over the distinct rows with nan_euclidean_distances,
   as ours), union-symmetrised binary graph, community
   detection, silhouette (sample_size rows with a fixed random_state when N >
   exact_limit, as sklearn.metrics.silhouette_score does: the sampled rows
   against the sampled rows only; ours takes the sampled rows against ALL
   rows; nan_euclidean: silhouette_score over the precomputed
   nan_euclidean_distances of those rows) and Davies-Bouldin (nan_euclidean:
   centroid coordinates are means over the rows that have them, as ours and
   tests/ml/fixtures/make_partial.py); K chosen by --select: the lowest
   Davies-Bouldin or the highest silhouette (ties: the earlier K).

Prints key=value lines (times in seconds); writes the ACF vectors and the
labels of every K to OUT.h5.
"""
import argparse
import os
import random
import sys
import time

t_start = time.perf_counter()
import h5py  # noqa: E402
import igraph  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import davies_bouldin_score, silhouette_score  # noqa: E402
from sklearn.metrics.pairwise import nan_euclidean_distances  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402
from statistics import NormalDist  # noqa: E402

t_imported = time.perf_counter()


def pool_targets(lengths, tolerance):
    distinct = np.unique(lengths)
    target_of = np.empty_like(distinct)
    start = 0
    while start < distinct.size:
        stop = start
        while stop < distinct.size and distinct[stop] - distinct[start] <= tolerance:
            stop += 1
        target_of[start:stop] = distinct[stop - 1]
        start = stop
    return target_of[np.searchsorted(distinct, lengths)]


def breakpoints(alphabet):
    nd = NormalDist()
    return np.array([0.0 if 2 * k == alphabet else nd.inv_cdf(k / alphabet) for k in range(1, alphabet)])


def sax_acf_block(x, frames_per_symbol, beta, max_lag):
    """x: (n, T) float64 padded series of one target length T -> (n, max_lag)."""
    n, t = x.shape
    m = x.mean(axis=1, keepdims=True)
    sd = np.sqrt(((x - m) ** 2).mean(axis=1, keepdims=True))
    ok = sd[:, 0] > 0
    z = np.zeros_like(x)
    z[ok] = (x[ok] - m[ok]) / sd[ok]
    w = frames_per_symbol
    full = t // w
    paa = [z[:, : full * w].reshape(n, full, w).mean(axis=2)] if full else []
    if t % w:
        paa.append(z[:, full * w:].mean(axis=1, keepdims=True))
    paa = np.concatenate(paa, axis=1)
    s = np.searchsorted(beta, paa, side="right").astype(np.float64)
    d = s - s.mean(axis=1, keepdims=True)
    denom = (d * d).sum(axis=1)
    r = np.zeros((n, max_lag))
    for k in range(1, min(max_lag, s.shape[1] - 1) + 1):
        r[:, k - 1] = (d[:, :-k] * d[:, k:]).sum(axis=1)
    good = denom > 0
    r[good] /= denom[good, None]
    r[~good] = 0.0
    return r


def mark_undefined_lags(r, symbols):
    """Lags k >= the number of symbols have no ACF: NaN (--distance partial)."""
    r[:, symbols - 1:] = np.nan
    return r


def features(values, offsets, a, rng):
    lengths = np.diff(offsets).astype(np.int64)
    targets = pool_targets(lengths, a.pool_tolerance)
    beta = breakpoints(a.alphabet)
    out = np.zeros((lengths.size, a.max_lag), dtype=np.float32)
    for t in np.unique(targets):
        rows = np.nonzero(targets == t)[0]
        padded = np.empty((rows.size, t))
        for length in np.unique(lengths[rows]):
            sel = rows[lengths[rows] == length]
            where = np.searchsorted(rows, sel)
            x = values[offsets[sel][:, None] + np.arange(length)].astype(np.float64)
            padded[where, :length] = x
            if length < t:
                tail = x[:, max(0, length - a.padding_tail):]
                mu, sd = tail.mean(axis=1), tail.std(axis=1)
                padded[where, length:] = rng.normal(mu[:, None], sd[:, None], (sel.size, t - length))
        r = sax_acf_block(padded, a.frames_per_symbol, beta, a.max_lag)
        if a.distance == "partial":
            r = mark_undefined_lags(r, -(-int(t) // a.frames_per_symbol))
        out[rows] = r
    return out, lengths, targets


def nan_euclidean_knn(x, k):
    """Exact kNN under nan_euclidean over the distinct rows: scikit-learn has
    no tree for this distance, and brute force over all rows
    (pairwise_distances_chunked) took 9.8 s per 1,342-row chunk at 10^5 rows,
    ~12 min per K; the ACF vectors have a few thousand distinct values, so the
    peer searches among those (as ours does) and hands each row the nearest
    k rows other than itself (ties in any order). Threads: OpenBLAS's, in the
    distances' dot products; the rest is NumPy on one core."""
    key = np.nan_to_num(x, nan=9.0)  # ACF values lie in [-1, 1]: 9 marks a missing lag
    _, first, inverse, counts = np.unique(key, axis=0, return_index=True, return_inverse=True,
                                          return_counts=True)
    inverse = inverse.reshape(-1)
    distinct = x[first].astype(np.float64)
    d = nan_euclidean_distances(distinct)
    d[np.isnan(d)] = np.inf  # no shared coordinate: infinitely far, as ours
    order = np.argsort(inverse, kind="stable")  # rows grouped by distinct vector
    starts = np.concatenate([[0], np.cumsum(counts)])
    idx = np.empty((x.shape[0], k), dtype=np.int64)
    for u in range(distinct.shape[0]):
        near = np.argsort(d[u], kind="stable")
        need = np.searchsorted(np.cumsum(counts[near]), k + 1) + 1  # distinct vectors holding k + 1 rows
        pool = np.concatenate([order[starts[v]:starts[v + 1]] for v in near[:need]])[:k + 1]
        mine = order[starts[u]:starts[u + 1]]
        others = pool[None, :] != mine[:, None]  # a row is not its own neighbour
        keep = others & (np.cumsum(others, axis=1) <= k)
        idx[mine] = pool[np.nonzero(keep)[1]].reshape(mine.size, k)
    return idx


def knn_indices(x, k, algorithm, threads, partial):
    """The k nearest neighbours of every row (a row is not its own), sorted."""
    if partial:
        return nan_euclidean_knn(x, k)
    nn = NearestNeighbors(n_neighbors=k, algorithm=algorithm, n_jobs=threads).fit(x)
    return nn.kneighbors(return_distance=False)  # no query: a row is not its own neighbour


def knn_graph(idx, k):
    """The union-symmetrised graph of each row's first k neighbours in idx
    (searched once at the grid's largest K, as ours does: a prefix of a
    sorted neighbour list is the smaller K's list)."""
    n = idx.shape[0]
    src = np.repeat(np.arange(n, dtype=np.int64), k)
    dst = np.ascontiguousarray(idx[:, :k]).ravel().astype(np.int64)
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    key = np.unique(lo * n + hi)  # union: a pair found from both sides is one edge
    edges = np.stack([key // n, key % n], axis=1)
    return igraph.Graph(n=n, edges=edges.tolist(), directed=False)


def silhouette_partial(x, labels, sample_size, seed):
    """silhouette_score's sampling (RandomState(seed).permutation), over the
    precomputed nan_euclidean distances of the (sampled) rows."""
    if sample_size is not None:
        keep = np.random.RandomState(seed).permutation(x.shape[0])[:sample_size]
        x, labels = x[keep], labels[keep]
    d = nan_euclidean_distances(x.astype(np.float64))
    np.fill_diagonal(d, 0.0)
    return silhouette_score(d, labels, metric="precomputed")


def davies_bouldin_partial(x, labels):
    """Davies-Bouldin under nan_euclidean; centroid coordinates are means over
    the rows that have them."""
    x = x.astype(np.float64)
    ids = np.unique(labels)
    centroids = np.array([np.nanmean(x[labels == c], axis=0) for c in ids])
    scatter = np.array([nan_euclidean_distances(x[labels == c], centroids[i:i + 1]).mean()
                        for i, c in enumerate(ids)])
    separation = nan_euclidean_distances(centroids)
    np.fill_diagonal(separation, np.inf)
    return float(np.mean(((scatter[:, None] + scatter[None, :]) / separation).max(axis=1)))


def silhouette(x, labels, sample_size, seed):
    """The silhouette under the distance the features need (NaN: nan_euclidean)."""
    if np.isnan(x).any():
        return float(silhouette_partial(x, labels, sample_size, seed))
    return float(silhouette_score(x, labels, sample_size=sample_size, random_state=seed))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--neighbours", default="15,30")
    p.add_argument("--method", default="louvain", choices=["louvain", "infomap", "leiden"])
    p.add_argument("--knn", default="brute", choices=["brute", "kd_tree", "ball_tree"],
                   help="the Euclidean kNN's algorithm (zero-filled only; nan_euclidean is brute force)")
    p.add_argument("--distance", default="partial", choices=["partial", "zero-filled"])
    p.add_argument("--select", default="davies-bouldin", choices=["davies-bouldin", "silhouette"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=20261130)
    p.add_argument("--pool-tolerance", type=int, default=6)
    p.add_argument("--padding-tail", type=int, default=6)
    p.add_argument("--frames-per-symbol", type=int, default=4)
    p.add_argument("--alphabet", type=int, default=4)
    p.add_argument("--max-lag", type=int, default=13)
    p.add_argument("--exact-limit", type=int, default=50000)
    p.add_argument("--sample-size", type=int, default=10000)
    p.add_argument("--infomap-trials", type=int, default=10)
    p.add_argument("--acf-from", default="",
                   help="take the ACF vectors from this file's /acf (ours) instead of computing them: "
                        "the agreement check of the clustering alone, without the padding noise")
    a = p.parse_args()
    ks = [int(k) for k in a.neighbours.split(",")]
    random.seed(a.seed)  # python-igraph draws from Python's `random`

    t0 = time.perf_counter()
    with h5py.File(a.input, "r") as f:
        values = f["/velocity/values"][...].reshape(-1)
        offsets = f["/velocity/offsets"][...].astype(np.int64)
    t_read = time.perf_counter() - t0

    t0 = time.perf_counter()
    x, lengths, targets = features(values, offsets, a, np.random.default_rng(a.seed))
    t_features = time.perf_counter() - t0
    if a.acf_from:
        with h5py.File(a.acf_from, "r") as f:
            x = f["/acf"][...].reshape(x.shape).astype(np.float32)
    n = x.shape[0]
    partial = a.distance == "partial"

    print(f"peer_samples={n} threads={a.threads} method={a.method} distance={a.distance} select={a.select} "
          f"knn={'brute-nan_euclidean' if partial else a.knn} "
          f"padded={int((lengths < targets).sum())} import_s={t_imported - t_start:.3f} read_s={t_read:.3f} "
          f"sax_acf_s={t_features:.3f}", flush=True)
    results, labels_of = [], {}
    t_sweep = time.perf_counter()
    idx = knn_indices(x, max(ks), a.knn, a.threads, partial)
    knn_s = time.perf_counter() - t_sweep
    for k in ks:
        t0 = time.perf_counter()
        t_knn = t0  # the search is done once, above (knn_s)
        g = knn_graph(idx, k)
        t1 = time.perf_counter()
        if a.method == "louvain":
            part = g.community_multilevel()
        elif a.method == "leiden":
            part = g.community_leiden(objective_function="modularity")
        else:
            part = g.community_infomap(trials=a.infomap_trials)
        t2 = time.perf_counter()
        labels = np.asarray(part.membership, dtype=np.int64)
        clusters = int(np.unique(labels).size)
        sil = db = float("nan")
        if 2 <= clusters <= n - 1:
            sample = a.sample_size if n > a.exact_limit else None
            sil = silhouette(x, labels, sample, a.seed)
            t3 = time.perf_counter()
            db = davies_bouldin_partial(x, labels) if partial else float(davies_bouldin_score(x, labels))
        else:
            t3 = time.perf_counter()
        t4 = time.perf_counter()
        q = g.modularity(part.membership)
        results.append((k, clusters, sil, db, q))
        labels_of[k] = labels
        print(f"peer_K={k} clusters={clusters} silhouette={sil:.6f} davies_bouldin={db:.6f} modularity={q:.6f} "
              f"edges={g.ecount()} knn_s={knn_s if k == ks[0] else 0.0:.3f} graph_s={t1 - t_knn:.3f} communities_s={t2 - t1:.3f} "
              f"silhouette_s={t3 - t2:.3f} davies_bouldin_s={t4 - t3:.3f}", flush=True)
    t_sweep = time.perf_counter() - t_sweep
    # The chosen K: the highest silhouette (column 2) or the lowest Davies-Bouldin (column 3, negated).
    column, sign = (2, 1.0) if a.select == "silhouette" else (3, -1.0)
    best = 0
    for i, r in enumerate(results):
        v, b = sign * r[column], sign * results[best][column]
        if not np.isnan(v) and (np.isnan(b) or v > b):
            best = i
    with h5py.File(a.output, "w") as f:
        f["acf"] = x
        f["lengths"] = lengths
        f["targets"] = targets
        for k, labels in labels_of.items():
            f[f"labels_K{k}"] = labels
        f.attrs["best_K"] = results[best][0]
    print(f"peer_best_K={results[best][0]} knn_communities_s={t_sweep:.3f} "
          f"compute_s={t_features + t_sweep:.3f} total_s={time.perf_counter() - t_start:.3f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
