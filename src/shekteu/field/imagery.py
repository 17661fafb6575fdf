"""Open aerial and Sentinel-2 rasters, check them, and read them in windows with a halo.

Two kinds of input are accepted. An aerial/drone orthomosaic is one GeoTIFF with 4 bands (red, green,
blue, near-infrared; NAIP order unless the band descriptions say otherwise). Sentinel-2 L2A comes as
band files (``…_B04_10m.jp2``, ``B08.tif``, ``SCL.tif`` …) grouped by the date in their names; bands at
20 m (B05, B11, SCL) are resampled onto the 10 m grid when read, and L2A values lose the +1000
offset that processing baseline 04.00 (January 2022) added. Everything is read window by window
so memory stays bounded whatever the raster size; anything wrong with a file (corrupt, no CRS, wrong
band count, grids that do not line up) is a `FieldError` naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.field import FieldError

S2_BAND = re.compile(r"(?:^|[_.\-])(B0[2-8]|B8A|B1[12]|SCL)(?:[_.\-]|$)", re.IGNORECASE)
DATE = re.compile(r"(?<!\d)(20\d\d)(0[1-9]|1[0-2])([0-2]\d|3[01])(?!\d)")
AERIAL_ORDER = ("red", "green", "blue", "nir")
S2_NAMES = {
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge",
    "B08": "nir",
    "B11": "swir",
    "SCL": "scl",
}
# SCL classes kept: 4 vegetation, 5 bare soil, 6 water, 7 unclassified. Masked: no data, saturated,
# dark area/shadow, cloud shadow, clouds (medium, high), thin cirrus, snow.
SCL_CLEAR = np.array([False, False, False, False, True, True, True, True, False, False, False, False])
MAX_PIXELS = 200_000 * 200_000


@dataclass
class Layer:
    """One date of a scene: where each band comes from (path, band index in that file)."""

    when: date | None
    bands: dict[str, tuple[str, int]]


@dataclass
class Scene:
    """A raster grid (CRS, transform, size) and the dated layers read on it."""

    name: str
    kind: str  # "aerial" | "sentinel2"
    crs_wkt: str
    transform: tuple[float, ...]
    width: int
    height: int
    layers: list[Layer] = field(default_factory=list)

    @property
    def resolution(self) -> float:
        return abs(self.transform[0])

    def windows(
        self, core: int, region: tuple[int, int, int, int] | None = None, unit: int = 1
    ) -> Iterator[tuple[int, int, int, int]]:
        """(row, col, rows, cols) of core windows of at most ``core`` pixels covering the raster, or the
        pixel ``region`` (row, col, rows, cols) of it; ``read`` adds the halo. The windows split the
        span evenly in multiples of ``unit`` pixels: no thin last window paying a full halo."""
        r0, c0, h, w = region or (0, 0, self.height, self.width)
        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(r0 + h, self.height), min(c0 + w, self.width)

        def step(span: int) -> int:
            n = max(1, -(-span // core))
            return max(unit, -(-span // (n * unit)) * unit)

        rs, cs = step(r1 - r0), step(c1 - c0)
        for row in range(r0, r1, rs):
            for col in range(c0, c1, cs):
                yield row, col, min(rs, r1 - row), min(cs, c1 - col)

    def read(
        self, layer: Layer, row: int, col: int, rows: int, cols: int, halo: int, raw: bool = False
    ) -> dict[str, np.ndarray]:
        """Bands of ``layer`` over a window grown by ``halo`` (zero outside the grid), as float32 0–1
        reflectance-like values, plus ``valid`` (bool): inside the raster, not nodata, not cloud. With
        ``raw`` (aerial scenes), integer bands keep their stored type and the pooling pass converts each
        pixel as it reads it (``pooling.py``): four float copies of a window cost more than reading it."""
        import rasterio
        from affine import Affine
        from rasterio.enums import Resampling
        from rasterio.windows import Window

        r0, c0 = row - halo, col - halo
        h, w = rows + 2 * halo, cols + 2 * halo
        out: dict[str, np.ndarray] = {}
        valid = np.ones((h, w), bool)
        by_file: dict[str, list[tuple[str, int]]] = {}
        for name, (path, index) in layer.bands.items():
            by_file.setdefault(path, []).append((name, index))
        try:
            for path, bands in by_file.items():
                with rasterio.open(path) as ds:
                    indexes = [index for _, index in bands]
                    if ds.width == self.width and ds.height == self.height:  # one read for all its bands
                        stack = _read_padded(ds, indexes, r0, c0, h, w)
                    else:  # a 20 m band on the 10 m grid: GDAL resamples (a boundless read pads with 0)
                        # The window by its ground position: a 20 m grid may start half a pixel off the 10 m one.
                        ref = Affine(*self.transform)
                        x0, y0 = ref * (c0, r0)
                        col_f, row_f = ~ds.transform * (x0, y0)
                        scale = abs(ref.a / ds.transform.a)
                        win = Window(col_f, row_f, w * scale, h * scale)
                        stack = [ds.read(index, window=win, out_shape=(h, w), boundless=True, fill_value=0,
                                         resampling=Resampling.nearest if name == "scl" else Resampling.bilinear)
                                 for name, index in bands]  # fmt: skip
                    offset = boa_offset(ds.tags(), layer.when) if self.kind == "sentinel2" else 0.0
                    for (name, index), data in zip(bands, stack, strict=True):
                        if name == "scl":
                            valid &= SCL_CLEAR[np.clip(data, 0, 11)]
                            continue
                        nodata = ds.nodatavals[index - 1]
                        valid &= data != (0 if nodata is None else nodata)
                        if raw and self.kind == "aerial" and data.dtype.kind == "u":
                            out[name] = data
                        else:
                            out[name] = _reflectance(data, self.kind, offset)
        except rasterio.errors.RasterioError as exc:
            raise FieldError(f"{self.name}: cannot read: {exc}") from None
        out["valid"] = valid
        return out


def _read_padded(ds: Any, indexes: list[int], r0: int, c0: int, h: int, w: int) -> np.ndarray:
    """Bands [n, h, w] over rows r0…r0+h, cols c0…c0+w, zero where the window leaves the raster.
    Reads only the part inside: GDAL's boundless reads go through a VRT and cost four times as much."""
    from rasterio.windows import Window

    out = np.zeros((len(indexes), h, w), ds.dtypes[indexes[0] - 1])
    top, left = max(r0, 0), max(c0, 0)
    bottom, right = min(r0 + h, ds.height), min(c0 + w, ds.width)
    if bottom > top and right > left:
        window = Window(left, top, right - left, bottom - top)
        ds.read(indexes, window=window, out=out[:, top - r0 : bottom - r0, left - c0 : right - c0])
    return out


