"""Python PyTorch peer of bench_nn: the same networks, batch, data sizes and
optimisers as phenoscale's registered architectures, trained the way a
PyTorch user would (torch.optim defaults, packed sequences), one process.

  /usr/bin/python3 tests/bench/nn_peer.py ARCH BATCH STEPS THREADS [key=value ...]
prints train_samples_per_s and infer_samples_per_s like bench_nn; STEPS = 0
measures inference only (no training).

The 1D U-Nets (unet1d, unet1d-paper2d, unet1d-paper3d) and gru-tagger see exactly bench_nn's
batches: the same series lengths (bench_nn's Philox draw, replicated below),
training batches bucketed by length as phenoscale's DistributedSampler does
(one window: the epoch is sorted by length, cut into batches, batch order
shuffled), inference batches in order of length as nn::predict forms them.
The recurrent networks see the same series lengths and batches too; their
inference skips the autoencoder's decoder, as nn::predict does (it needs only
logits and the latent). peer_grad=inference_mode runs inference under
torch.inference_mode() (phenoscale's predict uses c10::InferenceMode) instead
of the usual torch.no_grad().
"""
import sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

grad_mode = torch.no_grad  # inference; set in main() (peer_grad=)


class SmallCnn3d(nn.Module):
    def __init__(self, size, channels, classes):
        super().__init__()
        self.conv1 = nn.Conv3d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv3d(channels, 2 * channels, 3, padding=1)
        self.out = nn.Linear(2 * channels, classes)

    def forward(self, x, lengths=None):
        x = F.max_pool3d(F.relu(self.conv1(x.unsqueeze(1))), 2)
        x = F.relu(self.conv2(x)).mean(dim=(2, 3, 4))
        return self.out(x)


