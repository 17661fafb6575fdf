"""Rasters for field tests and the benchmark: real NAIP parcels moved to the Shu valley, and
Sentinel-2 band files of a made-up season.

Moving a parcel keeps its pixels and labels but gives it a Kazakh georeference (UTM 43N by default,
or any CRS), so district attribution, hectares and CRS handling are exercised on real imagery.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np

NAIP = Path(__file__).resolve().parent / "data" / "naip"  # five real parcels shipped with the tests
SHU = (73.75, 43.62)  # lon, lat inside Shu district, Zhambyl region (KATO 316...)
SHU_KATO_PREFIX = "31"


def utm_origin(lon: float, lat: float, epsg: int = 32643) -> tuple[float, float]:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)


def write_tif(
    path: Path, data: np.ndarray, *, epsg: int | None, origin: tuple[float, float], res: float,
    nodata: float | None = None, **tags: str,
) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0],
               "dtype": data.dtype.name, "transform": from_origin(origin[0], origin[1], res, res)}  # fmt: skip
    if epsg:
        profile["crs"] = f"EPSG:{epsg}"
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
        if tags:
            ds.update_tags(**tags)
    return path


def parcel(name: str) -> tuple[np.ndarray, list[dict]]:
    import rasterio

    tif = next(NAIP.glob(f"{name}*.tif"))
    with rasterio.open(tif) as ds:
        data = ds.read()
    return data, json.loads(tif.with_suffix(".json").read_text())["shapes"]


def moved_parcel(
    name: str, out: Path, *, lonlat=SHU, epsg: int = 32643, when: date = date(2025, 7, 10)
) -> tuple[Path, float]:
    """The parcel as a GeoTIFF at ``lonlat`` (its top-left corner); (path, labelled cannabis hectares)."""
    from shapely.geometry import Polygon

    data, shapes = parcel(name)
    out.mkdir(parents=True, exist_ok=True)
    origin = utm_origin(*lonlat, epsg)
    path = write_tif(out / f"{name}_{when:%Y%m%d}.tif", data, epsg=epsg, origin=origin, res=0.6)
    polys = [
        Polygon(s["points"]).buffer(0) for s in shapes if s["label"] == "cannabis" and len(s["points"]) >= 3
    ]
    return path, sum(p.area for p in polys) * 0.36 / 10_000


def _band_file(path: Path, data: np.ndarray, epsg: int, origin, res: float, jp2: bool) -> Path:
    write_tif(path, data, epsg=epsg, origin=origin, res=res)
    if not jp2:
        return path
    import rasterio.shutil

    target = path.with_suffix(".jp2")
    rasterio.shutil.copy(path, target, driver="JP2OpenJPEG", QUALITY="100", REVERSIBLE="YES")
    path.unlink()
    return target


def season(
    out: Path, *, size: int = 60, epsg: int = 32643, lonlat=SHU, cloud: bool = True, jp2: bool = False
) -> dict[str, Path]:
    """Sentinel-2 L2A-like band files (B03, B04, B08, B11, SCL; uint16, reflectance × 10000 + 1000 as
    since processing baseline 04.00; GeoTIFF, or JPEG 2000 as ESA ships them) for May, July and
    September: a wild-hemp patch (green in July, dry by September, unirrigated), an irrigated field
    (green and wet all summer), evergreen trees and bare soil; a cloud over part of July when asked.
    Returns folder per date."""
    rng = np.random.default_rng(5)
    h = w = size
    hemp = (slice(10, 30), slice(10, 30))
    irrigated = (slice(35, 55), slice(10, 30))
    trees = (slice(10, 30), slice(35, 55))
    ndvi_by = {  # (may, july, september)
        "hemp": (0.2, 0.7, 0.25), "irrigated": (0.6, 0.8, 0.75), "trees": (0.75, 0.8, 0.78), "soil": (0.1, 0.12, 0.1),
    }  # fmt: skip
    ndmi_by = {"hemp": 0.05, "irrigated": 0.5, "trees": 0.3, "soil": -0.2}
    origin = utm_origin(*lonlat, epsg)
    folders = {}
    for t, when in enumerate((date(2025, 5, 15), date(2025, 7, 14), date(2025, 9, 20))):
        ndvi = np.full((h, w), ndvi_by["soil"][t])
        ndmi = np.full((h, w), ndmi_by["soil"])
        for name, where in (("hemp", hemp), ("irrigated", irrigated), ("trees", trees)):
            ndvi[where], ndmi[where] = ndvi_by[name][t], ndmi_by[name]
        ndvi = np.clip(ndvi + rng.normal(0, 0.02, (h, w)), -1, 1)
        red = np.full((h, w), 0.08)
        nir = red * (1 + ndvi) / (1 - ndvi)
        green = red * 1.1
        swir = nir * (1 - ndmi) / (1 + ndmi)
        scl = np.full((1, h, w), 4, np.uint8)
        if cloud and when.month == 7:
            scl[0, 40:60, 40:60] = 9
        d = out / f"{when:%Y%m%d}"
        d.mkdir(parents=True, exist_ok=True)
        for band, v in (("B03", green), ("B04", red), ("B08", nir), ("B11", swir)):
            dn = np.clip(v * 10000 + 1000, 1, 65535).astype(np.uint16)[None]  # baseline ≥ 04.00: +1000
            _band_file(d / f"T43TFN_{when:%Y%m%d}_{band}_10m.tif", dn, epsg, origin, 10, jp2)
        _band_file(d / f"T43TFN_{when:%Y%m%d}_SCL_20m.tif", scl[:, ::2, ::2].copy(), epsg, origin, 20, jp2)
        folders[f"{when:%m}"] = d
    return folders


def square_site(lon: float, lat: float, size: float = 0.002, **props) -> dict:
    """A square site feature (lon/lat degrees) with the properties `field detect` writes."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    base = {"hectares": 1.0, "ndvi": 0.6, "green": 0.5, "confidence": 0.7, "date": "2025-07-14", "kato": None,
            "district": None, "oblast": None, "source": "test", "method": "aerial-model"}  # fmt: skip
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": base | props,
    }
