"""PyTorch peer of the GPU check (bench/gpu-check/check.ts): the same workloads on PyTorch, CUDA fp32 where a GPU is
there (TF32 off, so both sides compute in full fp32), else the CPU, saying so. ResNet-50 and ResNet-18 come from timm
(torchvision when timm is missing), random weights, two classes, NCHW. Inference: images/s per batch size after
warm-up, synchronised per batch. Training: forward, backward and SGD (momentum 0.9, weight decay 1e-4) per step, the
median step time after warm-up. Prints one `GPU-CHECK-RESULT {json}` line; when PyTorch cannot be imported that line
says "PyTorch not available" and the check shows the WebGPU side alone."""
import argparse
import json
import statistics
import sys
import time

MARKER = "GPU-CHECK-RESULT "


def emit(section, ok, notes, measurements, error=None):
    result = {"section": section, "ok": ok, "notes": notes, "measurements": measurements}
    if error:
        result["error"] = error
    print(MARKER + json.dumps(result), flush=True)


def build(torch, name, notes):
    try:
        import timm

        model = timm.create_model(name, pretrained=False, num_classes=2)
        source = f"timm {timm.__version__}"
    except ImportError:
        import torchvision

        model = getattr(torchvision.models, name)(weights=None, num_classes=2)
        source = f"torchvision {torchvision.__version__} (timm not importable)"
    if not any(source in n for n in notes):
        notes.append(f"models from {source}")
    return model


def pick_device(torch, notes):
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        name = torch.cuda.get_device_name(0)
        notes.append(f"side: PyTorch {torch.__version__} CUDA fp32 ({name})")
        notes.append(f"PyTorch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, {name}; TF32 off, cudnn.benchmark on")
        return torch.device("cuda")
    notes.append(f"side: PyTorch {torch.__version__} CPU (no CUDA)")
    notes.append(f"CUDA not available to PyTorch {torch.__version__}: the peer runs on the CPU ({torch.get_num_threads()} threads), not the GPU")
    return torch.device("cpu")


def sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def inference(torch, device, args, notes):
    model = build(torch, "resnet50", notes).to(device).eval()
    measurements = []
    with torch.inference_mode():
        for batch in args.batches:
            x = torch.randn(batch, 3, 224, 224, device=device)
            started = time.perf_counter()
            for _ in range(args.warmup):
                model(x)
            sync(torch, device)
            warm = time.perf_counter() - started
            times = []
            t0 = time.perf_counter()
            while len(times) < args.min_runs or time.perf_counter() - t0 < args.seconds:
                t = time.perf_counter()
                model(x)
                sync(torch, device)
                times.append(time.perf_counter() - t)
            elapsed = time.perf_counter() - t0
            rate = len(times) * batch / elapsed
            detail = f"{len(times)} runs, per batch p50 {statistics.median(times) * 1000:.1f} ms; {args.warmup} warm-up run(s) {warm:.1f} s"
            print(f"  pytorch inference batch {batch}: {rate:.1f} img/s ({detail})", file=sys.stderr)
            measurements.append({"workload": f"infer-b{batch}", "side": "torch", "value": rate, "unit": "img/s", "detail": detail})
    return measurements


def train(torch, device, spec, args, notes):
    name, size, batch = spec.split(":")
    size, batch = int(size), int(batch)
    torch.manual_seed(1)
    model = build(torch, name, notes).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    images = torch.randn(batch, 3, size, size, device=device)
    labels = (torch.arange(batch) % 2).to(device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss.item()  # reads the loss back, as the WebGPU side does: the step's GPU work is done

    warm = []
    for _ in range(args.train_warmup):
        t = time.perf_counter()
        step()
        warm.append(time.perf_counter() - t)
    times, loss = [], float("nan")
    until = time.perf_counter() + args.train_seconds
    while len(times) < args.train_steps and (len(times) < min(2, args.train_steps) or time.perf_counter() < until):
        t = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t)
    median = statistics.median(times)
    first = f"{warm[0]:.1f} s" if warm else "—"
    detail = f"median of {len(times)} step(s) after {args.train_warmup} warm-up (first {first}); loss {loss:.3f}"
    print(f"  pytorch train {name} {size}² batch {batch}: {median:.3f} s/step ({detail})", file=sys.stderr)
    return {"workload": f"train-{name}", "side": "torch", "value": median, "unit": "s/step", "detail": detail}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--inference", action="store_true")
    parser.add_argument("--batches", type=lambda s: [int(b) for b in s.split(",")], default=[1, 8, 32])
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--min-runs", type=int, default=3)
    parser.add_argument("--train", action="append", default=[], help="model:size:batch, e.g. resnet18:128:16")
    parser.add_argument("--train-warmup", type=int, default=2)
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--train-seconds", type=float, default=15)
    args = parser.parse_args()
    section = "torch-inference" if args.inference else "torch-train"
    try:
        import torch
    except Exception as error:  # noqa: BLE001 - any import failure means no peer
        emit(section, False, [], [], f"PyTorch not available ({type(error).__name__}: {error}); the table shows the WebGPU side alone")
        return
    notes = []
    try:
        device = pick_device(torch, notes)
        if args.inference:
            measurements = inference(torch, device, args, notes)
        else:
            measurements = [train(torch, device, spec, args, notes) for spec in args.train]
        emit(section, True, notes, measurements)
    except Exception as error:  # noqa: BLE001 - reported in the table, the check goes on
        emit(section, False, notes, [], f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