class Inception3d(nn.Module):
    """Xu et al. 2017: conv 32x5^3 valid, max-pool 2, inception module
    (1 | 1->3 | 1->5 | pool->1; 160 channels), avg-pool 2 stride 1, dropout 0.7, linear."""
    def __init__(self, size, classes):
        super().__init__()
        C = lambda i, o, k: nn.Conv3d(i, o, k, padding=k // 2)
        self.stem = nn.Conv3d(1, 32, 5)
        self.b1, self.b2a, self.b2b = C(32, 32, 1), C(32, 32, 1), C(32, 64, 3)
        self.b3a, self.b3b, self.b4 = C(32, 16, 1), C(16, 32, 5), C(32, 32, 1)
        side = (size - 4) // 2 - 1
        self.out = nn.Linear(160 * side ** 3, classes)

    def forward(self, x, lengths=None):
        x = F.max_pool3d(F.relu(self.stem(x.unsqueeze(1))), 2)
        pooled = F.max_pool3d(F.pad(x, (0, 1, 0, 1, 0, 1), value=float("-inf")), 2, stride=1)
        x = torch.cat([F.relu(self.b1(x)), F.relu(self.b2b(F.relu(self.b2a(x)))),
                       F.relu(self.b3b(F.relu(self.b3a(x)))), F.relu(self.b4(pooled))], 1)
        x = F.dropout(F.avg_pool3d(x, 2, stride=1).flatten(1), 0.7, self.training)
        return self.out(x)


class Dsrf3d(nn.Module):
    """Xu et al. 2017: conv 32,32 | pool | conv 64,64 | pool, FC 512, 512, linear."""
    def __init__(self, size, classes):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv3d(i, o, 3, padding=1) for i, o in [(1, 32), (32, 32), (32, 64), (64, 64)]])
        self.fc1, self.fc2 = nn.Linear(64 * (size // 4) ** 3, 512), nn.Linear(512, 512)
        self.out = nn.Linear(512, classes)

    def forward(self, x, lengths=None):
        x = x.unsqueeze(1)
        for i, c in enumerate(self.convs):
            x = F.relu(c(x))
            if i % 2 == 1:
                x = F.max_pool3d(x, 2)
        return self.out(F.relu(self.fc2(F.relu(self.fc1(x.flatten(1))))))


class LstmClassifier(nn.Module):
    def __init__(self, channels, hidden, layers, classes):
        super().__init__()
        self.lstm = nn.LSTM(channels, hidden, num_layers=layers, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, classes)

    def forward(self, x, lengths):
        _, (h, _) = self.lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        return self.out(torch.cat([h[-2], h[-1]], 1))


class GruTagger(nn.Module):
    """phenoscale's gru-tagger (DeepSPT event timing): a stacked bidirectional
    GRU over packed series, one linear layer on every frame's output."""
    def __init__(self, channels, hidden, layers, classes):
        super().__init__()
        self.gru = nn.GRU(channels, hidden, num_layers=layers, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, classes)

    def forward(self, x, mask):
        lengths = mask.sum(1).long()
        y, _ = self.gru(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        return self.out(pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])[0])


class GuidedBiLstmAutoencoder(nn.Module):
    """bidirectional=False: BiLSTM(10) -> LSTM(20) -> LSTM(30), the latent the last
    layer's final state; True (phenoscale's default since 2026-12-02, the
    paper's): BiLSTM(10) -> BiLSTM(20) -> BiLSTM(15), the latent both directions'
    final states of the last layer."""
    def __init__(self, channels, classes, h1=10, h2=20, z=30, head=32, dropout=0.5, bidirectional=False):
        super().__init__()
        L = lambda i, h, bi: nn.LSTM(i, h, batch_first=True, bidirectional=bi)
        if bidirectional:
            self.enc1, self.enc2, self.enc3 = L(channels, h1, True), L(2 * h1, h2, True), L(2 * h2, z // 2, True)
        else:
            self.enc1, self.enc2, self.enc3 = L(channels, h1, True), L(2 * h1, h2, False), L(h2, z, False)
        self.bidirectional = bidirectional
        self.dec1, self.dec2, self.dec3 = L(z, z, True), L(2 * z, h2, True), L(2 * h2, channels, False)
        self.head1, self.norm, self.head2 = nn.Linear(z, head), nn.BatchNorm1d(head), nn.Linear(head, classes)
        self.dropout = dropout

    def forward(self, x, lengths, reconstruct=True):
        T = x.shape[1]
        p = lambda t: pack_padded_sequence(t, lengths, batch_first=True, enforce_sorted=False)
        y = self.enc1(p(x))[0]
        y = self.enc2(y)[0]
        final = self.enc3(y)[1][0]  # (directions, batch, hidden)
        latent = torch.cat([final[-2], final[-1]], dim=1) if self.bidirectional else final[-1]
        h = F.dropout(F.relu(self.norm(self.head1(latent))), self.dropout, self.training)
        if not reconstruct:  # inference: the head never reads the decoder (as phenoscale's predict)
            return self.head2(h)
        r = p(latent.unsqueeze(1).expand(-1, T, -1).contiguous())
        r = self.dec2(self.dec1(r)[0])[0]
        rec = pad_packed_sequence(self.dec3(r)[0], batch_first=True, total_length=T)[0]
        return self.head2(h), rec


class ConvBlock(nn.Module):
    """[Conv1d("same", dilation) -> BatchNorm -> ReLU] x convs, each output masked."""
    def __init__(self, cin, cout, kernel, dilation, convs):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv1d(cin if i == 0 else cout, cout, kernel, dilation=dilation,
                                              padding=(kernel - 1) * dilation // 2) for i in range(convs)])
        self.norms = nn.ModuleList([nn.BatchNorm1d(cout) for _ in range(convs)])

    def forward(self, x, mask):
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(conv(x))) * mask
        return x


class UNet1d(nn.Module):
    """DeepSPT's 1D U-Net, layer for layer src/nn/libtorch/models_unet1d.cpp (docs/methods.md §2.2)."""
    def __init__(self, inputs, channels, depth, kernel, dilation=2, convs=2, classes=4):
        super().__init__()
        c, self.depth = channels, depth
        self.encoder = nn.ModuleList([ConvBlock(inputs if l == 0 else c << (l - 1), c << l, kernel, dilation, convs)
                                      for l in range(depth)])
        self.bottleneck = ConvBlock(c << (depth - 1), c << depth, kernel, dilation, convs)
        self.up = nn.ModuleList([ConvBlock(c << (l + 1), c << l, kernel, 1, 1) for l in reversed(range(depth))])
        self.decoder = nn.ModuleList([ConvBlock(2 * (c << l), c << l, kernel, 1, convs) for l in reversed(range(depth))])
        self.head = nn.Conv1d(c, c, 3, padding=1)
        self.out = nn.Conv1d(c, classes, 1)

    def forward(self, x, mask):
        """x [B, T, C] zero-padded, mask [B, T] float -> logits [B, T, K]."""
        frames = x.shape[1]
        unit = 1 << self.depth
        pad = (frames + unit - 1) // unit * unit - frames
        x = F.pad(x.transpose(1, 2), (0, pad))
        mask = F.pad(mask, (0, pad)).unsqueeze(1)
        x = x * mask
        skips, masks = [], []
        for block in self.encoder:
            x = block(x, mask)
            skips.append(x)
            masks.append(mask)
            x = F.max_pool1d(x, 2)
            mask = F.max_pool1d(mask, 2)
        x = self.bottleneck(x, mask)
        for up, dec, skip, m in zip(self.up, self.decoder, reversed(skips), reversed(masks)):
            x = up(x.repeat_interleave(2, 2), m)
            x = dec(torch.cat([x, skip], 1), m)
        hidden = F.relu(self.head(x)) * masks[0]
        return self.out(hidden)[:, :, :frames].transpose(1, 2).contiguous()


UNET_PRESETS = {"unet1d": (32, 3, 5), "unet1d-paper2d": (130, 4, 7), "unet1d-paper3d": (48, 3, 5)}

M32 = 0xFFFFFFFF


def philox4x32_10(c, k):
    """phenoscale::core::philox4x32_10 (src/core/rng.cpp)."""
    c, k = list(c), list(k)
    for r in range(10):
        if r > 0:
            k = [(k[0] + 0x9E3779B9) & M32, (k[1] + 0xBB67AE85) & M32]
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & M32, (p0 >> 32) ^ c[3] ^ k[1], p0 & M32]
    return c


def bench_length(i, smin, smax):
    """The length bench_nn's synthetic() gives series i: the first
    core::Rng(1, Stream::test, i).below(smax - smin + 1) draw."""
    n = smax - smin + 1
    if n <= 1:
        return smin
    limit = (2 ** 64 - 1) - ((2 ** 64 - 1) % n)
    block = 0
    while True:
        w = philox4x32_10([block, i & M32, i >> 32, 0], [1, 0])
        for x in ((w[0] << 32) | w[1], (w[2] << 32) | w[3]):
            if x < limit:
                return smin + x % n
        block += 1


def main_unet(arch, batch, steps, threads, kv, opt_name, smin, smax, passes):
    """Per-frame segmentation (the U-Nets and gru-tagger): the trainer's step (masked per-frame cross-entropy
    summed over real frames / real frames, backward, optimiser) and inference
    (eval, no_grad, per-frame softmax and argmax)."""
    n = batch * 8
    classes = int(kv.get("classes", 4))
    if arch == "gru-tagger":
        inputs = int(kv.get("channels", 2))
        model = GruTagger(inputs, int(kv.get("hidden", 25)), int(kv.get("layers", 5)), classes)
    else:
        c, depth, kernel = UNET_PRESETS[arch]
        inputs = int(kv.get("inputs", 4))
        model = UNet1d(inputs, int(kv.get("channels", c)), int(kv.get("depth", depth)), int(kv.get("kernel", kernel)),
                       int(kv.get("dilation", 2)), int(kv.get("convs", 2)), classes)
    lens = [bench_length(i, smin, smax) for i in range(n)]
    data = [(torch.randn(l, inputs), torch.full((l,), i % classes, dtype=torch.long)) for i, l in enumerate(lens)]
    if opt_name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
    elif opt_name == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)

    def collate(idx):
        xs, ys = [data[i][0] for i in idx], [data[i][1] for i in idx]
        lengths = torch.tensor([len(y) for y in ys])
        x = torch.nn.utils.rnn.pad_sequence(xs, batch_first=True)
        y = torch.nn.utils.rnn.pad_sequence(ys, batch_first=True)
        mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).float()
        return x, mask, y

    def train_batches():
        order = torch.randperm(n).tolist()
        order.sort(key=lambda i: lens[i])  # one bucketing window (batch·50 ≥ n): stable sort by length
        chunks = [order[b:b + batch] for b in range(0, n, batch)]
        for p in torch.randperm(len(chunks)).tolist():
            yield collate(chunks[p])

    def step(x, mask, y):
        opt.zero_grad()
        logits = model(x, mask)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[2]), y.reshape(-1), reduction="none")
        m = mask.reshape(-1)
        loss = (ce * m).sum() / m.sum()
        loss.backward()
        opt.step()

    def train(k):
        done = 0
        while done < k:
            for b in train_batches():
                step(*b)
                done += 1
                if done == k:
                    return

    infer_order = sorted(range(n), key=lambda i: lens[i])  # as phenoscale's predict: by length, stable

    def infer():
        for b in range(0, n, batch):
            x, mask, _ = collate(infer_order[b:b + batch])
            model(x, mask).softmax(-1).argmax(-1)

    params = sum(p.numel() for p in model.parameters())
    if steps > 0:
        model.train()
        train(n // batch)  # warm-up, one whole epoch: every batch shape, as bench_nn's
        c0, t0 = time.process_time(), time.perf_counter()
        train(steps)
        t, tc = time.perf_counter() - t0, time.process_time() - c0
    model.eval()
    with grad_mode():
        infer()
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(passes):
            infer()
        ti, tic = (time.perf_counter() - t0) / passes, (time.process_time() - c0) / passes
    print(f"arch={arch} params={params} batch={batch} steps={steps} threads={torch.get_num_threads()} "
          f"frames={sum(lens)}")
    if steps > 0:
        print(f"train_samples_per_s={steps * batch / t:.2f} train_cpu_s={tc:.3f}")
    print(f"infer_samples_per_s={n / ti:.2f} infer_cpu_s={tic:.3f}")


def main():
    arch, batch, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    kv = dict(a.split("=") for a in sys.argv[5:])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    opt_name = kv.pop("optimizer", "sgd")
    smin, smax = int(kv.pop("series_min", 50)), int(kv.pop("series_max", 150))
    kv.pop("bucket_mib", None)
    passes = int(kv.pop("infer_passes", 1))
    # peer_grad=inference_mode: torch.inference_mode() (what phenoscale's
    # predict uses) instead of the usual torch.no_grad().
    global grad_mode
    grad_mode = torch.inference_mode if kv.pop("peer_grad", "no_grad") == "inference_mode" else torch.no_grad
    if arch in UNET_PRESETS or arch == "gru-tagger":
        return main_unet(arch, batch, steps, threads, kv, opt_name, smin, smax, passes)
    n = batch * 8
    classes = int(kv.get("classes", 2))
    seq = arch not in ("cnn3d-small", "inception3d", "dsrf3d")
    if not seq:
        size = int(kv.get("size", 40))
        if arch == "cnn3d-small":
            model = SmallCnn3d(size, int(kv.get("channels", 8)), classes)
        elif arch == "inception3d":
            model = Inception3d(size, classes)
        else:
            model = Dsrf3d(size, classes)
        data = [(torch.randn(size, size, size), i % classes) for i in range(n)]
    else:
        channels = int(kv.get("channels", 2))
        lens = [bench_length(i, smin, smax) for i in range(n)]  # bench_nn's series lengths
        data = [(torch.randn(l, channels), i % classes) for i, l in enumerate(lens)]
        if arch == "lstm-classifier":
            model = LstmClassifier(channels, int(kv.get("hidden", 32)), int(kv.get("layers", 1)), classes)
        else:
            model = GuidedBiLstmAutoencoder(channels, classes, bidirectional=kv.get("bidirectional_encoder", "0") == "1")
    if opt_name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
    elif opt_name == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)

    def training_order():
        """Series: bucketed by length as phenoscale's DistributedSampler does
        (one window, as in main_unet); fixed-shape samples: a permutation."""
        if not seq:
            return torch.randperm(n).tolist()
        order = torch.randperm(n).tolist()
        order.sort(key=lambda i: lens[i])
        chunks = [order[b:b + batch] for b in range(0, n, batch)]
        return [i for p in torch.randperm(len(chunks)).tolist() for i in chunks[p]]

    def batches(order=None):
        perm = training_order() if order is None else order
        for b in range(0, n, batch):
            items = [data[i] for i in perm[b:b + batch]]
            y = torch.tensor([t for _, t in items])
            if not seq:
                yield torch.stack([x for x, _ in items]), None, y
            else:
                lengths = torch.tensor([x.shape[0] for x, _ in items])
                x = torch.nn.utils.rnn.pad_sequence([x for x, _ in items], batch_first=True)
                yield x, lengths, y

    def step(x, lengths, y):
        opt.zero_grad()
        out = model(x, lengths)
        if isinstance(out, tuple):
            logits, rec = out
            mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).float().unsqueeze(2)
            loss = F.cross_entropy(logits, y) + 25.0 * (((rec - x) * mask) ** 2).sum() / (mask.sum() * x.shape[2])
        else:
            loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()

    def train(k):
        done = 0
        while done < k:
            for x, lengths, y in batches():
                step(x, lengths, y)
                done += 1
                if done == k:
                    return

    if steps > 0:
        model.train()
        train(n // batch)  # warm-up, one whole epoch: every batch shape, as bench_nn's
        c0, t0 = time.process_time(), time.perf_counter()
        train(steps)
        t, tc = time.perf_counter() - t0, time.process_time() - c0
    # Inference as phenoscale's predict does it: fixed-shape samples in storage
    # order, series in order of length (stable), the autoencoder without its
    # decoder.
    infer_order = sorted(range(n), key=lambda i: lens[i]) if seq else list(range(n))
    infer_kw = {"reconstruct": False} if isinstance(model, GuidedBiLstmAutoencoder) else {}
    model.eval()
    with grad_mode():
        for x, lengths, _ in batches(infer_order):
            model(x, lengths, **infer_kw)
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(passes):
            for x, lengths, _ in batches(infer_order):
                model(x, lengths, **infer_kw)
        ti, tic = (time.perf_counter() - t0) / passes, (time.process_time() - c0) / passes
    print(f"arch={arch} params={sum(p.numel() for p in model.parameters())} batch={batch} steps={steps} threads={torch.get_num_threads()}")
    if steps > 0:
        print(f"train_samples_per_s={steps * batch / t:.2f} train_cpu_s={tc:.3f}")
    print(f"infer_samples_per_s={n / ti:.2f} infer_cpu_s={tic:.3f}")


if __name__ == "__main__":
    main()