def reflectance(data: np.ndarray) -> np.ndarray:
    """Aerial band values as float32 0–1: 8- and 16-bit counts scaled by their range, floats clipped."""
    if data.dtype == np.uint8:
        return data.astype(np.float32) * np.float32(1 / 255)
    if data.dtype == np.uint16:
        return data.astype(np.float32) * np.float32(1 / 65535)
    return np.clip(data.astype(np.float32), 0, 1)


def _reflectance(data: np.ndarray, kind: str, offset: float = 0.0) -> np.ndarray:
    if kind == "sentinel2" and data.dtype != np.uint8:  # L2A digital numbers: (DN + BOA_ADD_OFFSET) / 10000
        return np.clip((data.astype(np.float32) + np.float32(offset)) * np.float32(1e-4), 0, 1)
    return reflectance(data)


BASELINE_04 = date(2022, 1, 25)  # Sentinel-2 processing baseline 04.00: L2A values carry +1000


def boa_offset(tags: dict[str, str], when: date | None) -> float:
    """The L2A BOA_ADD_OFFSET: from the file's tags when it has one (GDAL's SENTINEL2 driver and
    many exports keep it), else −1000 for acquisitions since baseline 04.00 and 0 before."""
    for key in ("BOA_ADD_OFFSET", "BOA_ADD_OFFSET_B0", "OFFSET"):
        if key in tags:
            try:
                return float(tags[key])
            except ValueError:
                break
    return -1000.0 if when is not None and when >= BASELINE_04 else 0.0


