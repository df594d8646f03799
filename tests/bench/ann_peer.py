"""Peers and scoring for tests/bench/run_ann.sh (approximate kNN, issue 13).

  ann_peer.py data FILE N D               make Gaussian blobs (100 centres; /features, /labels)
  ann_peer.py truth FILE K OUT            brute-force kNN of 1000 sampled rows
  ann_peer.py recall TRUTH RESULT.h5      recall@K of our /neighbours
  ann_peer.py faiss FILE K TRUTH TARGET   IVF-Flat, smallest nprobe reaching TARGET recall
  ann_peer.py pynndescent FILE K TRUTH    NN-descent with its defaults
Timings are one thread (the caller sets OMP/NUMBA threads to 1)."""
import sys, time, resource
import numpy as np
import h5py


def load(path):
    return np.ascontiguousarray(h5py.File(path, "r")["features"][...])


def truth(path, k, out):
    x = load(path)
    rows = np.sort(np.random.default_rng(7).choice(len(x), size=min(1000, len(x)), replace=False))
    xd = x.astype(np.float64)
    idx = np.empty((len(rows), k), dtype=np.int64)
    for a, r in enumerate(rows):
        d2 = ((xd - xd[r]) ** 2).sum(axis=1)
        d2[r] = np.inf
        part = np.argpartition(d2, k)[:k]
        idx[a] = part[np.lexsort((part, d2[part]))]
    with h5py.File(out, "w") as f:
        f["rows"] = rows; f["neighbours"] = idx


def score(truth_path, found):
    t = h5py.File(truth_path, "r")
    rows, want = t["rows"][...], t["neighbours"][...]
    got = found[rows] if len(found) != len(rows) else found
    return np.mean([len(set(a) & set(b)) for a, b in zip(got, want)]) / want.shape[1]


def drop_self(idx, rows, k):
    return np.array([r[r != q][:k] for r, q in zip(idx, rows)])


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def faiss_ivf(path, k, truth_path, target):
    import faiss
    faiss.omp_set_num_threads(1)
    x = load(path)
    n, d = x.shape
    nlist = int(round(np.sqrt(n)))
    t0 = time.perf_counter()
    quant = faiss.IndexFlatL2(d)
    index = faiss.IndexIVFFlat(quant, d, nlist)
    index.train(x)
    index.add(x)
    build = time.perf_counter() - t0
    rows = h5py.File(truth_path, "r")["rows"][...]
    chosen, rec = None, 0.0
    for nprobe in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64):
        index.nprobe = nprobe
        _, idx = index.search(x[rows], k + 1)
        rec = score(truth_path, drop_self(idx, rows, k))
        if rec >= target:
            chosen = nprobe
            break
    t0 = time.perf_counter()
    _, idx = index.search(x, k + 1)
    search = time.perf_counter() - t0
    rec = score(truth_path, drop_self(idx, np.arange(n), k))
    print(f"faiss nlist={nlist} nprobe={chosen} seconds={build + search:.3f} build={build:.3f} "
          f"recall={rec:.4f} peak_rss_mib={peak_mib():.0f}")


def nndescent(path, k, truth_path):
    import pynndescent
    x = load(path)
    pynndescent.NNDescent(x[:2000], n_neighbors=k + 1, n_jobs=1, random_state=1)  # numba compile, not timed
    t0 = time.perf_counter()
    index = pynndescent.NNDescent(x, n_neighbors=k + 1, n_jobs=1, random_state=1, low_memory=True)
    idx, _ = index.neighbor_graph
    seconds = time.perf_counter() - t0
    rec = score(truth_path, drop_self(idx, np.arange(len(x)), k))
    print(f"pynndescent seconds={seconds:.3f} recall={rec:.4f} peak_rss_mib={peak_mib():.0f}")


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "data":
        n, d = int(a[1]), int(a[2])
        rng = np.random.default_rng(2026 + d)
        centres = rng.standard_normal((100, d)) * 3.0
        labels = rng.integers(0, 100, n)
        x = (centres[labels] + rng.standard_normal((n, d))).astype(np.float32)
        with h5py.File(a[0], "w") as f:
            f["features"] = x; f["labels"] = labels.astype(np.int64)  # planted blob of each row
    elif cmd == "truth":
        truth(a[0], int(a[1]), a[2])
    elif cmd == "recall":
        print(f"{score(a[0], h5py.File(a[1], 'r')['neighbours'][...]):.4f}")
    elif cmd == "faiss":
        faiss_ivf(a[0], int(a[1]), a[2], float(a[3]))
    elif cmd == "pynndescent":
        nndescent(a[0], int(a[1]), a[2])


if __name__ == "__main__":
    main()
