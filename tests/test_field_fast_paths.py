"""The field pipeline's fast paths give exactly what the plain ways give: stored counts pooled a strip
at a time, gaps closed by shifts, holes filled by labelling, geometries projected in one PROJ call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rasterio")

from shekteu.field.features import STRIP_CELLS, network_input
from shekteu.field.imagery import open_scenes
from shekteu.field.model import close_gaps, fill_holes
from tests.fieldrasters import SHU, parcel, utm_origin, write_tif


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_stored_counts_pool_as_reflectance_does(tmp_path: Path, dtype: str) -> None:
    data, _ = parcel("20011016")
    data = data[:, : 4 * (3 * STRIP_CELLS + 3), :200].astype(dtype)  # three strips and part of a fourth
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
    """A real parcel set in bare steppe and water: only rows near vegetation are pooled, the network
    runs only on strips near it, and every cell it scores gets the whole-window answer (same halo,
    same pooling grid); the per-cell NDVI and usable mask are those of the full pooling everywhere."""
    import rasterio

    from shekteu.field.features import network_input
    from shekteu.field.model import load
    from shekteu.field.network import HALO_CELLS, UNIT_CELLS
    from shekteu.field.prescreen import boxes, needed_cells, needed_rows, screened
    from tests.fieldrasters import NAIP

    with rasterio.open(next(NAIP.glob("*.tif"))) as ds:
        parcel = ds.read()
    k, h = 4, HALO_CELLS
    rows, cols = (-(-n // (k * UNIT_CELLS)) * UNIT_CELLS for n in parcel.shape[1:])
    big_r, big_c = rows + 2 * h + 400, cols + 2 * h + 160  # bare land below and to the right
    rng = np.random.default_rng(0)
    data = np.clip(np.array([140, 125, 105, 149])[:, None, None] + rng.normal(0, 6, (1, big_r * k, big_c * k)), 1, 255)
    data = data.astype(np.uint8)
    data[:, (rows + 2 * h + 200) * k :] = np.array([30, 40, 50, 14], np.uint8)[:, None, None]  # a lake
    inside = parcel.sum(0) > 0
    data[:, h * k : h * k + parcel.shape[1], h * k : h * k + parcel.shape[2]] = np.where(
        inside, parcel, data[:, h * k : h * k + parcel.shape[1], h * k : h * k + parcel.shape[2]])  # fmt: skip
    bands = dict(zip(("red", "green", "blue", "nir"), data, strict=True))
    bands["valid"] = np.ones(data.shape[1:], bool)

    need = needed_cells(bands, k)
    runs = boxes(need, UNIT_CELLS, h)
    x, usable, ndvi, green = network_input(bands, k, needed_rows(runs, need.shape[0]))
    full_x, full_usable, full_ndvi, full_green = network_input(bands, k)
    assert np.array_equal(usable, full_usable)
    assert np.allclose(ndvi, full_ndvi, atol=1e-5) and np.allclose(green, full_green, atol=1e-5)
    model = load()
    scored = []

    def run(part: np.ndarray, ok: np.ndarray) -> np.ndarray:
        scored.append(part.shape[1] * part.shape[2] / 4)
        return model.probability(part, ok)

    fast = screened(run, x, usable, need, runs, h)
    whole = model.probability(full_x, full_usable)
    core = (slice(h, big_r - h), slice(h, big_c - h))
    kept = need[core] & usable[core]
    assert kept.any() and not kept.all()
    assert np.allclose(fast[core][kept], whole[core][kept], atol=1e-5)
    assert (fast[~need] == 0).all()
    assert sum(scored) < 0.7 * big_r * big_c  # the bare strips were never run
    empty = {n: a[(rows + 2 * h + 10) * k :, : 200 * k] for n, a in bands.items()}  # soil and lake only
    assert not needed_cells(empty, k).any() and boxes(needed_cells(empty, k), UNIT_CELLS, h) == []
