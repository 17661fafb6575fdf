"""Straightening tilted text before OCR: phones are rarely held level to a wall.

Tesseract reads lines that are level to within a degree or two; a handle painted or photographed at
5° already loses most of its characters, at 10° nearly all of them. The skew is found the classic way,
by projection profiles: the ink image is rotated through candidate angles, and at the right one the
rows of text and the gaps between them make the row sums change most sharply. Mortar lines and
kerbs are level with the text in the same photo, so they agree with it rather than mislead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_ANGLE = 30.0  # degrees either way; beyond that a "line" is as likely a column
PROFILE_SIDE = (
    600  # the angle is searched on a copy this wide: the cost stays fixed, the angle does not change
)


def _sharpness(ink: Any, angle: float) -> float:
    from PIL import Image

    rows = np.asarray(ink.rotate(angle, resample=Image.Resampling.BILINEAR), dtype=np.float32).sum(axis=1)
    return float(np.square(np.diff(rows)).sum())


def skew_angle(binary: np.ndarray) -> float:
    """The rotation in degrees (counter-clockwise, as PIL's ``rotate``) that makes dark text on a light
    ground level: a 1° search over ±MAX_ANGLE, then 0.1° around the best. 0.0 for a blank image."""
    from PIL import Image

    ink = Image.fromarray(np.where(binary < 128, 255, 0).astype(np.uint8))
    scale = PROFILE_SIDE / max(ink.size)
    if scale < 1:
        ink = ink.resize(
            (max(1, round(ink.size[0] * scale)), max(1, round(ink.size[1] * scale))), Image.Resampling.BOX
        )
    if not np.asarray(ink).any():
        return 0.0
    coarse = max(np.arange(-MAX_ANGLE, MAX_ANGLE + 0.5, 1.0), key=lambda a: _sharpness(ink, float(a)))
    fine = max(np.arange(coarse - 1.0, coarse + 1.05, 0.1), key=lambda a: _sharpness(ink, float(a)))
    return round(float(fine), 1)


def deskew(binary: np.ndarray, *, min_angle: float = 0.5) -> np.ndarray:
    """``binary`` (dark text on white) rotated level; unchanged when the skew is under ``min_angle``."""
    from PIL import Image

    angle = skew_angle(binary)
    if abs(angle) < min_angle:
        return binary
    rotated = Image.fromarray(binary).rotate(
        angle, resample=Image.Resampling.NEAREST, expand=True, fillcolor=255
    )
    return np.asarray(rotated, dtype=np.uint8)
