#!/usr/bin/env python3
"""The side-by-side of `memscope bench --model ddpm`: the same U-Net, data, batch and steps, trained
one model at a time as the usual PyTorch code would (an nn.Module per model, torch.optim.Adam, a
shuffled minibatch loop). Prints the training throughput in examples x steps per second over all
models, the figure `memscope bench` prints for its grouped training.

Usage: ddpm-pytorch.py --limit N --folds K --epochs E --batch-size B --channels 16,32,32
                       [--res-blocks R] [--timesteps T] [--threads P] [--lr LR]
Needs Debian's python3-torch (scripts/bench-ddpm.sh installs it) and dataset-fashion-mnist.
"""
import argparse
import gzip
import math
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def fashion_mnist(limit):
    """The first `limit` training images, padded to 32x32, as 8-bit levels mapped to [-1, 1]."""
    with gzip.open(FASHION, "rb") as f:
        magic, n, h, w = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, "not an IDX image file"
        n = min(n, limit)
        pixels = torch.frombuffer(bytearray(f.read(n * h * w)), dtype=torch.uint8).reshape(n, 1, h, w)
    x = F.pad(pixels.float(), (2, 2, 2, 2))
    return x * (2 / 255) - 1


def groups(ch):
    return math.gcd(ch, 32 if ch >= 64 else 8)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups(cin), cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(temb, cout)
        self.norm2, self.conv2 = nn.GroupNorm(groups(cout), cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.conv2.weight), nn.init.zeros_(self.conv2.bias)

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x))) + self.temb(temb)[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class UNet(nn.Module):
    """memscope's ddpm U-Net (src/memscope/models/ddpm.h) without attention and dropout."""

    def __init__(self, channels, res_blocks, in_ch=1):
        super().__init__()
        c0, e = channels[0], 4 * channels[0]
        self.c0 = c0
        self.temb0, self.temb1 = nn.Linear(c0, e), nn.Linear(e, e)
        self.conv_in = nn.Conv2d(in_ch, c0, 3, padding=1)
        self.down, self.downsample, skips, cur = nn.ModuleList(), nn.ModuleList(), [c0], c0
        for level, ch in enumerate(channels):
            blocks = nn.ModuleList()
            for _ in range(res_blocks):
                blocks.append(ResBlock(cur, ch, e))
                cur = ch
                skips.append(cur)
            self.down.append(blocks)
            if level + 1 < len(channels):
                self.downsample.append(nn.Conv2d(cur, cur, 3, stride=2, padding=1))
                skips.append(cur)
        self.mid1, self.mid2 = ResBlock(cur, cur, e), ResBlock(cur, cur, e)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for level in reversed(range(len(channels))):
            blocks = nn.ModuleList()
            for _ in range(res_blocks + 1):
                blocks.append(ResBlock(cur + skips.pop(), channels[level], e))
                cur = channels[level]
            self.up.append(blocks)
            if level > 0:
                self.upsample.append(nn.Conv2d(cur, cur, 3, padding=1))
        self.norm_out, self.conv_out = nn.GroupNorm(groups(cur), cur), nn.Conv2d(cur, in_ch, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight), nn.init.zeros_(self.conv_out.bias)

    def forward(self, x, t):
        half = self.c0 // 2
        freqs = torch.exp(torch.arange(half) * (-math.log(10000.0) / half))
        args = t.float()[:, None] * freqs
        temb = F.silu(self.temb1(F.silu(self.temb0(torch.cat([args.sin(), args.cos()], 1)))))
        hs = [self.conv_in(x)]
        h = hs[-1]
        for level, blocks in enumerate(self.down):
            for block in blocks:
                h = block(h, temb)
                hs.append(h)
            if level < len(self.downsample):
                h = self.downsample[level](h)
                hs.append(h)
        h = self.mid2(self.mid1(h, temb), temb)
        for i, blocks in enumerate(self.up):
            for block in blocks:
                h = block(torch.cat([h, hs.pop()], 1), temb)
            if i < len(self.upsample):
                h = self.upsample[i](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, default=600)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--channels", default="16,32,32")
    p.add_argument("--res-blocks", type=int, default=1)
    p.add_argument("--timesteps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = fashion_mnist(a.limit)
    n = x.shape[0]
    betas = torch.linspace(1e-4, 0.02, a.timesteps, dtype=torch.float64)
    abar = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)]).float()  # abar[t], t = 0..T
    channels = [int(c) for c in a.channels.split(",")]
    fold = torch.arange(n) % a.folds
    examples, seconds, losses = 0, 0.0, []
    for k in range(a.folds):  # one model per fold, one after another
        train = x[fold != k]
        model = UNet(channels, a.res_blocks)
        opt = torch.optim.Adam(model.parameters(), lr=a.lr)
        start = time.perf_counter()
        for _ in range(a.epochs):
            order = torch.randperm(train.shape[0])
            for b in range(0, train.shape[0], a.batch_size):
                x0 = train[order[b:b + a.batch_size]]
                t = torch.randint(1, a.timesteps + 1, (x0.shape[0],))
                eps = torch.randn_like(x0)
                ab = abar[t][:, None, None, None]
                loss = (eps - model(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t)).square().mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                examples += x0.shape[0]
        seconds += time.perf_counter() - start
        losses.append(loss.item())
    print("pytorch: %d models, %d examples x steps in %.1f s: %.0f training examples x steps per second "
          "over all models (%d threads, torch %s); last losses %s" %
          (a.folds, examples, seconds, examples / seconds, a.threads, torch.__version__,
           " ".join("%.3f" % v for v in losses)))


if __name__ == "__main__":
    main()
