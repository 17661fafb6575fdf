"""Field-model variants compared by cross-validation by parcel: what each change to training and
post-processing does on parcels the network never saw (issue #28).

    python bench/field_variants.py train VARIANT [VARIANT …]   # fit the folds, keep out-of-fold maps
    python bench/field_variants.py report                      # score every variant kept so far

Training variants (each five fits, about 20 minutes on two cores): ``base`` (all labelled parcels),
``negatives`` (plus the unlabelled parcels as all-negative, weight 0.5), ``wide`` (negatives and one
more pooling level: a cell's answer reaches twice as far), ``pixels`` (negatives, and the network
reads 0.6 m pixels through a stride-4 stem instead of 1.2 m half-cell means). Out-of-fold probabilities, as they are and
averaged over four flips (test-time augmentation), are kept under ``bench/.cache/field/`` so a report
never retrains. The report scores each with the threshold chosen on the *other* folds (so the choice
never sees the parcel it is scored on), and with a second stage that drops candidate sites by their
object features (``field/objects.py``), trained on the other folds' candidates.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shekteu.field.model import grow_mask  # noqa: E402
from shekteu.field.training import (  # noqa: E402
    choose_post,
    fit,
    fold_split,
    object_counts,
    pixel_counts,
    predict,
    read_parcels,
    scores,
    site_cells,
)

SHARED = ROOT.parent / "shared" / "data" / "raster"
LABELLED = [SHARED / "cannabis_naip_train", SHARED / "cannabis_naip_extra" / "labelled"]
UNLABELLED = SHARED / "cannabis_naip_extra" / "unlabelled"
CACHE = ROOT / "bench" / ".cache" / "field"
VARIANTS = {
    "base": ({}, False),
    "negatives": ({"negative_weight": 0.5}, True),
    "wide": ({"negative_weight": 0.5, "widths": (16, 32, 48, 64, 64)}, True),
    # 0.6 m pixels (bands and NDVI) into a 4 × 4 stride-4 stem instead of 1.2 m half-cell means:
    # the rows of plants that pooling averages away
    "pixels": ({"negative_weight": 0.5, "stem": 4}, True),
}
PIXEL_INPUT = {"pixels"}


def with_pixels(parcels: list, folders: list[Path] | Path, labelled: bool = True) -> list:
    """The parcels with their network input replaced by 0.6 m pixels: red, green, blue, NIR, NDVI
    (zero outside the parcel), padded as ``read_parcel`` pads."""
    import dataclasses

    import rasterio

    from shekteu.field.training import parcel_files

    files = {t.stem: t for t in parcel_files(folders, labelled)}
    out = []
    for p in parcels:
        with rasterio.open(files[p.name]) as ds:
            data = ds.read()
        padded = np.zeros((4, *p.target.shape), np.float32)
        padded[:, : data.shape[1], : data.shape[2]] = data * np.float32(1 / 255)
        red, nir = padded[0], padded[3]
        den = nir + red
        ndvi = np.where(den > 0, (nir - red) / np.where(den > 0, den, 1), 0).astype(np.float32)
        out.append(dataclasses.replace(p, x=np.concatenate([padded, ndvi[None]])))
    return out


def train(names: list[str], iterations: int) -> None:
    parcels = read_parcels(LABELLED)
    negatives = read_parcels(UNLABELLED, labelled=False)
    print(f"{len(parcels)} labelled parcels, {len(negatives)} unlabelled", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in names:
        settings, with_negatives = VARIANTS[name]
        settings = {**settings, "iterations": iterations}
        train_on, against = parcels, negatives
        if name in PIXEL_INPUT:
            train_on, against = with_pixels(parcels, LABELLED), with_pixels(negatives, UNLABELLED, labelled=False)
        for f, held in enumerate(fold_split(len(parcels))):
            path = CACHE / f"{name}-{iterations}-fold{f}.npz"
            if path.exists():
                continue
            t = time.perf_counter()
            net = fit([p for i, p in enumerate(train_on) if i not in held], settings,
                      negatives=against if with_negatives else [])  # fmt: skip
            kept = {}
            for i in sorted(held):
                kept[f"plain:{parcels[i].name}"] = predict(net, train_on[i])
                kept[f"flips:{parcels[i].name}"] = predict(net, train_on[i], flips=True)
            np.savez_compressed(path, **kept)
            print(f"{name} fold {f}: {time.perf_counter() - t:.0f} s", flush=True)


def cached(name: str, iterations: int, parcels: list) -> dict[str, list] | None:
    """Out-of-fold probabilities of a variant per view ("plain", "flips"), in parcel order, with each
    parcel's fold; None until every fold is kept."""
    folds = fold_split(len(parcels))
    paths = [CACHE / f"{name}-{iterations}-fold{f}.npz" for f in range(len(folds))]
    if not all(p.exists() for p in paths):
        return None
    out: dict[str, list] = {"plain": [None] * len(parcels), "flips": [None] * len(parcels), "fold": [0] * len(parcels)}
    for f, (path, held) in enumerate(zip(paths, folds, strict=True)):
        with np.load(path) as kept:
            for i in held:
                out["fold"][i] = f
                for view in ("plain", "flips"):
                    out[view][i] = kept[f"{view}:{parcels[i].name}"]
    return out


