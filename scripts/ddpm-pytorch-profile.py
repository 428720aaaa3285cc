#!/usr/bin/env python3
"""Where a DDPM training step goes on this CPU, and what faster kernels would give (docs/results.md,
"Diffusion training speed"). With the U-Net of scripts/ddpm-pytorch.py (16-32-32, batch 64, 2 threads):
  1. the share of the step in oneDNN's convolutions (torch.profiler over 5 steps), which bounds what
     any program calling the same convolutions can gain;
  2. GFLOP/s of each convolution shape of the U-Net, forward and backward, in float32 and bfloat16,
     NCHW and channels-last;
  3. the whole step's throughput in NCHW and channels-last.
Needs Debian's python3-torch (scripts/bench-ddpm.sh installs it). Usage: ddpm-pytorch-profile.py
"""
import importlib.util
import os
import sys
import time

try:
    import torch
    import torch.nn as nn
    from torch.profiler import ProfilerActivity, profile
except ImportError:
    sys.exit("ddpm-pytorch-profile.py: needs Debian's python3-torch: scripts/apt-install.sh profile python3-torch, "
             "then run it with /usr/bin/python3")

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("ddpm_pytorch", os.path.join(here, "ddpm-pytorch.py"))
ddpm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ddpm)
BATCH = 64


def trainer(channels_last):
    """A step function of the script's U-Net and Adam on minibatches of 64."""
    torch.manual_seed(0)
    model = ddpm.UNet([16, 32, 32], 1)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    abar = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000), 0)

    def step(x0):
        t = torch.randint(0, 1000, (x0.shape[0],))
        eps = torch.randn_like(x0)
        ab = abar[t][:, None, None, None]
        xt = (ab.sqrt() * x0 + (1 - ab).sqrt() * eps).contiguous(memory_format=fmt)
        loss = (eps - model(xt, t)).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def throughput(step, x, steps=10):
    for b in range(3):
        step(x[b * BATCH:(b + 1) * BATCH])
    start = time.perf_counter()
    for b in range(steps):
        step(x[b * BATCH:(b + 1) * BATCH])
    return steps * BATCH / (time.perf_counter() - start)


def conv_gflops(cin, cout, side, dtype, channels_last, reps=20):
    """Forward and backward GFLOP/s of a 3x3 convolution on a batch of 64."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    conv = nn.Conv2d(cin, cout, 3, padding=1).to(dtype).to(memory_format=fmt)
    x = torch.randn(BATCH, cin, side, side, dtype=dtype).contiguous(memory_format=fmt).requires_grad_()
    for _ in range(3):
        conv(x).sum().backward()
    start = time.perf_counter()
    for _ in range(reps):
        y = conv(x)
    forward = (time.perf_counter() - start) / reps
    grad = torch.ones_like(y)
    start = time.perf_counter()
    for _ in range(reps):
        conv(x).backward(grad)
    backward = (time.perf_counter() - start) / reps - forward
    flops = 2 * cin * cout * 9 * side * side * BATCH
    return flops / forward / 1e9, 2 * flops / backward / 1e9


def main():
    torch.set_num_threads(2)
    x = ddpm.fashion_mnist(13 * BATCH)
    step = trainer(False)
    throughput(step, x, steps=0)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for b in range(5):
            step(x[b * BATCH:(b + 1) * BATCH])
    rows = prof.key_averages()
    total = sum(r.self_cpu_time_total for r in rows)
    share = {name: sum(r.self_cpu_time_total for r in rows if r.key == name) / total
             for name in ("aten::mkldnn_convolution", "aten::convolution_backward")}
    print("1. convolutions: %.0f%% of the step (forward %.0f%%, backward %.0f%%): any program calling them "
          "gains at most %.2fx" % (100 * sum(share.values()), 100 * share["aten::mkldnn_convolution"],
                                   100 * share["aten::convolution_backward"], 1 / sum(share.values())))
    print("2. GFLOP/s per convolution (forward / backward), batch 64:")
    for cin, cout, side in [(16, 16, 32), (48, 16, 32), (32, 32, 16), (64, 32, 16)]:
        cells = []
        for dtype, name in [(torch.float32, "float32"), (torch.bfloat16, "bfloat16")]:
            for cl in (False, True):
                f, b = conv_gflops(cin, cout, side, dtype, cl)
                cells.append("%s %s %.0f / %.0f" % (name, "channels-last" if cl else "NCHW", f, b))
        print("   %2d -> %2d at %dx%d: %s" % (cin, cout, side, side, "; ".join(cells)))
    print("3. whole step: NCHW %.0f, channels-last %.0f examples x steps per second" %
          (throughput(trainer(False), x), throughput(trainer(True), x)))


if __name__ == "__main__":
    main()
