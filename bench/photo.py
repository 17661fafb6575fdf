"""Benchmark: wall-photo reading — QR decode rate and ms per image, plain zxing-cpp against our
pipeline on the same generated photos; false decodes on photos without codes; OCR character error
rate on painted handles, level and photographed at an angle.

    python bench/photo.py [--n 6]      (run from the repository root: it uses tests/wallphotos.py)
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.wallphotos import degrade, jpeg, painted, painted_tilted, perspective, qr_on_wall, wall

from shekteu.street import ocr, qr
from shekteu.street.photo import analyse_bytes

HANDLES = [
    "@snow_almaty_bot",
    "@kristall_kz",
    "t.me/mef_shym",
    "@sneg24_bot",
    "@alfa_pvp_ast",
    "@shishki_krg",
]


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def qr_set(n: int) -> list:
    grid = itertools.product([0, 1.5, 2.2, 3.0], [0, 8], [1.0, 0.15], [6, 4])
    images = []
    for k, (blur, noise, contrast, scale) in enumerate(grid):
        for s in range(max(1, n // 6)):
            payload = f"https://t.me/shop_{k}_{s}_bot"
            image = qr_on_wall(
                payload, seed=k * 7 + s, blur=blur, noise=noise, contrast=contrast, scale=scale
            )
            if k % 3 == 0:  # a third of them seen at an angle and tilted
                image = degrade(perspective(image, 0.25, k), angle=15 + k)
            images.append((payload, image))
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6, help="photos per degradation setting (÷6)")
    args = parser.parse_args()
    images = qr_set(args.n)
    for name, reader in (("plain zxing-cpp", qr.decode_plain), ("shekteu pipeline", qr.decode)):
        start, hits, wrong = time.perf_counter(), 0, 0
        for payload, image in images:
            texts = [d.text for d in reader(image)]
            hits += payload in texts
            wrong += any(t != payload for t in texts)
        ms = (time.perf_counter() - start) * 1000 / len(images)
        print(
            f"{name:17s} decoded {hits}/{len(images)} ({hits / len(images):.0%}), wrong {wrong}, {ms:.0f} ms/image"
        )
    blanks = [wall(seed=s) for s in range(20)] + [
        degrade(wall(seed=s), noise=30, contrast=2.0) for s in range(10)
    ]
    blanks += [painted(h, seed=s) for s, h in enumerate(HANDLES)]
    false = sum(bool(qr.decode(b)) for b in blanks)
    print(f"false decodes on {len(blanks)} photos without codes: {false}")
    if not ocr.available():
        print("OCR: tesseract not installed, skipped")
        return
    for label, photos in (
        ("level", [painted(h, seed=s) for s, h in enumerate(HANDLES)]),
        (
            "tilted ±6–15°",
            [painted_tilted(h, (-1) ** s * (6 + 2 * s), seed=s) for s, h in enumerate(HANDLES)],
        ),
    ):
        ocr_figures(label, photos)


def ocr_figures(label: str, photos: list) -> None:
    errors = chars = found = 0
    start = time.perf_counter()
    for handle, photo in zip(HANDLES, photos, strict=True):
        result = analyse_bytes("x.jpg", jpeg(photo))
        reading = ocr.read(photo)
        best = min(
            (edit_distance(handle, w) for w in (reading.text + " " + reading.latin).split()),
            default=len(handle),
        )
        errors, chars = errors + best, chars + len(handle)
        wanted = handle if handle.startswith("@") else "https://" + handle
        found += any(i["normalized"] in (wanted, "@" + handle.rsplit("/", 1)[-1]) for i in result.indicators)
    ms = (time.perf_counter() - start) * 1000 / len(HANDLES)
    print(f"OCR on painted handles, {label}: character error rate {errors / chars:.1%} (best word), "
          f"handles recovered as indicators {found}/{len(HANDLES)}, {ms:.0f} ms/photo")  # fmt: skip


if __name__ == "__main__":
    main()
