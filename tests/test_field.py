"""Field mapping end to end on real NAIP parcels moved to the Shu valley, and on Sentinel-2-like
band files of a season: detection, districts, hectares, windows, Dask, change, registry, exports
and bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rasterio")

from shapely.geometry import Polygon, box, mapping, shape

from shekteu.field import FieldError
from shekteu.field.detect import score_scene
from shekteu.field.imagery import open_scenes
from shekteu.field.model import load
from shekteu.field.pipeline import compare, detect_sites
from tests.dashboard import Dash
from tests.dashboard import dash as dash_fixture
from tests.fieldrasters import (
    NAIP,
    SHU,
    SHU_KATO_PREFIX,
    moved_parcel,
    season,
    square_site,
    utm_origin,
    write_tif,
)
from tests.people import make_staff
from tests.test_cli import lines, run

dash = dash_fixture  # the dashboard fixture, under its own name here
GROW = "20011016"  # one clear grow of 0.22 ha


def _labelled(name: str) -> list[Polygon]:
    tif = next(NAIP.glob(f"{name}*.tif"))
    shapes = json.loads(tif.with_suffix(".json").read_text())["shapes"]
    return [Polygon(s["points"]).buffer(0) for s in shapes if s["label"] == "cannabis"]


def test_detect_cli_finds_the_grow_in_shu_district_and_a_rerun_adds_nothing(env, tmp_path: Path) -> None:
    raster, labelled_ha = moved_parcel(GROW, tmp_path)
    out = tmp_path / "sites.geojson"
    first = run(env, "field", "detect", str(raster), "--out", str(out), "--json")
    assert first.returncode == 0, first.stderr
    result = lines(first.stdout)[0]
    assert set(result) == {"sites", "hectares", "by_district"}
    assert result["sites"] >= 1
    assert 0.5 * labelled_ha < result["hectares"] < 3 * labelled_ha
    (district,) = result["by_district"]
    assert district["kato"].startswith("3166") and district["name"] == "Шуский"
    assert district["hectares"] == pytest.approx(result["hectares"], abs=1e-3)
    features = json.loads(out.read_text())["features"]
    biggest = shape(features[0]["geometry"])
    assert {"hectares", "ndvi", "confidence", "date", "kato", "district"} <= set(features[0]["properties"])
    assert features[0]["properties"]["date"] == "2025-07-10"
    # the biggest site lies on the labelled grow (both in lon/lat)
    from pyproj import Transformer

    x0, y0 = utm_origin(*SHU)
    to_lonlat = Transformer.from_crs("EPSG:32643", "EPSG:4326", always_xy=True)
    (grow,) = _labelled(GROW)
    grow_ll = Polygon([to_lonlat.transform(x0 + 0.6 * c, y0 - 0.6 * r) for c, r in grow.exterior.coords])
    assert biggest.intersection(grow_ll).area > 0.5 * grow_ll.area
    assert f"registry: {result['sites']} new site(s), 0 already known" in first.stderr
    again = run(env, "field", "detect", str(raster), "--out", str(out), "--json")
    assert "registry: 0 new site(s)" in again.stderr
    listed = lines(run(env, "field", "sites", "list", "--json").stdout)
    assert len(listed) == result["sites"] and all(s["status"] == "suspected" for s in listed)


def test_hectares_do_not_depend_on_the_raster_crs(tmp_path: Path) -> None:
    a, _ = moved_parcel(GROW, tmp_path / "a", epsg=32643)
    b, _ = moved_parcel(GROW, tmp_path / "b", epsg=32642)
    ha_a = detect_sites([str(a)]).sites
    ha_b = detect_sites([str(b)]).sites
    assert sum(s.hectares for s in ha_a) == pytest.approx(sum(s.hectares for s in ha_b), rel=0.02)


def test_small_windows_give_the_same_grid_as_one_window(tmp_path: Path) -> None:
    raster, _ = moved_parcel("20013029", tmp_path)
    (scene,) = open_scenes([str(raster)])
    whole = score_scene(scene, core_cells=1024)
    tiled = score_scene(scene, core_cells=8, workers=2)  # many seams, each with real data past its halo
    assert np.array_equal(whole.usable, tiled.usable)
    # windows start on the network's pooling blocks and carry its whole receptive field as halo, and
    # one onnxruntime session serves both threads: the tiles must agree to float rounding
    assert np.allclose(whole.probability, tiled.probability, atol=1e-6)
    part = score_scene(scene, region=(13, 21, 30, 40), core_cells=16)  # grown to start on a pooling block
    assert (part.row0, part.col0) == (8, 16)
    rows, cols = part.probability.shape
    assert np.allclose(part.probability, whole.probability[8 : 8 + rows, 16 : 16 + cols], atol=1e-6)
    model = load()
    assert np.array_equal(
        model.mask(whole.probability, whole.usable), model.mask(tiled.probability, tiled.usable)
    )


def test_sections_give_the_same_sites_as_the_whole_scene(tmp_path: Path) -> None:
    raster, _ = moved_parcel(GROW, tmp_path / "aerial")
    whole = detect_sites([str(raster)], keep_grids=True, min_hectares=0.0)
    (grid,) = whole.grids
    rows, cols = np.nonzero(load().mask(grid.probability, grid.usable))
    assert rows.min() // 25 != rows.max() // 25 or cols.min() // 25 != cols.max() // 25  # a seam cuts it
    cut = detect_sites([str(raster)], keep_grids=True, min_hectares=0.0, section_cells=25)
    assert len(cut.grids) == 2 * 4  # 44 × 80 cells
    attributes = lambda d: [(s.hectares, s.ndvi, s.green, s.confidence, s.kato) for s in d.sites]  # noqa: E731
    assert attributes(cut) == attributes(whole) and whole.sites
    files = [str(p) for d in season(tmp_path / "s2").values() for p in sorted(d.iterdir())]
    assert attributes(detect_sites(files, section_cells=7)) == attributes(detect_sites(files))


def test_a_dask_cluster_gives_the_same_sites_and_a_dead_one_a_clear_error(tmp_path: Path) -> None:
    from distributed import LocalCluster

    raster, _ = moved_parcel(GROW, tmp_path)
    local = detect_sites([str(raster)])
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        remote = detect_sites([str(raster)], scheduler=cluster.scheduler_address)
    assert [s.hectares for s in remote.sites] == [s.hectares for s in local.sites]
    with pytest.raises(FieldError, match="cannot reach the Dask scheduler"):
        detect_sites([str(raster)], scheduler="tcp://127.0.0.1:9")


def test_sentinel2_season_finds_wild_hemp_not_irrigated_fields_or_trees(tmp_path: Path) -> None:
    folders = season(tmp_path)
    files = [str(p) for d in folders.values() for p in sorted(d.iterdir())]
    found = detect_sites(files)
    (site,) = found.sites
    assert site.hectares == pytest.approx(4.0, rel=0.05)  # the 20 × 20 px hemp patch at 10 m
    assert site.method == "sentinel2-phenology" and site.date == "2025-09-20"
    assert site.kato.startswith("3166")


def test_sentinel2_jpeg2000_band_files_and_the_baseline_offset(tmp_path: Path) -> None:
    folders = season(tmp_path, jp2=True)
    july = sorted(str(p) for p in folders["07"].iterdir())
    assert all(p.endswith(".jp2") for p in july)
    (scene,) = open_scenes(july)
    bands = scene.read(scene.layers[0], 10, 10, 20, 20, 0)  # the hemp patch
    from shekteu.field.features import indices

    ndvi = indices(bands)["ndvi"]
    assert abs(float(np.median(ndvi)) - 0.7) < 0.03  # with the +1000 left in, it would read about 0.5
    files = [str(p) for d in folders.values() for p in sorted(d.iterdir())]
    (site,) = detect_sites(files).sites
    assert site.hectares == pytest.approx(4.0, rel=0.05)


def test_sentinel2_clouds_are_masked(tmp_path: Path) -> None:
    folders = season(tmp_path)
    july = sorted(str(p) for p in folders["07"].iterdir())
    (scene,) = open_scenes(july)
    grid = score_scene(scene)
    assert not grid.usable[40:60, 40:60].any() and grid.usable[:40, :40].all()


def test_change_between_site_files(tmp_path: Path) -> None:
    x, y = SHU

    def square(dx: float, size: float) -> dict:
        return {
            "type": "Feature",
            "geometry": mapping(box(x + dx, y, x + dx + size, y + size)),
            "properties": {"ndvi": 0.6},
        }

    old = [square(0, 0.002), square(0.01, 0.002), square(0.02, 0.002), square(0.03, 0.002)]
    new = [square(0, 0.003), square(0.01, 0.001), square(0.02, 0.002), square(0.05, 0.002)]
    for name, feats in (("old", old), ("new", new)):
        (tmp_path / f"{name}.geojson").write_text(
            json.dumps({"type": "FeatureCollection", "features": feats})
        )
    layer, summary = compare([str(tmp_path / "old.geojson")], [str(tmp_path / "new.geojson")])
    counts = {k: v["sites"] for k, v in summary["changes"].items()}
    assert counts == {"new": 1, "grown": 1, "shrunk": 1, "unchanged": 1, "regrown": 0, "eradicated": 1,
                      "not_covered": 0}  # fmt: skip
    assert summary["old"]["sites"] == 4 and summary["new"]["sites"] == 4
    gone = next(f for f in layer if f["properties"]["change"] == "eradicated")
    assert gone["properties"]["evidence"] == "not-detected"


def test_change_says_regrown_per_district_and_how_much_of_each_site_the_new_pass_saw(
    env, tmp_path: Path
) -> None:
    """A site eradicated in the last pass (or destroyed in the registry) and green again is regrown;
    one still gone is not counted again; an old site mostly outside the new raster is not_covered, one
    mostly inside it and not re-detected is eradicated with the share seen; totals come per district."""
    raster, _ = moved_parcel(GROW, tmp_path)
    detected = tmp_path / "now.geojson"
    assert run(env, "field", "detect", str(raster), "--out", str(detected), "--no-save").returncode == 0
    now = json.loads(detected.read_text())["features"]
    assert now
    import rasterio

    with rasterio.open(raster) as ds:
        from pyproj import Transformer

        to_lonlat = Transformer.from_crs(ds.crs, "EPSG:4326", always_xy=True)
        left, bottom, right, top = ds.bounds
    (x0, y0), (x1, y1) = to_lonlat.transform(left, bottom), to_lonlat.transform(right, top)
    w = (x1 - x0) * 0.2

    def site(geometry, **props) -> dict:
        return {"type": "Feature", "geometry": mapping(geometry), "properties": {"hectares": 0.5, "ndvi": 0.6, **props}}

    old = [
        {**now[0], "properties": {**now[0]["properties"], "change": "eradicated"}},  # green again
        site(box(x1 - 0.25 * w, y0, x1 + 0.75 * w, y0 + w)),  # a quarter inside the new raster
        site(box(x0 + 0.01 * w, y1 - 0.31 * w, x0 + 0.21 * w, y1 - 0.01 * w)),  # inside, bare corner
        site(box(x0 - 0.5, y0, x0 - 0.49, y0 + 0.01), status="destroyed"),  # destroyed and not seen
    ]
    (tmp_path / "old.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": old}))
    out = tmp_path / "change.geojson"
    done = run(env, "field", "change", str(tmp_path / "old.geojson"), str(raster), "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    summary = lines(done.stdout)[0]
    layer = {}
    for f in json.loads(out.read_text())["features"]:
        layer.setdefault(f["properties"]["change"], []).append(f["properties"])
    assert summary["changes"]["regrown"]["sites"] == 1 and len(layer["regrown"]) == 1
    (unseen,) = layer["not_covered"]
    assert 0.1 < unseen["covered"] < 0.5
    (gone,) = layer["eradicated"]
    assert gone["covered"] > 0.9 and gone["evidence"] in ("ndvi-collapse", "not-detected")
    assert sum(v["sites"] for v in summary["changes"].values()) == 3  # the destroyed, unseen site: no change
    (row,) = [r for r in summary["by_district"] if r["kato"]]
    assert row["kato"].startswith(SHU_KATO_PREFIX) and row["changes"]["regrown"]["sites"] == 1


def test_change_calls_an_ndvi_collapse_eradication(env, tmp_path: Path) -> None:
    # The labelled grows are early-season plots (NAIP, June: NDVI below 0), so the July pass is a site
    # file as a mid-season detection would give it — green — and the September raster still shows
    # the plot, with nothing green on it: the plot is there, the plants are not.
    raster, _ = moved_parcel(GROW, tmp_path)
    july = tmp_path / "july.geojson"
    assert run(env, "field", "detect", str(raster), "--out", str(july), "--no-save").returncode == 0
    sites = json.loads(july.read_text())
    assert sites["features"]
    for f in sites["features"]:
        f["properties"].update(ndvi=0.62, green=0.8, date="2025-07-10")
    x, y = SHU  # and a site 10 km away, which the one-parcel September raster does not show
    far = {"type": "Feature", "geometry": mapping(box(x + 0.1, y, x + 0.102, y + 0.002)),
           "properties": {"ndvi": 0.6, "green": 0.7}}  # fmt: skip
    sites["features"].append(far)
    july.write_text(json.dumps(sites))
    out = tmp_path / "change.geojson"
    done = run(env, "field", "change", str(july), str(raster), "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    summary = lines(done.stdout)[0]
    assert summary["changes"]["eradicated"]["sites"] == summary["old"]["sites"] - 1 >= 1
    assert summary["changes"]["not_covered"]["sites"] == 1 and summary["changes"]["not_covered"]["hectares"] > 3
    layer = json.loads(out.read_text())["features"]
    gone = [f for f in layer if f["properties"]["change"] == "eradicated"]
    assert {f["properties"]["evidence"] for f in gone} == {"ndvi-collapse"}
    assert all(f["properties"]["ndvi_new"] < 0.2 for f in gone)
    (unseen,) = [f for f in layer if f["properties"]["change"] == "not_covered"]
    assert unseen["properties"]["hectares_new"] is None


def test_registry_lifecycle_is_audited_and_exports_read_back(rt, tmp_path: Path) -> None:
    import pyogrio

    make_staff(rt)
    from shekteu import audit
    from shekteu.field.exports import write
    from shekteu.field.registry import list_sites, move, site_feature, store

    raster, _ = moved_parcel(GROW, tmp_path)
    features = detect_sites([str(raster)]).features()
    features[0]["properties"]["district"] = '<b>"Шу" & co</b>'  # hostile text must be escaped in KML
    with rt.db.write() as s:
        assert store(s, features, actor="ann") == (len(features), 0)
        assert store(s, features, actor="ann") == (0, len(features))
    with rt.db.write() as s:
        site_id = list_sites(s)[0].id
        move(s, site_id, "confirmed", actor="bob", reason="drone flight 14")
        with pytest.raises(FieldError, match="it can become destroyed, not dismissed"):
            move(s, site_id, "dismissed", actor="bob", reason="x")
        move(s, site_id, "destroyed", actor="cora", reason="act 7")
    with rt.db.read() as s:
        rows = [site_feature(x) for x in list_sites(s)]
        trail = [(e.actor, e.action) for e in audit.search(s, target=f"field_site:{site_id}")]
        assert audit.verify_chain(s) == []
    assert ("bob", "field.confirmed") in trail and ("cora", "field.destroyed") in trail
    kml = write(tmp_path / "sites.kml", rows).read_text()
    root = ET.fromstring(kml)
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert len(root.findall(".//k:Placemark", ns)) == len(rows)
    assert "<b>" not in kml and "&lt;b&gt;" in kml
    assert root.find(".//k:Placemark/k:styleUrl", ns).text == "#destroyed"
    gpkg = write(tmp_path / "sites.gpkg", rows)
    info = pyogrio.read_info(str(gpkg))
    assert info["features"] == len(rows) and info["crs"] == "EPSG:4326"
    assert (
        json.loads(write(tmp_path / "s.geojson", rows).read_text())["features"][0]["properties"]["status"]
        == "destroyed"
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # refused before any database work
def test_bad_rasters_get_one_line_errors(env, tmp_path: Path) -> None:
    rgb = write_tif(
        tmp_path / "rgb.tif", np.ones((3, 20, 20), np.uint8), epsg=32643, origin=utm_origin(*SHU), res=0.6
    )
    nocrs = write_tif(
        tmp_path / "nocrs.tif", np.ones((4, 20, 20), np.uint8), epsg=None, origin=(0, 0), res=0.6
    )
    good, _ = moved_parcel(GROW, tmp_path)
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(good.read_bytes()[:4000])
    california, _ = moved_parcel(GROW, tmp_path / "ca", lonlat=(-120.5, 38.2))
    empty = write_tif(
        tmp_path / "empty.tif", np.zeros((4, 20, 20), np.uint8), epsg=32643, origin=utm_origin(*SHU), res=0.6,
        nodata=0,
    )
    cases = {
        rgb: "3 band(s); expected a 4-band",
        nocrs: "no coordinate reference system",
        corrupt: "not a readable raster",
        empty: "no valid pixels",
        tmp_path / "missing.tif": "no such file",
    }
    for path, message in cases.items():
        done = run(env, "field", "detect", str(path), "--out", str(tmp_path / "x.geojson"))
        assert done.returncode == 2, (path, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
    # Outside the shipped districts (across the border, or anywhere else): mapped, with no district.
    done = run(env, "field", "detect", str(california), "--out", str(tmp_path / "ca.geojson"), "--json")
    assert done.returncode == 0, done.stderr
    assert "outside every area" in done.stderr and "no district" in done.stderr
    result = json.loads(done.stdout)
    assert result["sites"] > 0
    assert all(row["kato"] is None for row in result["by_district"])
    done = run(env, "field", "detect", str(good), "--out", str(tmp_path / "x.shp"))
    assert done.returncode == 2 and "unknown export format 'shp'" in done.stderr
    bad_bounds = tmp_path / "b.geojson"
    bad_bounds.write_text("{not json")
    done = run(
        env,
        "field",
        "detect",
        str(good),
        "--out",
        str(tmp_path / "x.geojson"),
        "--boundaries",
        str(bad_bounds),
    )
    assert done.returncode == 2 and "cannot read boundaries" in done.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # training reads files; the database adds nothing
def test_train_command_writes_a_model_that_detect_can_use(env, tmp_path: Path) -> None:
    import shutil

    folders = [tmp_path / "parcels", tmp_path / "more", tmp_path / "unlabelled"]
    for folder in folders:
        folder.mkdir()
    for i, tif in enumerate(sorted(NAIP.glob("*_2016*.tif"))):  # labelled parcels in two folders
        for f in (tif, tif.with_suffix(".json")):
            shutil.copy(f, folders[i % 2] / f.name)
    shutil.copy(tif, folders[2] / "skipped_20160620.tif")  # a parcel without labels: a negative
    model = tmp_path / "model"
    done = run(env, "field", "train", str(folders[0]), str(folders[1]), "--negatives", str(folders[2]),
               "--out", str(model), "--iterations", "5", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    meta = lines(done.stdout)[0]
    assert meta["trained_on"]["parcels"] == 5 and meta["trained_on"]["negative_parcels"] == 1
    assert 0 <= meta["cv_by_parcel_pixel"]["f1"] <= 1
    assert (
        meta["network"]["training"]["iterations"] == 5 and (model / "hemp_net.onnx").stat().st_size > 100_000
    )
    raster, _ = moved_parcel(GROW, tmp_path)
    used = run(
        env,
        "field",
        "detect",
        str(raster),
        "--out",
        str(tmp_path / "s.kml"),
        "--model",
        str(model),
        "--json",
        "--no-save",
    )
    assert used.returncode == 0, used.stderr
    ET.fromstring((tmp_path / "s.kml").read_text())
    # --model is what detect loads: a broken network there is a clear error, not the shipped model
    (model / "hemp_net.onnx").write_bytes(b"not onnx")
    broken = run(
        env,
        "field",
        "detect",
        str(raster),
        "--out",
        str(tmp_path / "t.kml"),
        "--model",
        str(model),
        "--no-save",
    )
    assert (
        broken.returncode == 2
        and "cannot load the field model" in broken.stderr
        and "Traceback" not in broken.stderr
    )


def test_training_without_pytorch_says_what_to_install(env, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    code = "import sys; sys.modules['torch'] = None; from shekteu.cli import main; main()"  # an install without PyTorch
    done = subprocess.run([sys.executable, "-c", code, "field", "train", str(NAIP), "--out", str(tmp_path / "m")],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=900, check=False)  # fmt: skip
    assert done.returncode == 2 and "needs PyTorch" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "m").exists()


def test_the_registry_keeps_density_classes_and_names_the_destroyed_site_a_new_one_grows_on(rt) -> None:
    """A Sentinel-2 site's hectares per density class are stored and read back as ``field detect``
    writes them; a site mapped later over two destroyed ones records the one it covers most (and the
    audit says so), and one beside them records none."""
    from shekteu import audit
    from shekteu.field.registry import list_sites, move, site_feature, store

    make_staff(rt)
    lon, lat = SHU
    stand = square_site(lon, lat, method="sentinel2-phenology", hectares_dense=2.5, hectares_sparse=1.0,
                        hectares_isolated=0.25, date="2025-07-14")  # fmt: skip
    corner = square_site(lon + 0.0025, lat + 0.0025, date="2025-07-14")  # destroyed too, touched less
    with rt.db.write() as s:
        assert store(s, [stand, corner], actor="ann") == (2, 0)
        old, other = sorted(list_sites(s), key=lambda x: x.lon)
        for site in (old, other):
            move(s, site.id, "confirmed", actor="bob", reason="patrol 3")
            move(s, site.id, "destroyed", actor="cora", reason="act 12")
    again = square_site(lon + 0.001, lat + 0.001, date="2026-07-20")  # a quarter over the first plot
    beside = square_site(lon + 0.003, lat, date="2026-07-20")  # 80 m east: touches nothing
    with rt.db.write() as s:
        assert store(s, [again, beside], actor="ann") == (2, 0)
    with rt.db.read() as s:
        rows = {r.id: site_feature(r)["properties"] for r in list_sites(s)}
        (entry,) = [e for e in audit.search(s, action="field.detect") if e.detail.get("regrown")]
    first = rows[old.id]
    assert (first["hectares_dense"], first["hectares_sparse"], first["hectares_isolated"]) == (2.5, 1.0, 0.25)
    (grew,) = [r for r in rows.values() if r["regrowth_of"] == old.id]
    assert grew["status"] == "suspected" and "hectares_dense" not in grew
    assert sum(r["regrowth_of"] is None for r in rows.values()) == 3  # the old sites and the one beside
    assert entry.detail["regrown"] == [[grew["id"], old.id]]


def test_network_input_pools_half_cells_over_valid_pixels_only() -> None:
    from shekteu.field.features import network_input

    rng = np.random.default_rng(1)
    bands = {n: rng.random((8, 8), dtype=np.float32) for n in ("red", "green", "blue", "nir")}
    bands["valid"] = np.ones((8, 8), bool)
    bands["valid"][:2, :2] = False  # one half-cell with no data, and a quarter of a cell
    x, usable, ndvi, green = network_input(bands, 4)
    assert x.shape == (6, 4, 4) and usable.shape == (2, 2) and usable.all()
    assert np.allclose(x[:, 0, 0], 0)  # nothing valid: all channels zero, as nodata reads in training
    assert x[0, 1, 1] == pytest.approx(bands["red"][2:4, 2:4].mean())
    nd = (bands["nir"] - bands["red"]) / (bands["nir"] + bands["red"])
    assert ndvi[0, 0] == pytest.approx(nd[:4, :4][bands["valid"][:4, :4]].mean(), rel=1e-5)
    assert x[5, 1, 1] == pytest.approx(4 * nd[2:4, 2:4].std(), rel=1e-4)
    assert green[0, 0] == pytest.approx((nd[:4, :4][bands["valid"][:4, :4]] > 0.25).mean())
    small = {n: a[:6, :6].copy() for n, a in bands.items()}
    small["valid"][:2, :3] = False  # 3 of the first cell's 9 pixels valid: less than half
    odd, usable_odd, _, _ = network_input(small, 3)  # 1.8 m cells cannot be halved
    assert odd.shape == (6, 4, 4) and np.array_equal(odd[:, 0::2, 0::2], odd[:, 1::2, 1::2])
    assert not usable_odd[0, 0] and usable_odd[1, 1]


def test_dashboard_api_lists_sites_and_changes_them_by_role(dash: Dash) -> None:
    from shekteu import accounts
    from shekteu.field.registry import store

    with dash.rt.db.write() as s:
        store(s, [square_site(*SHU, kato="316600000", district="Шуский")], actor="test")
        tokens = {name: accounts.create_token(s, name, "tests", actor="test") for name in ("ann", "aud")}
    ann, aud = dash.client(), dash.client()
    ann.headers["Authorization"] = f"Bearer {tokens['ann']}"
    aud.headers["Authorization"] = f"Bearer {tokens['aud']}"
    (site,) = aud.get("/api/field/sites").json()["features"]
    site_id = site["properties"]["id"]
    assert site["properties"]["status"] == "suspected" and site["geometry"]["type"] == "Polygon"
    assert aud.post(f"/api/field/sites/{site_id}/confirmed", json={"reason": "seen"}).status_code == 403
    done = ann.post(f"/api/field/sites/{site_id}/confirmed", json={"reason": "drone flight 14"})
    assert done.status_code == 200 and done.json()["properties"]["status"] == "confirmed"
    wrong = ann.post(f"/api/field/sites/{site_id}/dismissed", json={"reason": "x"})
    assert wrong.status_code == 400 and "can become destroyed" in wrong.text
    assert ann.post(f"/api/field/sites/{site_id}/burnt", json={"reason": "x"}).status_code == 422
    assert aud.get("/api/field/sites?status=suspected").json()["features"] == []
    assert aud.get("/api/field/totals").json() == [
        {"kato": "316600000", "name": "Шуский", "status": "confirmed", "sites": 1, "hectares": 1.0}
    ]
    assert 'data-label-field="' in dash.login("ann").get("/dash/map").text


def test_object_counts_say_which_grows_were_found_and_which_sites_were_for_nothing() -> None:
    from shekteu.field.training import Parcel, object_counts

    target = np.zeros((40, 40), np.uint8)
    target[2:10, 2:10] = 1  # grow A: found
    target[30:38, 30:38] = 1  # grow B: missed
    ignore = np.zeros_like(target)
    ignore[2:6, 30:36] = 1  # a hoop house: a site on it is not "for nothing"
    mask = np.zeros((10, 10), bool)  # 4-pixel cells
    mask[1:3, 1:3] = True  # on grow A
    mask[0:1, 8:9] = True  # on the hoop house
    mask[5:7, 0:2] = True  # on nothing labelled
    cells = np.zeros((10, 10), bool)
    parcel = Parcel("p", 4, np.zeros((1, 10, 10), np.float32), ~cells, target, ignore, cells, cells, 0.36)
    assert object_counts(mask, parcel) == (1, 2, 2, 3)


def test_validation_scores_only_sites_that_detection_keeps() -> None:
    from shekteu.field.model import grow_mask
    from shekteu.field.training import Parcel, site_cells

    empty = np.zeros((20, 20), bool)
    parcel = Parcel("p", 4, np.zeros((6, 40, 40), np.float32), ~empty, empty, empty, empty, empty, 0.36)
    assert site_cells(parcel) == 35  # 200 m² of 5.76 m² cells
    probability = np.zeros((20, 20), np.float32)
    probability[1:7, 1:7] = 0.9  # 36 cells: kept
    probability[12:17, 12:19] = 0.9  # 35 cells: kept
    probability[12:16, 1:9] = 0.9  # 32 cells: dropped
    probability[2, 15] = probability[3, 16] = 0.9  # two diagonal cells: one site of 2, dropped
    kept = grow_mask(probability, ~empty, 0.5, 1, site_cells(parcel))
    assert kept.sum() == 36 + 35 and kept[1, 1] and kept[12, 12] and not kept[12, 1] and not kept[2, 15]
    assert grow_mask(probability, ~empty, 0.5, 1).sum() == 36 + 35 + 32 + 2
