"""`shekteu photo`: EXIF, QR with fallbacks and no false decodes, OCR handle recovery, hostile files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from shekteu.street import qr
from shekteu.street.deskew import skew_angle
from shekteu.street.ocr import fold_candidates, join_split_handles, underscore_variants
from shekteu.street.photo import analyse_bytes
from tests.test_cli import lines, run
from tests.wallphotos import degrade, gps_exif, jpeg, painted, painted_tilted, perspective, qr_on_wall, wall

PAYLOAD = "https://t.me/snow_almaty_bot"


def test_a_clean_qr_is_read_by_plain_zxing() -> None:
    image = qr_on_wall(PAYLOAD)
    assert [d.text for d in qr.decode_plain(image)] == [PAYLOAD]


def test_fallbacks_read_degraded_codes() -> None:
    hard = [  # plain zxing-cpp reads none of these
        qr_on_wall(PAYLOAD, seed=2, blur=2.2, scale=4),
        qr_on_wall(PAYLOAD, seed=2, blur=3, scale=6),
        qr_on_wall(PAYLOAD, seed=5, blur=2.5, scale=5, noise=5),
    ]
    for n, image in enumerate(hard):
        assert qr.decode_plain(image) == [], n
        found = qr.decode(image)
        assert [d.text for d in found] == [PAYLOAD] and found[0].step != "plain", n


def test_deconvolution_reads_codes_blurred_past_sharpening() -> None:
    hard = [  # 4-pixel modules blurred by 2.2–3 pixels: neither plain zxing nor unsharp masks read them
        qr_on_wall(PAYLOAD, seed=11, blur=3.0, scale=4),
        qr_on_wall(PAYLOAD, seed=12, blur=2.2, scale=4, contrast=0.15),
        qr_on_wall(PAYLOAD, seed=13, blur=2.2, scale=4, noise=8),
        # a 12-megapixel phone photo: deblurred on a copy half the size, where the blur is 2.2 pixels
        qr_on_wall(PAYLOAD, seed=11, blur=4.4, scale=8, size=(4000, 3000), where=(2100, 1500)),
    ]
    for n, image in enumerate(hard):
        assert qr.decode_plain(image) == [], n
        found = qr.decode(image)
        assert [(d.text, d.step) for d in found] == [(PAYLOAD, "deblur")], n


def test_codes_seen_at_an_angle_and_tilted_are_read() -> None:
    for seed in range(3):
        image = degrade(
            perspective(qr_on_wall(PAYLOAD, seed=seed, scale=5), 0.3, seed), blur=1.5, noise=6, angle=25
        )
        assert [d.text for d in qr.decode(image)] == [PAYLOAD], seed


NO_CODES = {  # every fallback runs on each (about 2.5 s a photo), so they are split across test workers
    "walls": lambda: [wall(seed=s) for s in range(4)],
    "more walls": lambda: [wall(seed=s) for s in range(4, 8)],
    "painted text": lambda: [painted("МЕФ @shop_bot 24/7", seed=s) for s in range(4)],
    "noisy walls": lambda: [degrade(wall(seed=s), noise=30, contrast=2.0) for s in range(4)],
}


@pytest.mark.parametrize("kind", NO_CODES)
def test_no_false_decodes_on_walls_and_text_without_codes(kind: str) -> None:
    images = NO_CODES[kind]()
    assert [qr.decode(i) for i in images] == [[]] * len(images)


@pytest.mark.parametrize(
    ("lat", "lon", "minutes_only"),
    [(43.238949, 76.889709, False), (-33.875212, -151.208333, False), (51.128207, 71.430411, True)],
)
def test_exif_gps_is_exact(lat: float, lon: float, minutes_only: bool) -> None:
    data = jpeg(wall(400, 300), gps_exif(lat, lon, minutes_only=minutes_only, taken="2026:11:20 14:03:07",
                                         offset="+05:00"))  # fmt: skip
    result = analyse_bytes("p.jpg", data, run_ocr=False)
    assert result.error is None
    assert abs(result.gps["lat"] - lat) < 1e-6 and abs(result.gps["lon"] - lon) < 1e-6
    assert result.taken_at == "2026-11-20T14:03:07+05:00"


def test_malformed_gps_is_null_not_a_crash() -> None:
    import piexif

    broken = piexif.dump({"GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((43, 0), (0, 0), (0, 0)),
                                  piexif.GPSIFD.GPSLongitude: ((400, 1), (0, 1), (0, 1))}})  # fmt: skip
    result = analyse_bytes("p.jpg", jpeg(wall(200, 200), broken), run_ocr=False)
    assert result.error is None and result.gps is None and result.taken_at is None


def test_heic_photos_are_read() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    buf = io.BytesIO()
    wall(320, 240).save(buf, "HEIF", exif=gps_exif(43.25, 76.95))
    result = analyse_bytes("p.heic", buf.getvalue(), run_ocr=False)
    assert result.error is None and result.gps == {"lat": 43.25, "lon": 76.95}


def test_ocr_recovers_latin_handles_from_a_painted_wall(tesseract: None) -> None:
    result = analyse_bytes("wall.jpg", jpeg(painted("@snow_almaty_bot")))
    assert result.error is None
    assert {
        "type": "telegram_bot",
        "value": "@snow_almaty_bot",
        "normalized": "@snow_almaty_bot",
    } in result.indicators


@pytest.mark.parametrize("angle", [-14.0, -6.0, 9.0])
def test_skew_is_measured_from_the_text(angle: float) -> None:
    grey = np.asarray(painted_tilted("@kristall_kz 24/7", angle, seed=2).convert("L"))
    binary = np.where(grey < 80, 0, 255).astype(np.uint8)
    assert abs(skew_angle(binary) + angle) <= 0.5
    assert skew_angle(np.full((300, 900), 255, np.uint8)) == 0.0  # nothing to measure: left as it is


def test_ocr_reads_a_handle_photographed_at_an_angle(tesseract: None) -> None:
    result = analyse_bytes("tilted.jpg", jpeg(painted_tilted("@snow_almaty_bot", 12, seed=4)))
    assert result.error is None
    assert "@snow_almaty_bot" in [i["normalized"] for i in result.indicators]


def test_handle_folding_and_rejoining() -> None:
    assert fold_candidates("Пишите @ѕnеg_kz или мефедрон") == "Пишите @sneg_kz или мефедрон"
    assert join_split_handles("@snow _almaty_ bot клады") == "@snow_almaty_bot клады"
    assert underscore_variants("пиши @kristall kz или t.me/mef shym сегодня") == [
        "@kristall_kz",
        "t.me/mef_shym",
    ]


def test_hostile_files_give_errors_and_the_cli_goes_on(tmp_path: Path, env: dict[str, str]) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    good = jpeg(qr_on_wall(PAYLOAD), gps_exif(43.2, 76.9))
    files = {
        "good.jpg": good,
        "truncated.jpg": good[: len(good) // 3],
        "empty.jpg": b"",
        "text.jpg": b"just some text, not a picture",
        "bomb.png": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 90_000, 90_000, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""),
    }  # fmt: skip
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    paths = [str(tmp_path / n) for n in files] + [str(tmp_path / "missing.jpg")]
    result = run(env, "photo", "--json", "--no-ocr", *paths)
    assert result.returncode == 0, result.stderr
    rows = {Path(r["file"]).name: r for r in lines(result.stdout)}
    assert list(rows) == [Path(p).name for p in paths]
    assert set(rows["good.jpg"]) == {"file", "gps", "taken_at", "qr", "ocr_text", "indicators", "error"}
    assert rows["good.jpg"]["qr"] == [PAYLOAD] and rows["good.jpg"]["error"] is None
    assert {"type": "telegram_bot", "value": "snow_almaty_bot", "normalized": "@snow_almaty_bot"} in rows[
        "good.jpg"
    ]["indicators"]
    for name in ("truncated.jpg", "empty.jpg", "text.jpg", "bomb.png", "missing.jpg"):
        assert rows[name]["error"], name
    assert "bomb" in rows["bomb.png"]["error"] and "Traceback" not in result.stderr
