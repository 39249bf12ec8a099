#!/usr/bin/python3
"""PyTorch peer of bench/s3dg.ts: the same S3D-G (separable 1xkxk + kx1x1 convs, BN + ReLU,
feature gating after Conv_2c and on every Inception branch, global average + linear head),
same width / frames / size / batch, trained with SGD momentum 0.9 on random clips.
Prints one JSON line: {"clips_per_s": ..., "params": ..., "threads": ...}.
Run: /usr/bin/python3 bench/s3dg_torch.py --width 0.25 --frames 8 --size 64 --batch 8 --steps 5
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn

LAYOUT = [
    ("pool", (1, 3, 1, 2)),
    ("Mixed_3b", (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", (128, 128, 192, 32, 96, 64)),
    ("pool", (3, 3, 2, 2)),
    ("Mixed_4b", (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", (256, 160, 320, 32, 128, 128)),
    ("pool", (2, 2, 2, 2)),
    ("Mixed_5b", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", (384, 192, 384, 48, 128, 128)),
]


def scaled(c, w):
    return max(1, round(c * w))


def same_pad(k):
    # TF 'same' for stride 1 and the strides used here: total k-1 (stride 1) split low/high.
    return k // 2


class Unit(nn.Module):
    def __init__(self, cin, cout, kt, ks, st=1, ss=1):
        super().__init__()
        self.k = (kt, ks, ks)
        self.s = (st, ss, ss)
        self.conv = nn.Conv3d(cin, cout, self.k, self.s, padding=0, bias=False)
        self.bn = nn.BatchNorm3d(cout, eps=1e-3, momentum=0.01)

    def forward(self, x):
        # TF-style 'same' padding (pads more on the high side when needed), as tfjs does.
        pads = []
        for dim, (k, s) in zip((4, 3, 2), zip(self.k[::-1], self.s[::-1])):
            n = x.shape[dim]
            out = -(-n // s)
            total = max((out - 1) * s + k - n, 0)
            pads += [total // 2, total - total // 2]
        x = nn.functional.pad(x, pads)
        return torch.relu(self.bn(self.conv(x)))


def sep(cin, cout, k, st=1, ss=1):
    return nn.Sequential(Unit(cin, cout, 1, k, 1, ss), Unit(cout, cout, k, 1, st, 1))


class Gate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc = nn.Linear(c, c)

    def forward(self, x):
        g = torch.sigmoid(self.fc(x.mean(dim=(2, 3, 4))))
        return x * g[:, :, None, None, None]


class MaxPoolSame(nn.Module):
    def __init__(self, kt, ks, st, ss):
        super().__init__()
        self.k = (kt, ks, ks)
        self.s = (st, ss, ss)

    def forward(self, x):
        pads = []
        for dim, (k, s) in zip((4, 3, 2), zip(self.k[::-1], self.s[::-1])):
            n = x.shape[dim]
            out = -(-n // s)
            total = max((out - 1) * s + k - n, 0)
            pads += [total // 2, total - total // 2]
        x = nn.functional.pad(x, pads, value=float("-inf"))
        return nn.functional.max_pool3d(x, self.k, self.s)


class Inception(nn.Module):
    def __init__(self, cin, ch, w):
        super().__init__()
        c0, c1a, c1b, c2a, c2b, c3 = [scaled(c, w) for c in ch]
        self.b0 = nn.Sequential(Unit(cin, c0, 1, 1), Gate(c0))
        self.b1 = nn.Sequential(Unit(cin, c1a, 1, 1), sep(c1a, c1b, 3), Gate(c1b))
        self.b2 = nn.Sequential(Unit(cin, c2a, 1, 1), sep(c2a, c2b, 3), Gate(c2b))
        self.b3 = nn.Sequential(MaxPoolSame(3, 3, 1, 1), Unit(cin, c3, 1, 1), Gate(c3))
        self.cout = c0 + c1b + c2b + c3

    def forward(self, x):
        return torch.cat([self.b0(x), self.b1(x), self.b2(x), self.b3(x)], dim=1)


class S3DG(nn.Module):
    def __init__(self, width, num_classes):
        super().__init__()
        w = width
        c = scaled(64, w)
        layers = [sep(3, c, 7, 2, 2), MaxPoolSame(1, 3, 1, 2), Unit(c, scaled(64, w), 1, 1)]
        c = scaled(64, w)
        layers += [sep(c, scaled(192, w), 3), Gate(scaled(192, w))]
        c = scaled(192, w)
        for name, spec in LAYOUT:
            if name == "pool":
                layers.append(MaxPoolSame(*spec))
            else:
                block = Inception(c, spec, w)
                layers.append(block)
                c = block.cout
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.5)
        self.logits = nn.Linear(c, num_classes)

    def forward(self, x):
        h = self.features(x).mean(dim=(2, 3, 4))
        return self.logits(self.dropout(h))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = S3DG(a.width, a.classes)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(a.batch, 3, a.frames, a.size, a.size) * 2 - 1
    y = torch.randint(0, a.classes, (a.batch,))
    model.train()

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    t = time.perf_counter()
    c = time.process_time()
    for _ in range(a.steps):
        step()
    dt = time.perf_counter() - t
    cpu = time.process_time() - c
    print(json.dumps({"clips_per_s": a.batch * a.steps / dt, "ms_per_step": 1000 * dt / a.steps, "params": params, "threads": a.threads, "torch": torch.__version__,
                      "cpu_ms_per_step": 1000 * cpu / a.steps,
                      "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main()
