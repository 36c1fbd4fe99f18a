"""Peer for bench/dataset-degrade.ts: the same degradations with Pillow, one process per core.

Usage: python3 bench/dataset-degrade-pillow.py <src-root> <out-root> <jpeg|blur|blurjpeg>
Walks <src-root>/<Generator>/{train,val}/{ai,nature}, writes the same layout to <out-root>.
"""
import os
import sys
from multiprocessing import Pool

from PIL import Image, ImageFilter


def work(job):
    source, target, operation = job
    with Image.open(source) as image:
        image = image.convert("RGB")
        if operation == "jpeg":
            image.save(target.rsplit(".", 1)[0] + ".jpg", "JPEG", quality=65)
        elif operation == "blur":
            image.filter(ImageFilter.GaussianBlur(3)).save(target, "PNG")
        else:  # blurjpeg: blur, then JPEG q95, so PNG encoding does not dominate the comparison
            image.filter(ImageFilter.GaussianBlur(3)).save(target.rsplit(".", 1)[0] + ".jpg", "JPEG", quality=95)


def jobs(src, out, operation):
    for generator in sorted(os.listdir(src)):
        for split in ("train", "val"):
            for label in ("ai", "nature"):
                folder = os.path.join(src, generator, split, label)
                if not os.path.isdir(folder):
                    continue
                target_folder = os.path.join(out, generator, split, label)
                os.makedirs(target_folder, exist_ok=True)
                for name in os.listdir(folder):
                    yield os.path.join(folder, name), os.path.join(target_folder, name), operation


if __name__ == "__main__":
    src, out, operation = sys.argv[1], sys.argv[2], sys.argv[3]
    with Pool(os.cpu_count()) as pool:
        for _ in pool.imap_unordered(work, jobs(src, out, operation), chunksize=8):
            pass
