"""QR codes on walls: plain zxing-cpp first, then fallbacks for the photos it cannot read.

Wall photos are low-contrast, blurred, noisy, small in the frame, tilted or seen at an angle.
zxing-cpp already tries rotations, inversion and downscaling; what it lacks is help for the image
itself. The fallbacks run in order of cost and stop at the first decode: contrast stretch, median
filter (noise), unsharp masks of growing radius and Wiener deconvolutions (blur), Otsu binarisation,
upscaling (small codes), overlapping tiles (a small code in a big photo) and a global-histogram
binariser. Only matrix formats (QR, Micro QR, rMQR, DataMatrix, Aztec) are read: they carry
Reed-Solomon error correction, so a decode is not a guess, while 1-D barcodes would turn brick
textures into false reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_SIDE = 4000  # larger photos are scaled down first: zxing's cost grows with pixels, codes do not
# The image fallbacks run on a copy this size (a 12-megapixel phone photo with no code would otherwise
# take half a minute); only the tiles, which look for codes small in the frame, see the full photo.
FALLBACK_SIDE = 2000


@dataclass(frozen=True)
class Decoded:
    text: str
    format: str
    step: str  # which attempt read it: "plain" or the fallback's name


def _formats() -> Any:
    import zxingcpp

    names = ("QRCode", "MicroQRCode", "RMQRCode", "DataMatrix", "Aztec")
    return zxingcpp.barcode_formats_from_str(",".join(n for n in names if hasattr(zxingcpp, n)))


def _read(image: Any, binarizer: Any | None = None) -> list[tuple[str, str]]:
    import zxingcpp

    kwargs = {"formats": _formats()}
    if binarizer is not None:
        kwargs["binarizer"] = binarizer
    return [(r.text, r.format.name) for r in zxingcpp.read_barcodes(image, **kwargs) if r.valid and r.text]


def _grey(image: Any) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _stretch(grey: np.ndarray) -> np.ndarray:
    low, high = np.percentile(grey, (2, 98))
    if high - low < 1:
        return grey
    return np.clip((grey.astype(np.float32) - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)


def _otsu(grey: np.ndarray) -> np.ndarray:
    hist = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    total = grey.size
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * np.arange(256))
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean[-1] * weight - mean * total) ** 2 / (weight * (total - weight))
    if not np.isfinite(between).any():  # one grey level (a flat or one-pixel photo): nothing to split
        return grey.copy()
    threshold = int(np.nanargmax(between))
    return np.where(grey > threshold, 255, 0).astype(np.uint8)


# Gaussian blur widths and noise-to-signal ratios the deblurring step tries, in that order. Phone photos
# of walls are out of focus by 2–5 pixels; low ratios restore clean photos, high ones noisy photos.
DEBLUR_SIGMAS = (2.0, 2.5, 3.0, 3.5, 4.0, 4.5)
DEBLUR_RATIOS = (0.0003, 0.003, 0.03)


def deblurred(grey: np.ndarray) -> Iterator[np.ndarray]:
    """Wiener deconvolutions of a Gaussian blur, for each width and noise ratio tried.

    The filter runs on the photo as taken: a contrast stretch first would clip the white of the code
    and the black of its modules, and a clipped edge can no longer be deconvolved. Each result is
    stretched afterwards to the 1st–99th percentile. The image's spectrum is computed once.
    """
    h, w = grey.shape
    fy = np.fft.fftfreq(h)[:, None].astype(np.float32)
    fx = np.fft.rfftfreq(w)[None, :].astype(np.float32)
    radius2 = fx**2 + fy**2
    pixels = grey.astype(np.float32)
    mean = float(pixels.mean())
    spectrum = np.fft.rfft2(pixels - mean)
    for sigma in DEBLUR_SIGMAS:
        blur = np.exp(-2 * np.pi**2 * sigma**2 * radius2)
        for ratio in DEBLUR_RATIOS:
            restored = np.fft.irfft2(spectrum * (blur / (blur * blur + ratio)), s=grey.shape)
            low, high = np.percentile(restored, (1, 99))
            scaled = (restored - low) * (255.0 / max(float(high - low), 1e-6))
            yield np.clip(scaled, 0, 255).astype(np.uint8)


def _deblur(grey: np.ndarray) -> list[tuple[str, str]]:
    for restored in deblurred(grey):
        found = _read(restored)
        if found:
            return found
    return []


def _scaled(image: Any, side: int) -> Any:
    from PIL import Image

    if max(image.size) <= side:
        return image
    image = image.copy()
    image.thumbnail((side, side), Image.LANCZOS)
    return image


def _fallbacks(photo: Any) -> Iterator[tuple[str, Callable[[], list[tuple[str, str]]]]]:
    from PIL import Image, ImageFilter

    image = _scaled(photo, FALLBACK_SIDE)
    grey_image = image.convert("L")
    grey = _grey(image)
    stretched = _stretch(grey)
    yield "contrast", lambda: _read(stretched)
    yield "median", lambda: _read(_stretch(_grey(grey_image.filter(ImageFilter.MedianFilter(5)))))
    for radius, percent in ((2, 150), (4, 300), (6, 400)):  # blur: modules smeared into each other
        sharp = _stretch(_grey(grey_image.filter(ImageFilter.UnsharpMask(radius, percent, 0))))
        yield f"sharpen{radius}", lambda sharp=sharp: _read(sharp) or _read(_otsu(sharp))
    yield "deblur", lambda: _deblur(grey)  # stronger blur: Wiener deconvolution, see deblurred()
    yield "otsu", lambda: _read(_otsu(_stretch(_grey(grey_image.filter(ImageFilter.MedianFilter(3))))))
    width, height = grey_image.size
    if max(width, height) < 1600:
        yield (
            "upscale",
            lambda: _read(_grey(Image.fromarray(stretched).resize((width * 2, height * 2), Image.LANCZOS))),
        )
    yield "tiles", lambda: _tiles(Image.fromarray(_stretch(_grey(photo))))
    yield "histogram", lambda: _read(stretched, _global_histogram())


def _global_histogram() -> Any:
    import zxingcpp

    return zxingcpp.Binarizer.GlobalHistogram


def _tiles(image: Any) -> list[tuple[str, str]]:
    """Overlapping 2×2 and 3×3 tiles, each upscaled: a code that is a small part of the photo."""
    from PIL import Image

    width, height = image.size
    found: list[tuple[str, str]] = []
    for n in (2, 3):
        tw, th = int(width / n * 1.5), int(height / n * 1.5)
        for i in range(n):
            for j in range(n):
                x = min(int(i * width / n - tw / 6), width - tw) if i else 0
                y = min(int(j * height / n - th / 6), height - th) if j else 0
                tile = image.crop((max(0, x), max(0, y), max(0, x) + tw, max(0, y) + th))
                scale = max(1.0, 1000 / max(tile.size))
                if scale > 1:
                    tile = tile.resize((int(tile.size[0] * scale), int(tile.size[1] * scale)), Image.LANCZOS)
                found += _read(tile)
        if found:
            return found
    return found


MIN_SIDE = 21  # pixels: the smallest QR code has 21 modules a side; a smaller photo holds no code to rescue


def decode_plain(image: Any) -> list[Decoded]:
    """zxing-cpp alone, as anyone would call it (the benchmark's baseline)."""
    return _unique(_read(image.convert("RGB")), "plain")


def decode(image: Any, *, fallbacks: bool = True) -> list[Decoded]:
    """Every matrix code in the image: plain zxing-cpp, then the fallbacks until one reads."""
    image = _scaled(image, MAX_SIDE)
    found = decode_plain(image)
    if found or not fallbacks or min(image.size) < MIN_SIDE:
        return found
    for name, attempt in _fallbacks(image):
        result = _unique(attempt(), name)
        if result:
            return result
    return []


def _unique(results: list[tuple[str, str]], step: str) -> list[Decoded]:
    seen: dict[str, Decoded] = {}
    for text, fmt in results:
        seen.setdefault(text, Decoded(text, fmt, step))
    return list(seen.values())
