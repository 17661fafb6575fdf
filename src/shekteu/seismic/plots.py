"""What an event looked like, drawn for the dashboard: the waveform of each station and the
spectrogram of the loudest one, as PNG images made with Pillow from the event's stored 100 Hz traces.

Drawn server-side so the page needs no plotting library and shows the same picture in any browser;
nothing from outside reaches the image but numbers.
"""

from __future__ import annotations

import io

import numpy as np

from shekteu.seismic.features import RATE

WIDTH = 900
ROW = 90


def unpack(blob: bytes | None) -> dict[str, np.ndarray]:
    """The traces stored with an event (station → 100 Hz samples); empty if none were kept."""
    if not blob:
        return {}
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k.replace("_", "."): z[k].astype(np.float64) for k in z.files}


def _png(img: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)  # type: ignore[attr-defined]
    return buf.getvalue()


def waveform_png(traces: dict[str, np.ndarray]) -> bytes:
    """One row per station: the trace (demeaned, scaled to its row), a grey line per second."""
    from PIL import Image, ImageDraw

    rows = max(1, len(traces))
    img = Image.new("RGB", (WIDTH, ROW * rows + 10), "white")
    draw = ImageDraw.Draw(img)
    for k, (name, x) in enumerate(traces.items()):
        top, mid = k * ROW + 5, k * ROW + 5 + ROW // 2
        n = len(x)
        if n < 2:
            continue
        for s in range(int(n / RATE) + 1):
            px = int(s * RATE / n * (WIDTH - 1))
            draw.line([(px, top), (px, top + ROW - 10)], fill=(232, 232, 232))
        x = x - np.median(x)
        scale = float(np.max(np.abs(x))) or 1.0
        cols = np.linspace(0, n, WIDTH + 1).astype(int)
        for px in range(WIDTH):
            seg = x[cols[px] : max(cols[px] + 1, cols[px + 1])]
            lo, hi = float(seg.min()) / scale, float(seg.max()) / scale
            draw.line([(px, mid - hi * (ROW / 2 - 8)), (px, mid - lo * (ROW / 2 - 8))], fill=(20, 60, 140))
        draw.text((4, top), name, fill=(0, 0, 0))
    return _png(img)


def spectrogram_png(traces: dict[str, np.ndarray]) -> bytes:
    """The loudest station's spectrogram, 0-50 Hz bottom to top, dB on a dark-to-light scale."""
    from PIL import Image
    from scipy.signal import spectrogram

    if not traces:
        return _png(Image.new("RGB", (WIDTH, 160), "white"))
    x = max(traces.values(), key=lambda v: float(np.std(v)) if len(v) else 0.0)
    if len(x) < 64:
        return _png(Image.new("RGB", (WIDTH, 160), "white"))
    _, _, sxx = spectrogram(x - x.mean(), fs=RATE, nperseg=64, noverlap=48)
    db = 10 * np.log10(sxx + 1e-20)
    lo, hi = np.percentile(db, 5), np.percentile(db, 99.5)
    v = np.clip((db - lo) / max(hi - lo, 1e-9), 0, 1)[::-1]
    rgb = np.stack([255 * v**0.6, 255 * v**1.5, 80 + 120 * (1 - v)], axis=-1).astype(np.uint8)
    img = Image.fromarray(rgb, "RGB").resize((WIDTH, 160), Image.Resampling.NEAREST)
    return _png(img)
