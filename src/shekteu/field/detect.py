"""Score scenes window by window into a grid of cells, in Dask tasks, with bounded memory.

Each task opens the raster itself, reads one window with a halo wide enough for the widest context
feature, computes features, scores them and returns only its core cells (probability, usability,
mean NDVI) — a few megabytes — so a 20,000 × 20,000 raster never sits in memory as pixels. Tasks run
on Dask's local threaded scheduler (NumPy, SciPy and LightGBM release the GIL) or, with ``scheduler``
set to an address, on a Dask cluster whose workers have shekteu installed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from shekteu.field import FieldError
from shekteu.field.features import HALO_CELLS, cell_features, cell_pixels
from shekteu.field.imagery import Scene

CORE_CELLS = 320  # 1,280 px at 0.6 m: about 250 MB per running window


@dataclass
class Grid:
    """Cell-level results for one scene: probability of a grow, usable cells, mean NDVI, and where."""

    scene: Scene
    k: int  # pixels per cell side
    probability: np.ndarray
    usable: np.ndarray
    ndvi: np.ndarray
    green: np.ndarray  # share of green (NDVI > 0.25) pixels
    when: date | None
    method: str  # "aerial-model" | "sentinel2-phenology"
    row0: int = 0  # where the grid starts in the scene's cells (a section of a large scene)
    col0: int = 0

    @property
    def transform(self):
        from affine import Affine

        return Affine(*self.scene.transform) * Affine.scale(self.k) * Affine.translation(self.col0, self.row0)

    def crop(self, row: int, col: int, rows: int, cols: int) -> Grid:
        """The part of the grid over scene cells row…row+rows, col…col+cols (copies)."""
        part = (
            slice(row - self.row0, row - self.row0 + rows),
            slice(col - self.col0, col - self.col0 + cols),
        )
        return Grid(self.scene, self.k, self.probability[part].copy(), self.usable[part].copy(),
                    self.ndvi[part].copy(), self.green[part].copy(), self.when, self.method, row, col)  # fmt: skip


def cell_shape(scene: Scene) -> tuple[int, int, int]:
    """(pixels per cell side, rows, cols) of the scene's cell grid."""
    k = cell_pixels(scene.resolution) if scene.kind == "aerial" else 1
    return k, -(-scene.height // k), -(-scene.width // k)


def scene_level(scene: Scene, model_dir: str | None = None) -> np.ndarray | None:
    """What an aerial scene's cells are measured against (see ``_scene_median``), computed once per
    scene so every window and section agrees; None for Sentinel-2. Checks the scene can be scored."""
    if scene.kind != "aerial":
        return None
    if scene.resolution > 2.0:
        raise FieldError(
            f"{scene.name}: {scene.resolution:g} m pixels are too coarse for the aerial model (needs ≤ 2 m)"
        )
    from shekteu.field.model import load

    load(model_dir)  # fail before reading anything
    return _scene_median(scene, cell_shape(scene)[0])


def _windows(
    scene: Scene, region: tuple[int, int, int, int], core_cells: int
) -> list[tuple[int, int, int, int]]:
    """Pixel windows over the cell ``region`` (row, col, rows, cols), each a whole number of cells."""
    k = cell_shape(scene)[0]
    return list(scene.windows(core_cells * k, tuple(v * k for v in region), k))  # type: ignore[arg-type]


def window_count(scene: Scene, region: tuple[int, int, int, int], core_cells: int = CORE_CELLS) -> int:
    """How many windows ``score_scene`` runs over the cell ``region`` (for progress totals)."""
    return len(_windows(scene, region, core_cells))


def _aerial_window(scene: Scene, window: tuple[int, int, int, int], k: int, model_dir: str | None, median):
    from shekteu.field.model import load

    row, col, rows, cols = window
    rows, cols = -(-rows // k) * k, -(-cols // k) * k  # whole cells; past the edge reads as nodata
    bands = scene.read(scene.layers[0], row, col, rows, cols, HALO_CELLS * k)
    features, usable, ndvi, green = cell_features(bands, k, median)
    h = HALO_CELLS
    core = (slice(h, h + rows // k), slice(h, h + cols // k))  # the halo only feeds the context features
    probability = load(model_dir).probability(features[(slice(None), *core)], usable[core])
    return row // k, col // k, probability, usable[core], ndvi[core], green[core]


def _s2_window(scene: Scene, window: tuple[int, int, int, int], k: int, model_dir: str | None, median):
    from shekteu.field.seasonality import score_dates

    row, col, rows, cols = window
    layers = [(layer.when, scene.read(layer, row, col, rows, cols, 0)) for layer in scene.layers]
    probability, usable, ndvi = score_dates(layers)
    return row, col, probability, usable, ndvi, (ndvi > 0.25).astype(np.float32)


def score_scene(
    scene: Scene,
    *,
    model_dir: str | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    core_cells: int = CORE_CELLS,
    region: tuple[int, int, int, int] | None = None,
    level: np.ndarray | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Grid:
    """The scene's cell grid, or that of the cell ``region`` (row, col, rows, cols) of it; ``level``
    is ``scene_level(scene)`` when the caller already has it. ``on_progress(done, total)`` is called
    as windows finish."""
    import dask

    aerial = scene.kind == "aerial"
    k, rows, cols = cell_shape(scene)
    if level is None:
        level = scene_level(scene, model_dir)
    row0, col0 = 0, 0
    if region is not None:
        row0, col0 = max(region[0], 0), max(region[1], 0)
        rows, cols = min(region[0] + region[2], rows) - row0, min(region[1] + region[3], cols) - col0
    windows = _windows(scene, (row0, col0, rows, cols), core_cells)
    task = _aerial_window if aerial else _s2_window
    tasks = [dask.delayed(task, pure=True)(scene, w, k, model_dir, level) for w in windows]
    grid = Grid(scene, k, np.zeros((rows, cols), np.float32), np.zeros((rows, cols), bool),
                np.zeros((rows, cols), np.float32), np.zeros((rows, cols), np.float32), scene.layers[-1].when,
                "aerial-model" if aerial else "sentinel2-phenology", row0, col0)  # fmt: skip
    for r, c, p, u, n, g in _run(tasks, scheduler, workers, on_progress):
        r, c = r - row0, c - col0
        h, w = p.shape
        h, w = min(h, rows - r), min(w, cols - c)
        grid.probability[r : r + h, c : c + w] = p[:h, :w]
        grid.usable[r : r + h, c : c + w] = u[:h, :w]
        grid.ndvi[r : r + h, c : c + w] = n[:h, :w]
        grid.green[r : r + h, c : c + w] = g[:h, :w]
    return grid


def _scene_median(scene: Scene, k: int, side: int = 256, most: int = 16) -> np.ndarray:
    """Scene-level medians of the base features from up to ``most`` windows spread evenly over the
    scene (the whole scene when it is small), so every window is measured against the same level."""
    from shekteu.field.features import base_features, scene_median

    px = side * k
    starts = [(r, c) for r in range(0, scene.height, px) for c in range(0, scene.width, px)]
    picked = [starts[round(i)] for i in np.linspace(0, len(starts) - 1, min(most, len(starts)))]
    bases, counts = [], []
    for r, c in picked:
        rows, cols = min(px, -(-(scene.height - r) // k) * k), min(px, -(-(scene.width - c) // k) * k)
        base, _, count = base_features(scene.read(scene.layers[0], r, c, rows, cols, 0), k)
        bases.append(base.reshape(base.shape[0], -1))
        counts.append(count.reshape(-1))
    return scene_median(np.concatenate(bases, axis=1)[:, :, None], np.concatenate(counts)[:, None])


def _run(tasks: list, scheduler: str | None, workers: int, on_progress: Callable[[int, int], None] | None):
    """Results of the tasks as they finish (order does not matter: each carries its position)."""
    total = len(tasks)
    if scheduler:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise FieldError("--scheduler needs dask.distributed: pip install 'shekteu[field]'") from None
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise FieldError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            futures = client.compute(tasks)
            for done, future in enumerate(as_completed(futures), 1):
                yield future.result()
                future.release()
                if on_progress:
                    on_progress(done, total)
        return
    from concurrent.futures import ThreadPoolExecutor

    import dask

    # Local: Dask's threaded scheduler over small batches, so finished windows are assembled (and
    # their memory released) while the next batch runs, and progress advances batch by batch.
    batch = max(2, workers * 2)
    with ThreadPoolExecutor(workers) as pool:
        for start in range(0, total, batch):
            yield from dask.compute(*tasks[start : start + batch], scheduler="threads", pool=pool)
            if on_progress:
                on_progress(min(start + batch, total), total)
