"""Wall photos for the demo: a QR sticker or a painted handle on plaster or brick, with GPS in EXIF,
made with Pillow (and zxing-cpp for the QR code, from the ``street`` extra) — the shapes a reporter's
phone sends, so the photo pipeline (EXIF, QR, OCR) has real work to do."""

from __future__ import annotations

import io
from importlib import resources
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from PIL.TiffImagePlugin import IFDRational


def _font(size: int) -> ImageFont.FreeTypeFont:
    path = resources.files("shekteu.dossier").joinpath("fonts/DejaVuSans-Bold.ttf")
    return ImageFont.truetype(str(path), size)


def wall(width: int = 1200, height: int = 900, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = np.array([(150, 140, 130), (170, 90, 70), (200, 200, 190), (90, 90, 95)][seed % 4])
    pixels = np.clip(base + rng.normal(0, 12, (height, width, 3)), 0, 255)
    if seed % 2:  # brick: mortar lines
        pixels[::40, :, :] *= 0.7
    return Image.fromarray(pixels.astype(np.uint8))


def qr_code(payload: str, scale: int = 6) -> Image.Image | None:
    """The QR code of ``payload``; None without zxing-cpp (the ``street`` extra)."""
    try:
        import zxingcpp
    except ImportError:
        return None
    code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode)
    image = zxingcpp.write_barcode_to_image(code, scale=scale)
    return Image.fromarray(np.asarray(image)).convert("RGB")


def with_qr(payload: str, seed: int = 0) -> Image.Image:
    picture = wall(seed=seed)
    code = qr_code(payload)
    if code is not None:
        bordered = Image.new("RGB", (code.width + 48, code.height + 48), (255, 255, 255))
        bordered.paste(code, (24, 24))
        picture.paste(bordered, (600, 380))
    ImageDraw.Draw(picture).text((80, 120), "КЛАДЫ 24/7", font=_font(80), fill=(30, 30, 30))
    return picture


def painted(text: str, seed: int = 1) -> Image.Image:
    picture = wall(1400, 500, seed=seed)
    ImageDraw.Draw(picture).text((60, 180), text, font=_font(90), fill=(25, 25, 25))
    return picture


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = ((value - degrees) * 60 - minutes) * 60
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(round(seconds * 10_000), 10_000)


def jpeg_with_gps(image: Image.Image, lat: float, lon: float, taken: str = "2026:11:28 14:05:00") -> bytes:
    """JPEG bytes whose EXIF says where (GPS IFD) and when the photo was taken."""
    exif = Image.Exif()
    exif[0x0132] = taken  # DateTime
    gps: dict[int, Any] = {1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lon >= 0 else "W", 4: _dms(lon)}
    exif[0x8825] = gps  # the GPS IFD
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()
