"""Score scenes window by window into a grid of cells, in Dask tasks, with bounded memory.

Each task opens the raster itself, reads one window with a halo as wide as the network sees
(``HALO_CELLS``), computes its input, runs it and returns only its core cells (probability,
usability, mean NDVI) — a few megabytes — so a 20,000 × 20,000 raster never sits in memory as
pixels. Aerial windows start on multiples of the network's pooling (``network.LEVELS``) so every
window pools the same blocks: any windowing gives the same grid. Tasks run on Dask's local threaded
scheduler (NumPy, SciPy, the compiled pooling and onnxruntime release the GIL) or, with ``scheduler`` set to an address,
on a Dask cluster whose workers have shekteu installed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

from shekteu.field import FieldError
from shekteu.field.features import cell_pixels, pooled
from shekteu.field.imagery import Scene
from shekteu.field.network import HALO_CELLS, UNIT_CELLS  # torch is imported only to train
from shekteu.field.prescreen import boxes, needed_cells, screened
from shekteu.parallel import run_tasks

# Sentinel-2 scoring: the wild-stand season rule (seasonality.py) or the plantation model learnt from
# declared fields (phenology.py; a path chooses a retrained one).
WILD, CULTIVATED = "wild", "cultivated"
S2_METHODS = {WILD: "sentinel2-phenology", CULTIVATED: "sentinel2-plantation"}
CORE_CELLS = 640  # 2,560 px at 0.6 m: about 300 MB per running window


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
    method: str  # "aerial-model" | "sentinel2-phenology" (wild rule) | "sentinel2-plantation" (model)
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


def check_scene(scene: Scene, model_dir: str | None = None) -> None:
    """Fail before reading pixels when an aerial scene cannot be scored or the model cannot load."""
    if scene.kind != "aerial":
        return
    if scene.resolution > 2.0:
        raise FieldError(
            f"{scene.name}: {scene.resolution:g} m pixels are too coarse for the aerial model (needs ≤ 2 m)"
        )
    from shekteu.field.model import load

    load(model_dir)


def _windows(
    scene: Scene, region: tuple[int, int, int, int], core_cells: int
) -> list[tuple[int, int, int, int]]:
    """Pixel windows over the cell ``region`` (row, col, rows, cols), each a whole number of cells;
    aerial ones start on multiples of UNIT_CELLS cells when the region does."""
    k = cell_shape(scene)[0]
    unit = k * UNIT_CELLS if scene.kind == "aerial" else k
    core = max(unit, core_cells * k // unit * unit)
    return list(scene.windows(core, tuple(v * k for v in region), unit))  # type: ignore[arg-type]


def window_count(scene: Scene, region: tuple[int, int, int, int], core_cells: int = CORE_CELLS) -> int:
    """How many windows ``score_scene`` runs over the cell ``region`` (for progress totals)."""
    return len(_windows(scene, _aligned(scene, region), core_cells))


def _aligned(scene: Scene, region: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The region grown to start on a multiple of UNIT_CELLS (aerial) and clipped to the scene."""
    _, rows, cols = cell_shape(scene)
    unit = UNIT_CELLS if scene.kind == "aerial" else 1
    r0, c0 = max(region[0], 0) // unit * unit, max(region[1], 0) // unit * unit
    return r0, c0, min(region[0] + region[2], rows) - r0, min(region[1] + region[3], cols) - c0


@lru_cache(maxsize=1)
def keep_freed_memory() -> None:
    """Ask glibc to keep freed large blocks for reuse. By default every block over 32 MB (a window's
    bands, the network's input and its layer outputs: 35–50 MB each) goes back to the kernel when
    freed and is page-faulted in afresh for the next window, which cost as much time as reading the
    window. Process-wide and idempotent; a no-op where the C library is not glibc."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
    mallopt(m_arena_max, 2)  # threads share arenas: freed blocks are found by the next window's thread
    mallopt(m_mmap_threshold, 256 << 20)
    mallopt(m_trim_threshold, 1 << 30)


def _aerial_window(scene: Scene, window: tuple[int, int, int, int], k: int, model_dir: str | None):
    from shekteu.field.model import load

    keep_freed_memory()
    row, col, rows, cols = window
    unit, h = UNIT_CELLS, HALO_CELLS
    cells = [-(-n // (k * unit)) * unit for n in (rows, cols)]  # whole units; past the edge reads as nodata
    bands = scene.read(scene.layers[0], row, col, cells[0] * k, cells[1] * k, h * k, raw=True)
    x, usable, ndvi, green, sampled = pooled(bands, k)
    del bands
    need = needed_cells(sampled)  # bare land and water: no network
    runs = boxes(need, unit, h)
    probability = screened(load(model_dir).probability, x, usable, need, runs, h)
    core = (slice(h, h + cells[0]), slice(h, h + cells[1]))  # the halo only feeds the network
    return row // k, col // k, probability[core], usable[core], ndvi[core], green[core]


def _s2_window(
    scene: Scene, window: tuple[int, int, int, int], k: int, model_dir: str | None, phenology: str = WILD
):
    row, col, rows, cols = window
    layers = [(layer.when, scene.read(layer, row, col, rows, cols, 0)) for layer in scene.layers]
    if phenology == WILD:
        from shekteu.field.seasonality import score_dates

        probability, usable, ndvi = score_dates(layers)
    else:
        from shekteu.field import phenology as model

        probability, usable, ndvi = model.score_dates(layers, None if phenology == CULTIVATED else phenology)
    return row, col, probability, usable, ndvi, (ndvi > 0.25).astype(np.float32)


def score_scene(
    scene: Scene,
    *,
    model_dir: str | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    core_cells: int = CORE_CELLS,
    region: tuple[int, int, int, int] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    phenology: str = WILD,
) -> Grid:
    """The scene's cell grid, or that of the cell ``region`` (row, col, rows, cols) of it (grown to
    start on a multiple of UNIT_CELLS for aerial scenes). ``on_progress(done, total)`` is called as
    windows finish."""
    import dask

    aerial = scene.kind == "aerial"
    k, rows, cols = cell_shape(scene)
    check_scene(scene, model_dir)
    if aerial:
        keep_freed_memory()  # before the window threads start (the arena setting applies to new threads)
    row0, col0, rows, cols = _aligned(scene, region or (0, 0, rows, cols))
    windows = _windows(scene, (row0, col0, rows, cols), core_cells)
    task = _aerial_window if aerial else _s2_window
    extra = () if aerial else (phenology,)
    tasks = [dask.delayed(task, pure=True)(scene, w, k, model_dir, *extra) for w in windows]
    grid = Grid(scene, k, np.zeros((rows, cols), np.float32), np.zeros((rows, cols), bool),
                np.zeros((rows, cols), np.float32), np.zeros((rows, cols), np.float32), scene.layers[-1].when,
                "aerial-model" if aerial else S2_METHODS.get(phenology, "sentinel2-plantation"), row0, col0)  # fmt: skip
    for r, c, p, u, n, g in run_tasks(tasks, scheduler, workers, on_progress, error=FieldError):
        r, c = r - row0, c - col0
        h, w = p.shape
        h, w = min(h, rows - r), min(w, cols - c)
        grid.probability[r : r + h, c : c + w] = p[:h, :w]
        grid.usable[r : r + h, c : c + w] = u[:h, :w]
        grid.ndvi[r : r + h, c : c + w] = n[:h, :w]
        grid.green[r : r + h, c : c + w] = g[:h, :w]
    return grid
