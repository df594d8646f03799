"""Where a PyTorch (CPU) training step of the guided bi-LSTM autoencoder goes:
one batch of 128 series of 50-150 frames (uniform, seed 0), packed sequences,
RMSprop, nn_peer.py's network. Prints the step time and the operators that
take most CPU time; the share of aten::zeros + aten::add under
SliceBackward0 is the packed LSTM's per-step slice backward, which writes a
zero tensor of the whole packed batch at every time step (the reason for
phenoscale's fused CPU LSTM, src/nn/libtorch/fused_lstm.cpp).

  OMP_NUM_THREADS=1 /usr/bin/python3 tests/bench/lstm_peer_profile.py
"""
import os, random, sys, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nn_peer  # noqa: E402

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
torch.manual_seed(0)
random.seed(0)
model = nn_peer.GuidedBiLstmAutoencoder(1, 6, bidirectional=True)
opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
lengths = torch.tensor(sorted((random.randint(50, 150) for _ in range(128)), reverse=True))
T = int(lengths.max())
mask = (torch.arange(T)[None, :] < lengths[:, None]).float().unsqueeze(2)
x = torch.randn(128, T, 1) * mask
y = torch.randint(0, 6, (128,))


def step():
    opt.zero_grad()
    logits, rec = model(x, lengths)
    loss = F.cross_entropy(logits, y) + 25.0 * (((rec - x) * mask) ** 2).sum() / mask.sum()
    loss.backward()
    opt.step()


step()
start = time.perf_counter()
step()
print(f"step_s={time.perf_counter() - start:.3f} frames={int(lengths.sum())} threads={torch.get_num_threads()}")
with torch.profiler.profile() as prof:
    step()
events = prof.key_averages()
total = sum(e.self_cpu_time_total for e in events)
share = sum(e.self_cpu_time_total for e in events if e.key in ("aten::zeros", "aten::fill_", "aten::add")) / total
print(f"share of self CPU time in aten::fill_ (zeros) + aten::add: {share:.3f}")
print(events.table(sort_by="self_cpu_time_total", row_limit=8))
