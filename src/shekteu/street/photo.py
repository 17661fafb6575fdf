"""`shekteu photo`: everything one wall photo tells — where, when, QR codes, painted text, indicators.

Any file may be hostile: size-limited, opened with the pixel limit, every failure reported in the
result's ``error`` (one file's problem never stops the others). EXIF GPS handles signed rationals,
N/S/E/W references and minutes-only forms; a missing or malformed block is ``null``. The time taken
is EXIF ``DateTimeOriginal`` (with its offset when given). The orientation is applied before QR and
OCR. HEIC/HEIF photos (iPhones) open when pillow-heif is installed (``images.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from shekteu.images import ImageError, exif_gps, open_image
from shekteu.indicators.extract import ADDRESS_TYPES, extract
from shekteu.street import ocr, qr

MAX_FILE_BYTES = 50_000_000
HANDLE_TYPES = (*ADDRESS_TYPES, "phone", "email")


@dataclass
class PhotoResult:
    file: str
    gps: dict[str, float] | None = None
    taken_at: str | None = None
    qr: list[str] = field(default_factory=list)
    ocr_text: str | None = None
    indicators: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "gps": self.gps, "taken_at": self.taken_at, "qr": self.qr,
                "ocr_text": self.ocr_text, "indicators": self.indicators, "error": self.error}  # fmt: skip


def taken_at(image: Any) -> str | None:
    try:
        exif = image.getexif().get_ifd(0x8769)
        raw = str(exif.get(0x9003) or image.getexif().get(0x0132) or "").strip("\x00 ")
        moment = datetime.strptime(raw, "%Y:%m:%d %H:%M:%S")
    except (ValueError, TypeError, AttributeError, KeyError):
        return None
    offset = str(exif.get(0x9011) or "").strip("\x00 ")
    if len(offset) == 6 and offset[0] in "+-" and offset[3] == ":":
        try:
            sign = 1 if offset[0] == "+" else -1
            delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
            return moment.replace(tzinfo=timezone(sign * delta)).isoformat()
        except ValueError:
            pass
    return moment.isoformat()  # local time of the camera, zone unknown


def analyse_bytes(name: str, data: bytes, *, run_ocr: bool = True) -> PhotoResult:
    """What one photo shows; any failure is the result's ``error``, never an exception, so one odd
    file (flat, one pixel, a decoder quirk) does not take a batch or the tip queue with it."""
    result = PhotoResult(file=name)
    try:
        return _analyse(result, data, run_ocr)
    except Exception as exc:
        result.error = f"could not read the photo: {type(exc).__name__}: {str(exc)[:200]}"
        return result


def _analyse(result: PhotoResult, data: bytes, run_ocr: bool) -> PhotoResult:
    from PIL import ImageOps

    try:
        image = open_image(data)
    except ImageError as exc:
        result.error = str(exc)
        return result
    gps = exif_gps(image)
    result.gps = {"lat": gps[0], "lon": gps[1]} if gps else None
    result.taken_at = taken_at(image)
    try:
        upright = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, ValueError) as exc:
        result.error = f"broken image: {exc}"
        return result
    try:
        result.qr = [d.text for d in qr.decode(upright)]
    except ModuleNotFoundError as exc:
        result.error = (
            f"QR reading needs the street extra: pip install 'shekteu[street]' ({exc.name} missing)"
        )
    texts = list(result.qr)
    if run_ocr:
        try:
            reading = ocr.read(upright)
            result.ocr_text = reading.text
            texts += [reading.text, reading.latin, " ".join(reading.candidates)]
        except ocr.OcrError as exc:
            result.error = str(exc)
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for text in texts:
        for found in extract(text):
            if found.type in HANDLE_TYPES and found.valid:
                seen.setdefault((found.type, found.normalized), {"type": found.type, "value": found.value,
                                                                 "normalized": found.normalized})  # fmt: skip
    result.indicators = list(seen.values())
    return result


def analyse_file(path: Path, *, run_ocr: bool = True) -> PhotoResult:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return PhotoResult(file=str(path), error=f"{size} bytes; at most {MAX_FILE_BYTES}")
        data = path.read_bytes()
    except OSError as exc:
        return PhotoResult(file=str(path), error=f"cannot read: {exc.strerror or exc}")
    return analyse_bytes(str(path), data, run_ocr=run_ocr)
