"""Peer for bench/preprocess-transform.ts: decode a 512×512 JPEG and build the 224×224 normalised NCHW
float32 tensor with Pillow + numpy (shorter side to 256 bilinear, centre crop 224, ImageNet mean/std).

With `draft`, Pillow decodes at the smallest DCT scale that keeps the shorter side ≥ 256 (Image.draft), then
resizes as before: the same shortcut the runner's native JPEG path takes.

Usage: /usr/bin/python3 bench/preprocess-pillow.py <dir-of-jpegs> <rounds> [processes] [draft]
Prints one JSON line: {"images": n, "seconds": s, "images_per_s": r, "checksum": c}.
"""
import io
import json
import os
import sys
import time
from multiprocessing import Pool

import numpy as np
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)
SIZE, RESIZE = 224, 256


DRAFT = len(sys.argv) > 4 and sys.argv[4] == "draft"


def tensor(encoded: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(encoded))
    if DRAFT:
        image.draft("RGB", (RESIZE, RESIZE))
    image = image.convert("RGB")
    scale = RESIZE / min(image.size)
    w, h = round(image.width * scale), round(image.height * scale)
    image = image.resize((w, h), Image.BILINEAR)
    left, top = (w - SIZE) // 2, (h - SIZE) // 2
    image = image.crop((left, top, left + SIZE, top + SIZE))
    pixels = np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return (pixels - MEAN) / STD


def run(job):
    images, rounds = job
    total = 0.0
    for _ in range(rounds):
        for encoded in images:
            total += float(tensor(encoded)[0, 0, 0])
    return total


def main() -> None:
    folder, rounds = sys.argv[1], int(sys.argv[2])
    processes = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    images = [open(os.path.join(folder, f), "rb").read() for f in sorted(os.listdir(folder)) if f.endswith(".jpg")]
    run((images[:2], 1))
    started = time.perf_counter()
    if processes == 1:
        checksum = run((images, rounds))
    else:
        with Pool(processes) as pool:
            checksum = sum(pool.map(run, [(images, rounds)] * processes))
    seconds = time.perf_counter() - started
    count = len(images) * rounds * processes
    print(json.dumps({"images": count, "seconds": seconds, "images_per_s": count / seconds, "checksum": checksum}))


if __name__ == "__main__":
    main()
