"""PyTorch CPU peer of bench/train-step.ts: the same two architectures, forward + backward + SGD update,
median wall-clock and CPU (all threads) seconds per step after warm-up, printed as one JSON line
(NHWC in tfjs, NCHW here)."""
import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn


def small_cnn() -> nn.Module:
    layers, channels = [], 3
    for i, filters in enumerate([32, 64, 128, 128]):
        layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU()]
        if i < 3:
            layers.append(nn.MaxPool2d(2, 2))
        channels = filters
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 2))


class BasicBlock(nn.Module):
    def __init__(self, channels_in: int, filters: int, stride: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(channels_in, filters, 3, stride, 1, bias=False), nn.BatchNorm2d(filters), nn.ReLU(),
            nn.Conv2d(filters, filters, 3, 1, 1, bias=False), nn.BatchNorm2d(filters))
        self.shortcut = nn.Identity() if stride == 1 and channels_in == filters else nn.Sequential(
            nn.Conv2d(channels_in, filters, 1, stride, bias=False), nn.BatchNorm2d(filters))

    def forward(self, x):
        return torch.relu(self.main(x) + self.shortcut(x))


def resnet18() -> nn.Module:
    layers, channels = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)], 64
    for stage, filters in enumerate([64, 128, 256, 512]):
        layers += [BasicBlock(channels, filters, 1 if stage == 0 else 2), BasicBlock(filters, filters, 1)]
        channels = filters
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 2))


WORKLOADS = {"small-cnn": (small_cnn, 64, 32), "resnet18": (resnet18, 128, 16)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=WORKLOADS, required=True)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    build, size, batch = WORKLOADS[args.model]
    model = build().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    images = torch.randn(batch, 3, size, size)
    labels = torch.arange(batch) % 2
    loss_fn = nn.CrossEntropyLoss()
    times, cpu_times = [], []
    for i in range(args.warmup + args.steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
        print(f"  {args.model} pytorch step {i + 1}/{args.warmup + args.steps}", end="\r", file=sys.stderr)
    print(file=sys.stderr)
    print(json.dumps({"model": args.model, "median_s": statistics.median(times),
                      "median_cpu_s": statistics.median(cpu_times), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
