"""Reading GeoJSON that users upload (zones, boundaries, site files) without trusting it.

A zone file from a housing cooperative or a boundaries file from a colleague can be anything: not
JSON, a list where a feature should be, 200,000 nested brackets, ``NaN`` and ``Infinity`` (which
Python's JSON reader accepts and browsers then show as ``[null, null]``), a gzip bomb. Every problem
is a ``BoundaryError`` naming the file and the feature.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np

from shekteu.wording import N_, Refusal

MAX_BYTES = 50_000_000


class BoundaryError(Refusal):
    """A boundaries or zones file that cannot be read or has no polygons; the message says why."""


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number GeoJSON allows")


def _gunzip(raw: bytes, source: str, limit: int) -> bytes:
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
    out = decoder.decompress(raw, limit + 1)
    if len(out) > limit:
        raise BoundaryError(N_("{source}: unpacks to more than {limit} bytes"), source=source, limit=limit)
    return out


def parse_json(raw: bytes, source: str, limit: int = MAX_BYTES) -> Any:
    """JSON of a (possibly gzipped) file, refusing NaN/Infinity, deep nesting and oversize."""
    if len(raw) > limit:
        raise BoundaryError(N_("{source} is larger than {limit} bytes"), source=source, limit=limit)
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = _gunzip(raw, source, limit)
        return json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise BoundaryError(N_("{source}: nested too deeply to be GeoJSON"), source=source) from None
    except zlib.error:
        raise BoundaryError(N_("{source}: a broken gzip file"), source=source) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, NaN
        raise BoundaryError(N_("{source} is not valid JSON: {error}"), source=source, error=str(exc)[:200]) from None


def features(data: Any, source: str) -> list[dict[str, Any]]:
    """The features of a FeatureCollection; each must be an object."""
    found = data.get("features") if isinstance(data, dict) else None
    if not isinstance(found, list):
        raise BoundaryError(N_("{source}: not a GeoJSON FeatureCollection"), source=source)
    for n, feature in enumerate(found):
        if not isinstance(feature, dict):
            raise BoundaryError(N_("{source}: feature {n} is a {type}, not an object"), source=source, n=n,
                                type=type(feature).__name__)  # fmt: skip
    return found


def properties(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature.get("properties")
    return props if isinstance(props, dict) else {}


def polygon_rings(geometry: Any) -> list[np.ndarray]:
    """The rings (n × 2 lon/lat arrays) of a Polygon or MultiPolygon; [] for other geometry types.

    Raises ValueError for broken coordinates: not numbers, not finite, or off the globe."""
    if not isinstance(geometry, dict):
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    if not isinstance(polygons, list):
        raise ValueError("coordinates are not a list")
    rings = []
    for polygon in polygons:
        if not isinstance(polygon, list):
            raise ValueError("a polygon is not a list of rings")
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                continue
            try:
                points = np.asarray(ring, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError("coordinates that are not numbers") from None
            if points.ndim != 2 or points.shape[1] < 2:
                raise ValueError("a ring whose points are not [lon, lat]")
            points = points[:, :2]
            if not np.isfinite(points).all():
                raise ValueError("coordinates that are not finite")
            if (np.abs(points[:, 0]) > 180).any() or (np.abs(points[:, 1]) > 90).any():
                raise ValueError("coordinates off the globe (GeoJSON is longitude, latitude in degrees)")
            rings.append(points)
    return rings