def _when(path: str, tags: dict[str, str]) -> date | None:
    """The acquisition date: the TIFF date tag, else from the file name — a Sentinel-2 sensing time
    (``20250714T062631``) first, else the last date-like number (parcel ids often come before dates);
    a file named only by its band (``B04.tif`` in a product folder) takes the folder's date."""
    candidates = [tags.get("TIFFTAG_DATETIME", "")[:10].replace(":", "").replace("-", "")]
    for name in (Path(path).name, Path(path).parent.name):
        candidates += [m.group(0) for m in DATE.finditer(name) if name[m.end() : m.end() + 1] == "T"]
        candidates += [m.group(0) for m in reversed(list(DATE.finditer(name)))]
    for text in candidates:
        m = DATE.fullmatch(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                continue
    return None


def _describe(path: str) -> dict:
    import rasterio

    p = Path(path)
    if not p.is_file():
        raise FieldError(f"{path}: no such file")
    try:
        with rasterio.open(path) as ds:
            if ds.crs is None:
                raise FieldError(
                    f"{path}: the raster has no coordinate reference system (CRS); georeference it first"
                )
            if ds.width * ds.height > MAX_PIXELS:
                raise FieldError(f"{path}: {ds.width} × {ds.height} pixels is more than this tool accepts")
            ds.read(
                1, window=((0, min(1, ds.height)), (0, min(1, ds.width)))
            )  # fails early on a corrupt file
            if not _any_valid(ds):  # an all-empty raster has nothing to map
                raise FieldError(f"{path}: the raster has no valid pixels (all nodata)")
            return {
                "path": path, "count": ds.count, "crs": ds.crs.to_wkt(), "transform": tuple(ds.transform)[:6],
                "width": ds.width, "height": ds.height, "descriptions": [d or "" for d in ds.descriptions],
                "tags": ds.tags(), "dtype": ds.dtypes[0],
            }  # fmt: skip
    except rasterio.errors.RasterioError as exc:
        raise FieldError(f"{path}: not a readable raster ({str(exc).splitlines()[0][:160]})") from None


SAMPLE_WINDOWS = 8  # per side: windows of GDAL's mask read before the whole raster's
SAMPLE_PIXELS = 256


def _any_valid(ds: Any) -> bool:
    """Whether GDAL's mask (nodata, alpha or mask band) has any valid pixel. A grid of small windows
    first: the whole mask at a coarse scale decodes every tile of a raster without overviews (5 s of
    a 20-second detection on a 20,000² scene), and that is needed only when no window holds data.
    Other formats (JPEG 2000) and files with overviews read a coarse scale cheaply: they go to it."""
    from rasterio.windows import Window

    if ds.driver == "GTiff" and not ds.overviews(1):
        size = min(SAMPLE_PIXELS, ds.height, ds.width)
        rows = sorted({int(v) for v in np.linspace(0, ds.height - size, SAMPLE_WINDOWS)})
        cols = sorted({int(v) for v in np.linspace(0, ds.width - size, SAMPLE_WINDOWS)})
        for r in rows:
            for c in cols:
                if ds.dataset_mask(window=Window(c, r, size, size)).any():
                    return True
    return bool(ds.dataset_mask(out_shape=(min(256, ds.height), min(256, ds.width))).any())


def _aerial(info: dict) -> Scene:
    names = [d.strip().lower() for d in info["descriptions"]]
    order = {"red": 1, "green": 2, "blue": 3, "nir": 4}
    aliases = {
        "r": "red",
        "g": "green",
        "b": "blue",
        "nir": "nir",
        "near-infrared": "nir",
        "near infrared": "nir",
    }
    named = {aliases.get(n, n): i + 1 for i, n in enumerate(names) if aliases.get(n, n) in order}
    if len(named) == 4:
        order = named
    return Scene(Path(info["path"]).name, "aerial", info["crs"], info["transform"], info["width"], info["height"],
                 [Layer(_when(info["path"], info["tags"]), {b: (info["path"], order[b]) for b in AERIAL_ORDER})])  # fmt: skip


def open_scenes(paths: list[str]) -> list[Scene]:
    """Scenes for the given files: each 4-band raster is one aerial scene; Sentinel-2 band files are
    grouped by grid into one scene whose layers are their dates."""
    if not paths:
        raise FieldError("no rasters given")
    scenes: list[Scene] = []
    s2: dict[tuple, dict[date | None, dict[str, dict]]] = {}
    for path in paths:
        info = _describe(str(path))
        band = S2_BAND.search(Path(path).stem)
        if info["count"] == 1 and band:
            key = (info["crs"],)
            s2.setdefault(key, {}).setdefault(_when(info["path"], info["tags"]), {})[band[1].upper()] = info
        elif info["count"] == 4:
            scenes.append(_aerial(info))
        else:
            raise FieldError(
                f"{path}: {info['count']} band(s); expected a 4-band aerial image (red, green, blue, near-infrared) "
                "or single-band Sentinel-2 files named by band (B02, B03, B04, B08, B11, SCL)"
            )
    for dates in s2.values():
        scenes.append(_sentinel2(dates))
    return scenes


def _sentinel2(dates: dict[date | None, dict[str, dict]]) -> Scene:
    layers = []
    grid = None
    for when, bands in sorted(dates.items(), key=lambda kv: kv[0] or date.min):
        missing = [b for b in ("B04", "B08") if b not in bands]
        if missing:
            raise FieldError(f"Sentinel-2 {when or 'undated'}: missing band file(s) {', '.join(missing)}")
        ref = bands["B04"]
        if grid is None:
            grid = ref
        elif (ref["transform"], ref["width"], ref["height"]) != (
            grid["transform"],
            grid["width"],
            grid["height"],
        ):
            raise FieldError(
                f"{ref['path']}: its 10 m grid differs from {grid['path']}; give one tile's dates together"
            )
        for info in bands.values():
            if not _covers(info, ref):
                raise FieldError(f"{info['path']}: does not cover the same area as {ref['path']}")
        layers.append(
            Layer(when, {S2_NAMES[b]: (info["path"], 1) for b, info in bands.items() if b in S2_NAMES})
        )
    assert grid is not None
    return Scene(Path(grid["path"]).parent.name or "sentinel-2", "sentinel2", grid["crs"], grid["transform"],
                 grid["width"], grid["height"], layers)  # fmt: skip


def _covers(info: dict, ref: dict) -> bool:
    """Whether a band file lies over the reference grid, within one of its own (coarser) pixels: real
    L2A products put the 20 m grid up to a pixel off the 10 m one at the edges."""
    a, r = info["transform"], ref["transform"]
    tol = max(abs(a[0]), abs(r[0]))
    same_origin = abs(a[2] - r[2]) <= tol and abs(a[5] - r[5]) <= tol
    same_extent = abs(abs(a[0]) * info["width"] - abs(r[0]) * ref["width"]) <= tol
    return info["crs"] == ref["crs"] and same_origin and same_extent
