"""Opening hostile images safely, and the perceptual hash that finds the same picture re-posted.

Photos come from exports, citizens and the web: any of them can be a decompression bomb, a truncated
file or not an image at all. ``open_image`` refuses images above a pixel limit *before* decoding
them and turns every decoder failure into ``ImageError`` with a reason. ``dhash`` is the 64-bit
difference hash: re-encoded, resized or slightly recoloured copies of one picture differ in a few
bits, so shops that re-post each other's product photos are found (as suggestions, never merges).
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache
from typing import Any

from shekteu.wording import N_, Refusal

MAX_PIXELS = 50_000_000  # ~7000 × 7000: more than any phone photo, far less than a bomb
HASH_BITS = 64
# The only decoders hostile bytes may reach. Pillow would otherwise try every plugin it has, EPS
# among them, which runs Ghostscript. (Phones' multi-picture JPEGs open through JPEG; HEIF, iPhone
# photos, is there when pillow-heif is.)
FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "GIF", "TIFF", "BMP")
ACCEPTED = "JPEG, PNG, WebP, HEIF/HEIC, GIF, TIFF or BMP"
BANDS = 4  # 16-bit slices: two hashes within 3 bits share at least one slice exactly


class ImageError(Refusal):
    """Not a usable image: the message says why (too large, truncated, unknown format …)."""


@lru_cache(maxsize=1)
def _formats() -> tuple[str, ...]:
    """The accepted formats this install can decode. HEIC/HEIF (iPhone photos) opens when pillow-heif
    is installed (the `street` extra)."""
    from PIL import Image

    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        pass
    else:
        register_heif_opener()
    Image.init()
    return tuple(f for f in FORMATS if f in Image.OPEN)


def open_image(data: bytes, max_pixels: int = MAX_PIXELS, *, small: bool = False) -> Any:
    """The decoded image; ``small`` lets JPEG decode at a reduced scale (for hashing)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_formats())
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(N_("image of {width}×{height} pixels is over the {limit}-pixel limit"), width=width,
                                 height=height, limit=max_pixels)  # fmt: skip
            if small:
                image.draft("L", (256, 256))  # JPEG: decode at a reduced scale, much faster
            image.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(N_("not an image in an accepted format ({formats})"), formats=ACCEPTED) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(N_("decompression bomb refused: {error}"), error=str(exc)[:300]) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(N_("broken image: {error}"), error=str(exc)[:300]) from None
    return image


def dhash(data: bytes) -> int:
    """The 64-bit difference hash of an image (rows of 9 grey pixels, each bit: brighter than next)."""
    return dhash_of(open_image(data, small=True))


def dhash_of(image: Any) -> int:
    """``dhash`` of an image opened with ``open_image(data, small=True)``."""
    import numpy as np
    from PIL import Image

    grey = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def bands(value: int) -> list[int]:
    """Bucket ids of the hash's 16-bit slices (slice index in the high bits)."""
    return [(band << 16) | ((value >> (16 * band)) & 0xFFFF) for band in range(BANDS)]


def to_signed(value: int) -> int:
    """The hash as a signed 64-bit integer, for BIGINT columns."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _degrees(value: Any) -> float:
    parts = [float(v) for v in value] if isinstance(value, tuple | list) else [float(value)]
    parts += [0.0] * (3 - len(parts))
    return parts[0] + parts[1] / 60 + parts[2] / 3600


def exif_gps(image: Any) -> tuple[float, float] | None:
    """(lat, lon) from the image's EXIF GPS block; None when missing or malformed, never an error."""
    try:
        gps = image.getexif().get_ifd(0x8825)
        lat, lon = _degrees(gps[2]), _degrees(gps[4])
        if str(gps.get(1, "N")).upper().startswith("S"):
            lat = -lat
        if str(gps.get(3, "E")).upper().startswith("W"):
            lon = -lon
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat, lon) == (0.0, 0.0):
        return None
    return round(lat, 7), round(lon, 7)


def display_copy(image: Any, max_side: int = 2048) -> bytes:
    """A JPEG for people to look at: upright, at most ``max_side`` pixels, with no metadata at all."""
    from PIL import ImageOps

    upright = ImageOps.exif_transpose(image).convert("RGB")
    upright.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    upright.save(buf, "JPEG", quality=85)  # no exif= argument: nothing of the original's metadata
    return buf.getvalue()
