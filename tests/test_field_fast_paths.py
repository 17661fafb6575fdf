"""The field pipeline's fast paths give exactly what the plain ways give: stored counts pooled a strip
at a time, gaps closed by shifts, holes filled by labelling, geometries projected in one PROJ call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rasterio")

from shekteu.field.features import network_input
from shekteu.field.imagery import open_scenes
from shekteu.field.model import close_gaps, fill_holes
from tests.fieldrasters import SHU, parcel, utm_origin, write_tif


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_stored_counts_pool_as_reflectance_does(tmp_path: Path, dtype: str) -> None:
    data, _ = parcel("20011016")
    data = data[:, : 4 * 27, :200].astype(dtype)
    if dtype == "uint16":
        data = data * np.uint16(257)  # the same scene in 16-bit counts
    data[:, 5:40, 7:30] = 0  # nodata
    raster = write_tif(tmp_path / "a.tif", data, epsg=32643, origin=utm_origin(*SHU), res=0.6)
    (scene,) = open_scenes([str(raster)])
    h, w = data.shape[1:]
    counts = scene.read(scene.layers[0], 0, 0, h, w, 8, raw=True)
    assert counts["red"].dtype == np.dtype(dtype)
    floats = scene.read(scene.layers[0], 0, 0, h, w, 8)
    assert floats["red"].dtype == np.float32
    for a, b in zip(network_input(counts, 4), network_input(floats, 4), strict=True):
        assert np.array_equal(a, b)
    x, usable, _, _ = network_input(counts, 4)
    assert not usable[4, 4] and usable[-4, -4] and x.shape == (6, 2 * (h + 16) // 4, 2 * (w + 16) // 4)
    assert 0 < x[0].max() <= 1


def _plain_pooling(b: dict[str, np.ndarray], k: int, sample_ndvi: float) -> list[np.ndarray]:
    """What the one-pass pooling computes, written the plain way: float64 means over reshaped blocks."""
    from shekteu.field.imagery import reflectance

    valid = b["valid"].astype(np.float64)
    f = {n: reflectance(b[n]) for n in ("red", "green", "blue", "nir")}  # float32, as stored reflectance
    den = f["nir"] + f["red"]
    ndvi = np.where(den > 0, (f["nir"] - f["red"]) / np.where(den > 0, den, 1), 0)  # float32: 0.25 is a borderline
    is_green = (ndvi > 0.25).astype(float)
    f, ndvi = {n: a.astype(np.float64) for n, a in f.items()}, ndvi.astype(np.float64)
    half = k // 2 if k % 2 == 0 else k

    def sums(a: np.ndarray, n: int) -> np.ndarray:
        h, w = a.shape[0] // n, a.shape[1] // n
        return (a * valid)[: h * n, : w * n].reshape(h, n, w, n).sum(axis=(1, 3))

    count = sums(np.ones_like(valid), half)
    mean = [sums(f[n], half) / np.maximum(count, 1) for n in ("red", "green", "blue", "nir")]
    m = sums(ndvi, half) / np.maximum(count, 1)
    spread = 4 * np.sqrt(np.maximum(sums(ndvi**2, half) / np.maximum(count, 1) - m**2, 0))
    x = np.stack([*mean, m, spread])
    if half == k:
        x = x.repeat(2, axis=1).repeat(2, axis=2)
    cells = sums(np.ones_like(valid), k)
    step = max(1, k // 2)
    raw = {n: b[n][::step, ::step].astype(np.float64) for n in ("red", "nir")}
    green = (raw["nir"] - raw["red"] > sample_ndvi * (raw["nir"] + raw["red"])) & b["valid"][::step, ::step]
    per = k // step
    r, c = green.shape[0] // per, green.shape[1] // per
    sampled = green[: r * per, : c * per].reshape(r, per, c, per).any(axis=(1, 3))
    return [x, cells >= k * k / 2, sums(ndvi, k) / np.maximum(cells, 1),
            sums(is_green, k) / np.maximum(cells, 1), sampled]  # fmt: skip


@pytest.mark.parametrize(("k", "dtype"), [(4, "uint8"), (4, "uint16"), (4, "float32"), (3, "uint8"), (1, "uint8")])
def test_one_pass_pooling_gives_what_plain_block_means_give(k: int, dtype: str) -> None:
    """The compiled pooling (one pass per window) against block means written plainly: a real parcel
    with a nodata corner and a strip of pixels where less than half of each cell is valid."""
    from shekteu.field.features import pooled
    from shekteu.field.prescreen import GREEN_NDVI

    data, _ = parcel("20011016")
    h, w = (n // (2 * k) * 2 * k for n in data.shape[1:])
    data = data[:, :h, :w]
    bands = {n: a.astype(dtype) for n, a in zip(("red", "green", "blue", "nir"), data, strict=True)}
    if dtype == "uint16":
        bands = {n: a * np.uint16(257) for n, a in bands.items()}
    if dtype == "float32":
        bands = {n: a / np.float32(255) for n, a in bands.items()}
    valid = data.sum(0) > 0
    valid[: 3 * k, : 5 * k] = False
    valid[6 * k : 8 * k, :: 2] = False  # every other pixel
    bands["valid"] = valid
    got = pooled(bands, k)
    want = _plain_pooling(bands, k, GREEN_NDVI)
    assert got[0].shape == (6, 2 * h // k, 2 * w // k)
    for name, a, b in zip(("input", "usable", "ndvi", "green", "sampled"), got, want, strict=True):
        assert a.shape == b.shape, name
        if a.dtype == bool:
            assert np.array_equal(a, b), name
        elif name == "input":  # the spread is a square root of a float32 difference of squares
            assert np.allclose(a[:5], b[:5], atol=2e-6) and np.allclose(a[5], b[5], atol=1e-3)
        else:
            assert np.allclose(a, b, atol=2e-6), (name, np.abs(a - b).max())
    assert got[4].any() and got[1].any() and not got[1][0, 0]
    ragged = {n: np.pad(a, ((0, k - 1 if k > 1 else 0), (0, 1 if k > 1 else 0))) for n, a in bands.items()}
    for a, b in zip(pooled(ragged, k), got, strict=True):  # a ragged edge is left out, nothing else changes
        assert np.array_equal(a, b)


def test_closing_by_shifts_and_filling_holes_by_labels_match_scipy() -> None:
    from scipy import ndimage

    rng = np.random.default_rng(3)
    for _ in range(300):
        h, w = rng.integers(1, 50, 2)
        mask = rng.random((h, w)) < rng.uniform(0.1, 0.9)
        assert np.array_equal(fill_holes(mask), ndimage.binary_fill_holes(mask))
        assert np.array_equal(close_gaps(mask), ndimage.binary_closing(mask))
    ring = np.zeros((7, 7), bool)
    ring[1:6, 1:6] = True
    ring[3, 3] = False  # a hole
    ring[2, 4] = False
    ring[1, 4] = False  # a bay open to the border through a gap: not a hole
    filled = fill_holes(ring)
    assert filled[3, 3] and not filled[2, 4]


def test_reprojection_projects_every_coordinate_of_every_ring() -> None:
    from pyproj import CRS
    from shapely.geometry import MultiPolygon, Polygon

    from shekteu.field.sites import reproject, transformers

    x0, y0 = utm_origin(*SHU)
    hole = [(x0 + 10, y0 - 10), (x0 + 20, y0 - 10), (x0 + 20, y0 - 20), (x0 + 10, y0 - 10)]
    square = Polygon([(x0, y0), (x0 + 100, y0), (x0 + 100, y0 - 100), (x0, y0 - 100)], [hole])
    other = Polygon([(x0 + 300, y0), (x0 + 350, y0), (x0 + 350, y0 - 40)])
    _, to_lonlat = transformers(CRS.from_epsg(32643).to_wkt())
    got = reproject(to_lonlat, MultiPolygon([square, other]))
    assert got.geom_type == "MultiPolygon" and len(got.geoms) == 2
    assert len(got.geoms[0].interiors) == 1
    for before, after in (
        (square.interiors[0], got.geoms[0].interiors[0]),
        (other.exterior, got.geoms[1].exterior),
    ):
        for (x, y), (lon, lat) in zip(before.coords, after.coords, strict=True):
            assert (lon, lat) == to_lonlat.transform(x, y)
    assert 73 < got.centroid.x < 74 and 43 < got.centroid.y < 44


def test_the_prescreen_scores_vegetated_cells_exactly_as_a_whole_window_and_skips_bare_land() -> None:
    """A real parcel set in bare steppe and water: the network runs only on strips near vegetation,
    and every cell it scores gets the whole-window answer (same halo, same pooling grid)."""
    import rasterio

    from shekteu.field.features import pooled
    from shekteu.field.model import load
    from shekteu.field.network import HALO_CELLS, UNIT_CELLS
    from shekteu.field.prescreen import boxes, needed_cells, screened
    from tests.fieldrasters import NAIP

    with rasterio.open(next(NAIP.glob("*.tif"))) as ds:
        parcel = ds.read()
    k, h = 4, HALO_CELLS
    rows, cols = (-(-n // (k * UNIT_CELLS)) * UNIT_CELLS for n in parcel.shape[1:])
    gap = 200  # bare cells between two copies of the parcel: more than two halos and two reaches
    big_r, big_c = rows + 2 * h + 400, 2 * cols + 2 * h + gap + 160  # bare land below and to the right
    rng = np.random.default_rng(0)
    data = np.clip(np.array([140, 125, 105, 149])[:, None, None] + rng.normal(0, 6, (1, big_r * k, big_c * k)), 1, 255)
    data = data.astype(np.uint8)
    data[:, (rows + 2 * h + 200) * k :] = np.array([30, 40, 50, 14], np.uint8)[:, None, None]  # a lake
    inside = parcel.sum(0) > 0
    for c0 in (h * k, (h + cols + gap) * k):
        rs, cs = slice(h * k, h * k + parcel.shape[1]), slice(c0, c0 + parcel.shape[2])
        data[:, rs, cs] = np.where(inside, parcel, data[:, rs, cs])
    bands = dict(zip(("red", "green", "blue", "nir"), data, strict=True))
    bands["valid"] = np.ones(data.shape[1:], bool)

    x, usable, _, _, sampled = pooled(bands, k)
    need = needed_cells(sampled)
    runs = boxes(need, UNIT_CELLS, h)
    assert len(runs) == 2 and runs[0][:2] == runs[1][:2]  # one row run, split where the columns are bare
    model = load()
    scored = []

    def run(part: np.ndarray, ok: np.ndarray) -> np.ndarray:
        scored.append(part.shape[1] * part.shape[2] / 4)
        return model.probability(part, ok)

    fast = screened(run, x, usable, need, runs, h)
    whole = model.probability(x, usable)
    core = (slice(h, big_r - h), slice(h, big_c - h))
    kept = need[core] & usable[core]
    assert kept.any() and not kept.all()
    assert np.allclose(fast[core][kept], whole[core][kept], atol=1e-5)
    assert (fast[~need] == 0).all()
    assert sum(scored) < 0.7 * big_r * big_c  # the bare strips were never run
    empty = {n: a[(rows + 2 * h + 10) * k :, : 200 * k] for n, a in bands.items()}  # soil and lake only
    nothing = needed_cells(pooled(empty, k)[4])
    assert not nothing.any() and boxes(nothing, UNIT_CELLS, h) == []


def test_a_raster_with_data_only_between_the_sampled_windows_is_not_called_empty(tmp_path: Path) -> None:
    """The emptiness check reads a grid of small windows first and the whole mask only when none has
    data: a patch of data that no window touches is still found, and an all-nodata file refused."""
    from shekteu.field import FieldError
    from shekteu.field.imagery import SAMPLE_PIXELS, SAMPLE_WINDOWS, open_scenes

    side = SAMPLE_PIXELS * SAMPLE_WINDOWS * 2
    data = np.zeros((4, side, side), np.uint8)
    data[:, SAMPLE_PIXELS + 40 : SAMPLE_PIXELS + 60, SAMPLE_PIXELS + 40 : SAMPLE_PIXELS + 60] = 120  # between windows
    patch = write_tif(tmp_path / "patch.tif", data, epsg=32643, origin=utm_origin(*SHU), res=0.6, nodata=0)
    (scene,) = open_scenes([str(patch)])
    assert scene.width == side
    data[:] = 0
    empty = write_tif(tmp_path / "empty.tif", data, epsg=32643, origin=utm_origin(*SHU), res=0.6, nodata=0)
    with pytest.raises(FieldError, match="no valid pixels"):
        open_scenes([str(empty)])


def test_locating_many_points_at_once_gives_what_one_at_a_time_gives() -> None:
    """Sites are placed in districts all at once (each area's rings against all points in its box):
    the same area as the one-point lookup for points across the country, on borders' edges of the
    Shu valley, and outside it (none)."""
    from shekteu.geo.boundaries import load, locate, locate_many

    rng = np.random.default_rng(5)
    points = list(zip(rng.uniform(40, 56, 1500), rng.uniform(46, 88, 1500), strict=True))
    points += list(zip(rng.uniform(43.3, 44.1, 1500), rng.uniform(73.2, 74.5, 1500), strict=True))
    ring = load()[0].rings[0]
    points += [(float(lat), float(lon)) for lon, lat in ring[:200]]  # on a border's vertices
    points += [(10.0, 10.0)]
    one = [locate(lat, lon) for lat, lon in points]
    many = locate_many(points, chunk=97)  # chunks that do not divide the candidates evenly
    assert all(a is b for a, b in zip(one, many, strict=True))
    assert sum(a is not None for a in one) > 1000 and many[-1] is None and locate_many([]) == []
