"""Generated wall photos for the street-ad tests and benchmark: QR stickers and painted handles on
textured walls, degraded the way phone photos of walls are (perspective, blur, noise, low contrast),
with EXIF written by piexif."""

from __future__ import annotations

import io
import random
from importlib import resources

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont


def font(size: int) -> ImageFont.FreeTypeFont:
    path = resources.files("shekteu.dossier").joinpath("fonts/DejaVuSans-Bold.ttf")
    return ImageFont.truetype(str(path), size)


def wall(width: int = 1200, height: int = 900, seed: int = 0) -> Image.Image:
    """Plaster or brick: a base colour, mortar lines, grain."""
    rng = np.random.default_rng(seed)
    base = np.array(
        random.Random(seed).choice([(150, 140, 130), (170, 90, 70), (200, 200, 190), (90, 90, 95)])
    )
    pixels = np.clip(base + rng.normal(0, 14, (height, width, 3)), 0, 255)
    if seed % 2:
        pixels[::40, :, :] *= 0.7
        for row in range(0, height, 40):
            offset = 0 if (row // 40) % 2 else 45
            pixels[row : row + 40, offset::90, :] *= 0.7
    return Image.fromarray(pixels.astype(np.uint8))


def qr_image(payload: str, scale: int = 6) -> Image.Image:
    import segno

    buf = io.BytesIO()
    segno.make(payload, encoding="utf-8", error="m").save(buf, kind="png", scale=scale, border=4)
    return Image.open(buf).convert("RGB")


def perspective(image: Image.Image, strength: float, seed: int) -> Image.Image:
    """Seen at an angle: the corners pulled in by up to ``strength`` of the size."""
    rng = random.Random(seed)
    w, h = image.size
    d = [rng.uniform(0, strength) for _ in range(8)]
    quad = (d[0] * w, d[1] * h, d[2] * w, h - d[3] * h, w - d[4] * w, h - d[5] * h, w - d[6] * w, d[7] * h)
    return image.transform(
        (w, h), Image.Transform.QUAD, quad, Image.Resampling.BICUBIC, fillcolor=(128, 128, 128)
    )


def degrade(image: Image.Image, *, blur: float = 0.0, noise: float = 0.0, contrast: float = 1.0,
            angle: float = 0.0, seed: int = 0) -> Image.Image:  # fmt: skip
    if angle:
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(120, 120, 120))
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(image, dtype=np.float32)
    if contrast != 1.0:
        pixels = (pixels - 128) * contrast + 128
    if noise:
        pixels = pixels + np.random.default_rng(seed).normal(0, noise, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def qr_on_wall(payload: str, *, seed: int = 0, scale: int = 6, where: tuple[int, int] = (650, 450),
               size: tuple[int, int] = (1200, 900), **degradation: float) -> Image.Image:  # fmt: skip
    picture = wall(*size, seed=seed)
    code = qr_image(payload, scale)
    picture.paste(code, where)
    return degrade(picture, seed=seed, **degradation)


def painted(
    text: str, *, seed: int = 0, size: int = 90, colour: tuple[int, int, int] = (25, 25, 25)
) -> Image.Image:
    picture = wall(1400, 500, seed=seed)
    draw = ImageDraw.Draw(picture)
    draw.text((60, 180), text, font=font(size), fill=colour)
    return picture


def painted_tilted(text: str, angle: float, *, seed: int = 0, size: int = 90) -> Image.Image:
    """``painted`` photographed with the phone turned by ``angle`` degrees: the wall fills the frame."""
    picture = wall(2000, 1100, seed=seed)
    draw = ImageDraw.Draw(picture)
    draw.text((1000, 550), text, font=font(size), fill=(25, 25, 25), anchor="mm")
    turned = picture.rotate(angle, resample=Image.Resampling.BICUBIC)
    return turned.crop((300, 300, 1700, 800))


def jpeg(image: Image.Image, exif: bytes | None = None, quality: int = 88) -> bytes:
    buf = io.BytesIO()
    if exif:
        image.save(buf, "JPEG", quality=quality, exif=exif)
    else:
        image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def rational(value: float, denominator: int = 1_000_000) -> tuple[int, int]:
    return round(value * denominator), denominator


def gps_exif(lat: float, lon: float, *, minutes_only: bool = False, taken: str | None = None,
             offset: str | None = None) -> bytes:  # fmt: skip
    import piexif

    def dms(value: float) -> tuple:
        value = abs(value)
        degrees = int(value)
        minutes = (value - degrees) * 60
        if minutes_only:
            return ((degrees, 1), rational(minutes), (0, 1))
        seconds = (minutes - int(minutes)) * 60
        return ((degrees, 1), (int(minutes), 1), rational(seconds, 10_000))

    gps = {piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S", piexif.GPSIFD.GPSLatitude: dms(lat),
           piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W", piexif.GPSIFD.GPSLongitude: dms(lon)}  # fmt: skip
    exif: dict = {"GPS": gps, "0th": {}, "Exif": {}}
    if taken:
        exif["Exif"][piexif.ExifIFD.DateTimeOriginal] = taken.encode()
    if offset:
        exif["Exif"][piexif.ExifIFD.OffsetTimeOriginal] = offset.encode()
    return piexif.dump(exif)
