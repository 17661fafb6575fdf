"""Field operations: wild hemp and cannabis plantations mapped from aerial and satellite imagery (issue 8).

Rasters go through ``imagery`` (open, validate, read in windows), ``features`` (indices and texture on a
grid of small cells), ``model`` (the shipped network, run with onnxruntime; ``network`` and ``training``
build it with PyTorch), ``detect`` (windows → probability grid, in
Dask tasks), ``sites`` (grid → polygons with hectares and districts), ``change`` (two passes compared),
``registry`` (sites in the database with their status) and ``exports`` (GeoJSON, KML, GeoPackage).
Rasterio, shapely, pyproj, onnxruntime and Numba are the ``field`` extra and are imported only here.
"""

MIN_SITE_HECTARES = 0.02  # the smallest site ``field detect`` keeps by default (SHEKTEU_FIELD_MIN_HECTARES)


class FieldError(ValueError):
    """A raster, boundaries or site file that cannot be used; the message names the file and the problem."""


def need_extra() -> None:
    """Fail with a one-line message when the ``field`` extra is missing, instead of an ImportError."""
    try:
        import numba  # noqa: F401
        import onnxruntime  # noqa: F401
        import pyproj  # noqa: F401
        import rasterio  # noqa: F401
        import shapely  # noqa: F401
    except ImportError as exc:
        raise FieldError(
            f"field mapping needs the field extra: pip install 'shekteu[field]' ({exc.name} missing)"
        ) from None
