"""Reading painted and stencilled text from wall photos with Tesseract (kaz+rus+eng).

Tesseract runs as a subprocess with a time limit, on a preprocessed copy (greyscale, upscaled when
small, contrast-stretched, Otsu-binarised, levelled by street.deskew). Its Cyrillic models read Latin
handles as Cyrillic look-alikes ("@снег_кz" for "@cher_kz"), so handle- and link-shaped tokens are
folded back to Latin, and the photo is read a second time with the English model alone; handles split
at underscores are rejoined, and a handle followed by a short word also yields the underscore-joined
candidate. Both readings go to indicator extraction.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import numpy as np

from shekteu.street.deskew import deskew
from shekteu.street.qr import _otsu, _stretch

TIMEOUT = 60
LANGS = "kaz+rus+eng"
# Cyrillic letters that print like Latin ones, as Tesseract's Cyrillic models misread Latin handles.
FOLD = str.maketrans("аеорсухкмтвнгіјѕАЕОРСУХКМТВНІЈЅ", "aeopcyxkmtbhrijsAEOPCYXKMTBHIJS")
_CANDIDATE = re.compile(r"\S*(?:@|\.|_|/|bot|бот)\S*", re.IGNORECASE)


class OcrError(RuntimeError):
    """Tesseract is missing, failed or took too long; the message says which."""


@dataclass
class Reading:
    text: str  # the kaz+rus+eng reading, handle-shaped tokens folded to Latin
    latin: str  # the English-only re-read
    candidates: list[str]  # underscore-joined handle candidates (see underscore_variants)


def available() -> bool:
    return shutil.which("tesseract") is not None


def prepare(image: Any) -> bytes:
    from PIL import Image

    grey = image.convert("L")
    if max(grey.size) < 1500:
        scale = 1500 / max(grey.size)
        grey = grey.resize((int(grey.size[0] * scale), int(grey.size[1] * scale)), Image.LANCZOS)
    binary = _otsu(_stretch(np.asarray(grey, dtype=np.uint8)))
    if binary.mean() < 128:  # light paint on a dark wall: Tesseract wants dark text on light
        binary = 255 - binary
    binary = deskew(binary)
    buf = io.BytesIO()
    Image.fromarray(binary).save(buf, "PNG")
    return buf.getvalue()


def _tesseract(png: bytes, langs: str) -> str:
    if not available():
        raise OcrError("tesseract is not installed (Debian: apt-get install tesseract-ocr tesseract-ocr-rus "
                       "tesseract-ocr-kaz)")  # fmt: skip
    try:
        # A fixed argument list (the languages are ours), no shell; the image goes in on stdin.
        command = ["tesseract", "stdin", "stdout", "-l", langs, "--psm", "11"]
        # One OpenMP thread: Tesseract 5's threads spin against each other on a loaded 2-core machine
        # (a noisy wall photo took 26 s instead of 3.5 s), and requests run in parallel anyway.
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        done = subprocess.run(command, input=png, capture_output=True, timeout=TIMEOUT, check=False, env=env)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise OcrError(f"tesseract took longer than {TIMEOUT} s") from None
    if done.returncode != 0:
        raise OcrError(
            "tesseract failed: "
            + (done.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1][:200]
        )
    return done.stdout.decode("utf-8", errors="replace")


def fold_candidates(text: str) -> str:
    """Handle- and link-shaped tokens with Cyrillic look-alikes folded to Latin; other words kept."""
    return _CANDIDATE.sub(lambda m: m.group(0).translate(FOLD), text)


_SPLIT_HANDLE = (
    re.compile(r"(@\w*)\s+(_)"),  # "@snow _almaty": Tesseract puts spaces around underscores
    re.compile(r"(@\w*_)\s+(\w)"),  # "@snow_ almaty"
    re.compile(r"(@\w+_?)\s+(bot)\b", re.IGNORECASE),  # "@snow_almaty_ bot"
)


def join_split_handles(text: str) -> str:
    """Rejoin handles Tesseract split at underscores ("@snow _almaty_ bot" → "@snow_almaty_bot")."""
    previous = None
    while previous != text:
        previous = text
        for pattern in _SPLIT_HANDLE:
            text = pattern.sub(r"\1\2", text)
    return text


_GAP = re.compile(r"((?:@|t\.me/)[A-Za-z0-9_]{3,})\s([a-z0-9]{2,5})\b")


_BOT_SUFFIX = re.compile(r"(@[A-Za-z0-9_]*[A-Za-z0-9])(bot)\b", re.IGNORECASE)


def underscore_variants(text: str) -> list[str]:
    """Handles with a short word after a space, joined by "_" ("@kristall kz" → "@kristall_kz"), and
    bot names with "_bot" ("@sneg24bot" → "@sneg24_bot"): Tesseract often reads an underscore as a
    space or drops it. These are extra candidates, not corrections."""
    joined = [f"{m.group(1)}_{m.group(2)}" for m in _GAP.finditer(text)]
    return joined + [f"{m.group(1)}_{m.group(2)}" for m in _BOT_SUFFIX.finditer(text)]


def read(image: Any) -> Reading:
    png = prepare(image)
    text = " ".join(_tesseract(png, LANGS).split())
    latin = " ".join(_tesseract(png, "eng").split())
    text, latin = join_split_handles(fold_candidates(text)), join_split_handles(latin)
    return Reading(text, latin, list(dict.fromkeys(underscore_variants(text) + underscore_variants(latin))))
