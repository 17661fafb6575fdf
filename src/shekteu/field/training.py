"""Train and validate the aerial grow detector on LabelMe-annotated parcels, split by parcel.

Each parcel is a GeoTIFF with a LabelMe JSON of the same name (polygons in pixel coordinates). Cells
mostly inside a ``cannabis`` polygon are positives; cells under the other labels (hoop houses, old
grows) are left out of both training and scoring, because annotators used them for structures and
abandoned plots that are neither clearly a grow nor clearly not; every other valid cell is negative.
Validation holds out whole parcels (k-fold by parcel, never by pixel) and scores pixels at full
resolution, so the figures say how the model does on land it has never seen. Scored is the map that
``field detect`` outputs: thresholded, cleaned up, and without sites under its default smallest area.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shekteu.field import MIN_SITE_HECTARES, FieldError
from shekteu.field.features import CELL_METRES, CHANNELS, cell_pixels, network_input
from shekteu.field.model import grow_mask

POSITIVE = "cannabis"


@dataclass
class Parcel:
    name: str
    k: int
    x: np.ndarray  # network input [6, 2·rows, 2·cols]
    usable: np.ndarray  # cells with enough valid pixels
    target: np.ndarray  # per pixel: 1 grow, 0 not
    ignore: np.ndarray  # per pixel: under another label
    cell_target: np.ndarray
    cell_ignore: np.ndarray
    pixel_area_m2: float


def read_parcel(tif: Path, labelled: bool = True) -> Parcel:
    """A parcel padded (as nodata) to whole windows of the network: at least a training crop, and a
    multiple of its pooling in cells. ``labelled=False`` reads a parcel without a label file (one the
    labellers skipped as showing no cultivation): every cell negative."""
    import rasterio
    from rasterio.features import rasterize
    from shapely.geometry import Polygon

    from shekteu.field.network import CROP_CELLS, UNIT_CELLS

    labels = tif.with_suffix(".json")
    try:
        with rasterio.open(tif) as ds:
            data, res = ds.read(), abs(ds.transform.a)
        shapes = json.loads(labels.read_text())["shapes"] if labelled else []
    except (OSError, ValueError, KeyError, rasterio.errors.RasterioError) as exc:
        raise FieldError(f"{tif}: cannot read the parcel or its labels: {exc}") from None
    if data.shape[0] != 4:
        raise FieldError(f"{tif}: {data.shape[0]} bands, expected 4 (red, green, blue, near-infrared)")
    k = cell_pixels(res)
    unit = 2 * UNIT_CELLS  # also whole for a network one pooling deeper (bench/field.py's "wide")
    h, w = data.shape[1:]
    H, W = (max(CROP_CELLS, -(-n // (k * unit)) * unit) * k for n in (h, w))
    padded = np.zeros((4, H, W), np.float32)
    padded[:, :h, :w] = data * np.float32(1 / 255)
    bands = dict(zip(("red", "green", "blue", "nir"), padded, strict=True))
    bands["valid"] = padded.sum(0) > 0
    x, usable, _, _ = network_input(bands, k)

    def burn(keep: Callable[[str], bool]) -> np.ndarray:
        polys = [
            (Polygon(s["points"]).buffer(0), 1) for s in shapes if keep(s["label"]) and len(s["points"]) >= 3
        ]
        return rasterize(polys, out_shape=(H, W), dtype="uint8") if polys else np.zeros((H, W), np.uint8)

    target, ignore = burn(lambda lab: lab == POSITIVE), burn(lambda lab: lab != POSITIVE)
    pool = lambda a: a.reshape(H // k, k, W // k, k).mean(axis=(1, 3))  # noqa: E731
    return Parcel(tif.stem, k, x, usable, target, ignore, pool(target) > 0.5, pool(ignore) >= 0.5, res * res)


def parcel_files(folders: Path | list[Path], labelled: bool = True) -> list[Path]:
    """The parcels' GeoTIFFs in one or more folders: with a LabelMe JSON of the same name, or (for
    ``labelled=False``) all of them; a parcel name seen twice is read once."""
    seen: dict[str, Path] = {}
    for folder in [folders] if isinstance(folders, Path | str) else folders:
        for tif in sorted(Path(folder).glob("*.tif")):
            if (not labelled or tif.with_suffix(".json").exists()) and tif.stem not in seen:
                seen[tif.stem] = tif
    return list(seen.values())


def read_parcels(
    folders: Path | list[Path], on_done: Callable[[str], None] | None = None, labelled: bool = True
) -> list[Parcel]:
    tifs = parcel_files(folders, labelled)
    if not tifs:
        what = "GeoTIFF + LabelMe JSON of the same name" if labelled else "GeoTIFFs"
        raise FieldError(f"{folders}: no parcels ({what})")
    parcels = []
    for tif in tifs:
        parcels.append(read_parcel(tif, labelled))
        if on_done:
            on_done(tif.stem)
    return parcels


def fit(
    parcels: list[Parcel],
    settings: dict[str, Any] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    negatives: list[Parcel] = (),  # type: ignore[assignment]
) -> Any:
    """A network trained on the parcels (cells under other labels or without data carry no weight).
    ``negatives`` are unlabelled parcels taken as all negative with the weight
    ``settings["negative_weight"]``: mostly clean, not verified so (see the data's README)."""
    from shekteu.field.network import TRAIN
    from shekteu.field.network import fit as fit_network

    weight = float({**TRAIN, **(settings or {})}.get("negative_weight", 0.5))
    sample = [{"x": p.x, "target": p.cell_target.astype(np.float32),
               "weight": (p.usable & ~p.cell_ignore).astype(np.float32)} for p in parcels]  # fmt: skip
    sample += [{"x": p.x, "target": np.zeros(p.usable.shape, np.float32),
                "weight": p.usable.astype(np.float32) * np.float32(weight)} for p in negatives]  # fmt: skip
    return fit_network(sample, settings, on_step)


def predict(net: Any, parcel: Parcel, flips: bool = False) -> np.ndarray:
    from shekteu.field.network import predict as predict_network

    return predict_network(net, parcel.x, flips) * parcel.usable


def site_cells(parcel: Parcel, hectares: float = MIN_SITE_HECTARES) -> int:
    """Cells in the smallest site ``field detect`` keeps: validation scores the map it outputs."""
    return math.ceil(hectares * 10_000 / (parcel.k * parcel.k * parcel.pixel_area_m2))


def pixel_counts(mask: np.ndarray, parcel: Parcel) -> tuple[int, int, int]:
    """True positives, false positives, false negatives over the parcel's pixels (ignored ones left out)."""
    k = parcel.k
    px = np.repeat(np.repeat(mask, k, 0), k, 1)
    scored = parcel.ignore == 0
    truth = parcel.target == 1
    return (
        int((px & truth & scored).sum()),
        int((px & ~truth & scored).sum()),
        int((~px & truth & scored).sum()),
    )


def object_counts(mask: np.ndarray, parcel: Parcel) -> tuple[int, int, int, int]:
    """(labelled grows a drawn site touches, labelled grows, drawn sites touching a labelled area of any
    kind, drawn sites): what a patrol sees — grows found and sites sent out for nothing."""
    from scipy import ndimage

    k = parcel.k
    px = np.repeat(np.repeat(mask, k, 0), k, 1)
    grows, n_grows = ndimage.label(parcel.target == 1)
    found = len(np.unique(grows[px & (grows > 0)]))
    sites, n_sites = ndimage.label(mask)
    labelled = (
        ((parcel.target == 1) | (parcel.ignore == 1))
        .reshape(mask.shape[0], k, mask.shape[1], k)
        .any(axis=(1, 3))
    )
    hits = len(np.unique(sites[labelled & (sites > 0)]))
    return found, n_grows, hits, n_sites


def scores(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def cross_validate(
    parcels: list[Parcel],
    folds: int = 5,
    seed: int = 0,
    settings: dict[str, Any] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    negatives: list[Parcel] = (),  # type: ignore[assignment]
) -> list[tuple[Parcel, np.ndarray]]:
    """Out-of-fold probabilities: each parcel scored by a model that never saw it (``negatives``, the
    unlabelled parcels, are only ever trained on)."""
    out = []
    for held in fold_split(len(parcels), folds, seed):
        net = fit([p for i, p in enumerate(parcels) if i not in held], settings, on_step, negatives)
        out += [(parcels[i], predict(net, parcels[i])) for i in sorted(held)]
    return out


def fold_split(n: int, folds: int = 5, seed: int = 0) -> list[set[int]]:
    """The parcels (by index) each fold holds out."""
    order = np.random.default_rng(seed).permutation(n)
    return [set(fold.tolist()) for fold in np.array_split(order, folds)]


def choose_post(
    oof: list[tuple[Parcel, np.ndarray]], area_tolerance: float = 0.1
) -> tuple[float, int, dict[str, float]]:
    """The threshold and smoothing with the best out-of-fold pixel F1 among those whose total area is
    within ``area_tolerance`` of the labelled area (hectares are what commanders count); the best F1
    overall if none is."""
    best, best_any = None, None
    for smooth in (1, 3):
        for threshold in np.arange(0.3, 0.96, 0.025):
            tp = fp = fn = drawn = labelled = 0
            for parcel, prob in oof:
                mask = grow_mask(prob, parcel.usable, float(threshold), smooth, site_cells(parcel))
                a, b, c = pixel_counts(mask, parcel)
                tp, fp, fn = tp + a, fp + b, fn + c
                drawn += int(mask.sum()) * parcel.k * parcel.k  # every pixel drawn, ignored labels too
                labelled += int(parcel.target.sum())
            s = scores(tp, fp, fn)
            s["area_error"] = round(drawn / max(labelled, 1) - 1, 4)  # hectares drawn vs labelled
            candidate = (round(float(threshold), 2), smooth, s)
            if best_any is None or s["f1"] > best_any[2]["f1"]:
                best_any = candidate
            if abs(s["area_error"]) <= area_tolerance and (best is None or s["f1"] > best[2]["f1"]):
                best = candidate
    assert best_any is not None
    return best or best_any


def train(
    folder: Path | list[Path],
    out: Path,
    on_done: Callable[[str], None] | None = None,
    settings: dict[str, Any] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    negatives: Path | None = None,
) -> dict:
    """Read parcels (one folder or several), pick post-processing by 5-fold CV by parcel, fit on all,
    save; the saved meta. ``negatives``: a folder of unlabelled parcels taken as all negative in every
    fit (never scored). ``on_step(done, total)`` follows the training steps of all six fits."""
    from shekteu.field.model import save
    from shekteu.field.network import TRAIN, WIDTHS, export, torch_module

    torch_module()  # fail before reading anything
    parcels = read_parcels(folder, on_done)
    unlabelled = read_parcels(negatives, on_done, labelled=False) if negatives else []
    settings = {**TRAIN, **(settings or {})}
    total, done = 6 * int(settings["iterations"]), 0

    def step(_d: int, _t: int) -> None:
        nonlocal done
        done += 1
        if on_step:
            on_step(done, total)

    threshold, smooth, cv = choose_post(cross_validate(parcels, settings=settings, on_step=step, negatives=unlabelled))
    net = fit(parcels, settings, step, unlabelled)
    meta = {"inputs": list(CHANNELS), "cell_metres": CELL_METRES, "threshold": threshold, "smooth": smooth,
            "trained_on": {"folder": ", ".join(Path(f).name for f in ([folder] if isinstance(folder, Path | str) else folder)),
                           "parcels": len(parcels), "negative_parcels": len(unlabelled), "positive_label": POSITIVE},
            "cv_by_parcel_pixel": cv, "network": {"widths": list(WIDTHS), "training": settings}}  # fmt: skip
    save(lambda path: export(net, path), meta, out)
    return meta
