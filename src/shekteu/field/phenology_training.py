"""Train and validate the Sentinel-2 phenology model on declared fields, split by field.

Labels are field polygons (a GeoJSON of farmers' declarations: EuroCrops/INVEKOS in the shipped
case) over a dated Sentinel-2 series. Pixels inside a field take its label; pixels outside every
field are not used (nobody said what they are). Validation holds out one field at a time, so no
pixel of a field is ever scored by a model that saw another pixel of it, and reports pixel F1 and
field-level F1 (a field called hemp when its pixels' mean probability reaches the threshold, fixed
at 0.5 beforehand rather than tuned on the same folds).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.field import FieldError
from shekteu.field.phenology import DESPIKE, GRID_DOY, MIN_DATES, MODEL_FILE, Trees, pixel_features

THRESHOLD = 0.5
TREES = {"max_iter": 150, "learning_rate": 0.1, "max_leaf_nodes": 15, "class_weight": "balanced",
         "random_state": 0}  # fmt: skip


def labelled_pixels(
    paths: list[str], fields: Path, label_key: str, positive: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """(features, 1 = positive, field index, the fields' properties) of the usable pixels inside the
    fields, for one Sentinel-2 scene."""
    from pyproj import Transformer
    from rasterio.features import rasterize
    from shapely import transform as shapely_transform
    from shapely.geometry import shape

    from shekteu.field.imagery import open_scenes

    scenes = [s for s in open_scenes(paths) if s.kind == "sentinel2"]
    if len(scenes) != 1:
        raise FieldError(f"give the band files of one Sentinel-2 tile ({len(scenes)} series found)")
    scene = scenes[0]
    try:
        doc = json.loads(Path(fields).read_text())
        feats = [f for f in doc["features"] if f.get("geometry")]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FieldError(f"{fields}: not a GeoJSON of field polygons: {exc}") from None
    if not feats or any(label_key not in (f.get("properties") or {}) for f in feats):
        raise FieldError(f"{fields}: every field needs a {label_key!r} property")
    crs = (doc.get("crs") or {}).get("properties", {}).get("name", "OGC:CRS84")
    to_scene = Transformer.from_crs(crs, scene.crs_wkt, always_xy=True)
    from affine import Affine

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(to_scene.transform(xy[:, 0], xy[:, 1]))

    polygons = [(shapely_transform(shape(f["geometry"]), project), i + 1) for i, f in enumerate(feats)]
    ids = rasterize(polygons, out_shape=(scene.height, scene.width), transform=Affine(*scene.transform), dtype="int32")
    layers = [(layer.when, scene.read(layer, 0, 0, scene.height, scene.width, 0)) for layer in scene.layers]
    x, usable = pixel_features(layers)
    keep = ((ids > 0) & usable).ravel()
    fid = ids.ravel()[keep] - 1
    y = np.array([f["properties"][label_key] == positive for f in feats])[fid].astype(np.int8)
    if y.sum() == 0 or y.sum() == len(y):
        raise FieldError(f"{fields}: needs fields labelled {positive!r} and others, with clear pixels under them")
    return x[keep], y, fid, [f["properties"] for f in feats]


def _classifier() -> Any:
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError:
        raise FieldError("training the phenology model needs scikit-learn: pip install 'shekteu[train]'") from None
    return HistGradientBoostingClassifier(**TREES)


LEAVE_ONE_OUT_UP_TO = 20  # fields; more are validated in 10 folds of whole fields


def field_folds(y: np.ndarray, fid: np.ndarray, folds: int | None = None) -> np.ndarray:
    """The fold of each pixel: whole fields only, hemp fields spread over the folds in turn. One
    field per fold (leave one out) when ``folds`` is None and there are at most 20 fields."""
    fields = np.unique(fid)
    if folds is None:
        folds = len(fields) if len(fields) <= LEAVE_ONE_OUT_UP_TO else 10
    folds = max(2, min(int(folds), len(fields)))
    positive = np.array([y[fid == f][0] == 1 for f in fields])
    order = np.concatenate([fields[positive], fields[~positive]])  # positives first, dealt round-robin
    fold_of = dict(zip(order.tolist(), (np.arange(len(order)) % folds).tolist(), strict=True))
    return np.array([fold_of[f] for f in fid.tolist()], np.int32)


def cross_validate(
    x: np.ndarray, y: np.ndarray, fid: np.ndarray, on_fold: Callable[[int, int], None] | None = None,
    folds: int | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:  # fmt: skip
    """Probabilities per pixel from models that never saw the pixel's field, and pixel and field-level
    figures at THRESHOLD (see ``field_folds``)."""
    prob = np.zeros(len(y), np.float32)
    fold = field_folds(y, fid, folds)
    count = int(fold.max()) + 1
    for i in range(count):
        held = fold == i
        prob[held] = _classifier().fit(x[~held], y[~held]).predict_proba(x[held])[:, 1]
        if on_fold:
            on_fold(i + 1, count)
    return prob, figures(prob, y, fid) | {"folds": count}


def figures(prob: np.ndarray, y: np.ndarray, fid: np.ndarray, threshold: float = THRESHOLD) -> dict[str, Any]:
    def f1(pred: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
        tp, fp, fn = int((pred & truth).sum()), int((pred & ~truth).sum()), int((~pred & truth).sum())
        return {"precision": round(tp / max(tp + fp, 1), 4), "recall": round(tp / max(tp + fn, 1), 4),
                "f1": round(2 * tp / max(2 * tp + fp + fn, 1), 4), "tp": tp, "fp": fp, "fn": fn}  # fmt: skip

    fields = np.unique(fid)
    mean = np.array([prob[fid == f].mean() for f in fields])
    truth = np.array([y[fid == f][0] == 1 for f in fields])
    return {"pixel": f1(prob >= threshold, y == 1), "field": f1(mean >= threshold, truth),
            "fields": len(fields), "positive_fields": int(truth.sum()), "threshold": threshold}  # fmt: skip


def train(
    paths: list[str], fields: Path, out: Path, *, label_key: str = "crop", positive: str = "hemp_cannabis",
    on_fold: Callable[[int, int], None] | None = None, folds: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Validate by field, fit on every field, write ``out/phenology.json``; its meta."""
    x, y, fid, props = labelled_pixels(paths, fields, label_key, positive)
    _, cv = cross_validate(x, y, fid, on_fold, folds)
    clf = _classifier().fit(x, y)
    meta = {"kind": "sentinel2-phenology-trees", "positive": positive, "grid_doy": GRID_DOY.tolist(),
            "despike": DESPIKE, "min_dates": MIN_DATES,
            "trained_on": {"fields": Path(fields).name, "label": label_key, "pixels": len(y),
                           "positive_pixels": int(y.sum()), "field_count": len(props)},
            "cv_by_field": cv, "classifier": TREES}  # fmt: skip
    model = Trees.from_sklearn(clf, THRESHOLD, meta)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{MODEL_FILE}.tmp"
    tmp.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n")
    tmp.replace(out / MODEL_FILE)
    return meta