def score(parcels: list, probs: list, posts: list[tuple[float, int]], keep=None) -> dict[str, float]:
    """Pixel, hectare and object figures of the maps drawn with each parcel's (threshold, smoothing);
    ``keep(i, mask) -> mask`` may drop candidate sites (the second stage)."""
    tp = fp = fn = 0
    objects = np.zeros(4, int)
    drawn = labelled = 0.0
    for i, (parcel, prob) in enumerate(zip(parcels, probs, strict=True)):
        threshold, smooth = posts[i]
        mask = grow_mask(prob, parcel.usable, threshold, smooth, site_cells(parcel))
        if keep is not None:
            mask = keep(i, mask)
        a, b, c = pixel_counts(mask, parcel)
        tp, fp, fn = tp + a, fp + b, fn + c
        objects += object_counts(mask, parcel)
        drawn += mask.sum() * parcel.k * parcel.k
        labelled += parcel.target.sum()
    s = scores(tp, fp, fn)
    return {**s, "hectares": 100 * (drawn / labelled - 1), "found": objects[0] / objects[1],
            "false_sites": (objects[3] - objects[2]) / max(objects[3], 1), "sites": int(objects[3])}  # fmt: skip


def nested_posts(parcels: list, probs: list, fold: list[int]) -> list[tuple[float, int]]:
    """Each parcel's threshold and smoothing, chosen (``choose_post``) on the other folds only."""
    posts: list[tuple[float, int]] = [(0.5, 1)] * len(parcels)
    for f in sorted(set(fold)):
        others = [(parcels[i], probs[i]) for i in range(len(parcels)) if fold[i] != f]
        threshold, smooth, _ = choose_post(others)
        for i in range(len(parcels)):
            if fold[i] == f:
                posts[i] = (threshold, smooth)
    return posts


def second_stage(parcels: list, probs: list, fold: list[int], posts: list[tuple[float, int]]):
    """A ``keep`` that drops candidate sites a classifier of their object features, trained on the
    other folds' candidates (label: touches a labelled area), scores under 0.5."""
    from shekteu.field.objects import candidates, site_classifier

    found = []
    for i, (parcel, prob) in enumerate(zip(parcels, probs, strict=True)):
        threshold, smooth = posts[i]
        mask = grow_mask(prob, parcel.usable, threshold, smooth, site_cells(parcel))
        labels, feats = candidates(mask, prob, parcel.x)
        labelled = ((parcel.target == 1) | (parcel.ignore == 1)).reshape(
            mask.shape[0], parcel.k, mask.shape[1], parcel.k).any(axis=(1, 3))  # fmt: skip
        truth = np.array([labelled[labels == n + 1].any() for n in range(len(feats))], bool)
        found.append((labels, feats, truth))
    decisions = {}
    for f in sorted(set(fold)):
        train_x = [x for i, (_, x, _) in enumerate(found) if fold[i] != f and len(x)]
        train_y = [y for i, (_, x, y) in enumerate(found) if fold[i] != f and len(x)]
        clf = site_classifier(np.vstack(train_x), np.concatenate(train_y))
        for i, (_, x, _) in enumerate(found):
            if fold[i] == f:
                decisions[i] = clf.predict_proba(x)[:, 1] >= 0.5 if len(x) else np.zeros(0, bool)

    def keep(i: int, mask: np.ndarray) -> np.ndarray:
        labels = found[i][0]
        ok = np.concatenate([[False], decisions[i]])
        return mask & ok[labels]

    return keep


def report(iterations: int) -> None:
    parcels = read_parcels(LABELLED)
    print(f"{len(parcels)} labelled parcels, 5-fold CV by parcel, {iterations} steps per fold")
    head = f"{'variant':40s} {'P':>6s} {'R':>6s} {'F1':>6s} {'ha err':>7s} {'found':>6s} {'false':>6s} {'sites':>5s}"
    print(head)
    for name in VARIANTS:
        kept = cached(name, iterations, parcels)
        if kept is None:
            print(f"{name:40s} (not trained: python bench/field_variants.py train {name})")
            continue
        for view in ("plain", "flips"):
            probs = kept[view]
            threshold, smooth, _ = choose_post(list(zip(parcels, probs, strict=True)))
            rows = {"threshold on all folds": [(threshold, smooth)] * len(parcels),
                    "threshold on other folds": nested_posts(parcels, probs, kept["fold"])}  # fmt: skip
            for how, posts in rows.items():
                s = score(parcels, probs, posts)
                print(f"{name + '/' + view + ', ' + how:40.40s} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} "
                      f"{s['hectares']:+6.1f}% {s['found']:6.2f} {s['false_sites']:6.2f} {s['sites']:5d}")  # fmt: skip
            posts = rows["threshold on other folds"]
            s = score(parcels, probs, posts, second_stage(parcels, probs, kept["fold"], posts))
            print(f"{name + '/' + view + ', + second stage':40.40s} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} "
                  f"{s['hectares']:+6.1f}% {s['found']:6.2f} {s['false_sites']:6.2f} {s['sites']:5d}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("train")
    t.add_argument("variants", nargs="+", choices=sorted(VARIANTS))
    t.add_argument("--iterations", type=int, default=4000)
    r = sub.add_parser("report")
    r.add_argument("--iterations", type=int, default=4000)
    args = ap.parse_args()
    if args.what == "train":
        train(args.variants, args.iterations)
    else:
        report(args.iterations)


if __name__ == "__main__":
    main()
