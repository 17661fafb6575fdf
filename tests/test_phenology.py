"""Sentinel-2 plantation mapping by phenology (issue #28) on a real series with declared hemp fields:
curve cleaning, the tree ensemble as shipped JSON, training by field, detection with density
classes, and real L2A grids whose 20 m bands lie half a pixel off."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rasterio")

from shapely.geometry import shape

from shekteu.field import phenology
from shekteu.field.imagery import open_scenes
from shekteu.field.pipeline import detect_sites
from tests.fieldrasters import utm_origin, write_tif
from tests.test_cli import run

AUSTRIA = Path(__file__).resolve().parent / "data" / "s2_austria"


def _files() -> list[str]:
    return sorted(str(p) for p in AUSTRIA.glob("S2*/*.tif"))


def test_despike_and_interpolation_match_a_per_pixel_reference() -> None:
    rng = np.random.default_rng(3)
    doy = np.sort(rng.choice(np.arange(80, 290), 20, replace=False)).astype(np.float32)
    series = rng.uniform(0.1, 0.9, (20, 300)).astype(np.float32)
    series[rng.random(series.shape) < 0.4] = np.nan
    series[:, 0] = np.nan  # never clear
    series[:, 1] = np.nan
    series[5, 1] = 0.5  # one clear date: held flat
    clean = phenology.despike(series)
    grid = phenology.interpolate(clean, doy)
    for n in range(series.shape[1]):
        ok = np.flatnonzero(np.isfinite(series[:, n]))
        keep = np.isfinite(series[:, n])
        for a, b, c in zip(ok, ok[1:], ok[2:], strict=False):
            if series[b, n] < series[a, n] - 0.05 and series[b, n] < series[c, n] - 0.05:
                keep[b] = False
        assert np.array_equal(np.isfinite(clean[:, n]), keep), n
        if keep.any():
            want = np.interp(phenology.GRID_DOY, doy[keep], series[keep, n])
            assert np.allclose(grid[:, n], want, atol=1e-5), n
        else:
            assert np.isnan(grid[:, n]).all()


def test_the_tree_ensemble_as_json_answers_as_scikit_learn() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] ** 2 > 1).astype(int)
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values take the side training sent them
    clf = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=7, random_state=0).fit(x, y)
    trees = phenology.Trees.from_json(json.loads(json.dumps(phenology.Trees.from_sklearn(clf, 0.5, {}).to_json())))
    assert np.allclose(trees.probability(x), clf.predict_proba(x)[:, 1], atol=1e-6)


def test_density_classes_tell_thickets_from_scattered_and_single_clumps() -> None:
    mask = np.zeros((40, 40), bool)
    mask[2:12, 2:12] = True  # a thicket
    mask[20:30:2, 20:30:2] = True  # scattered plants, 2 cells apart: 9 of 25 cells around each
    mask[35, 5] = True  # one clump
    classes = phenology.density_classes(mask)
    assert (classes[4:10, 4:10] == 1).all()
    assert set(np.unique(classes[20:30:2, 20:30:2])) <= {2, 3} and (classes[24, 24] == 2)
    assert classes[35, 5] == 3 and (classes[~mask] == 0).all()


def test_a_real_series_named_by_folder_with_20m_bands_half_a_pixel_off_opens() -> None:
    (scene,) = open_scenes(_files())
    assert scene.kind == "sentinel2" and len(scene.layers) == 24
    assert scene.layers[0].when == date(2018, 4, 6) and scene.layers[-1].when == date(2018, 9, 28)
    assert set(scene.layers[0].bands) == {"red", "nir", "scl"}  # no B03 in this series: not needed


def test_a_20m_cloud_mask_is_read_where_it_lies_on_the_ground(tmp_path: Path) -> None:
    """The SCL grid starts 10 m north of the 10 m grid (as real L2A tiles can): a cloud pixel of SCL
    must mask the 10 m pixels under it, not those one row off."""
    x0, y0 = utm_origin(73.75, 43.62)
    red = np.full((1, 40, 40), 1800, np.uint16)
    nir = np.full((1, 40, 40), 4000, np.uint16)
    scl = np.full((1, 21, 20), 4, np.uint8)
    scl[0, 5, 5] = 9  # ground y from y0+10-100 to y0+10-120: 10 m rows 9…10 and half of 11 → rows 9, 10
    d = tmp_path / "S2A_MSIL2A_20250714T062631_N0511"
    d.mkdir()
    write_tif(d / "B04.tif", red, epsg=32643, origin=(x0, y0), res=10)
    write_tif(d / "B08.tif", nir, epsg=32643, origin=(x0, y0), res=10)
    write_tif(d / "SCL.tif", scl, epsg=32643, origin=(x0, y0 + 10), res=20)
    (scene,) = open_scenes(sorted(str(p) for p in d.iterdir()))
    valid = scene.read(scene.layers[0], 0, 0, 40, 40, 0)["valid"]
    cloudy = np.argwhere(~valid)
    assert set(cloudy[:, 0]) == {9, 10} and set(cloudy[:, 1]) == {10, 11}  # by index: rows 10–11
    assert scene.layers[0].when == date(2025, 7, 14)


def test_folds_hold_whole_fields_and_spread_the_hemp_fields() -> None:
    from shekteu.field.phenology_training import field_folds

    fid = np.repeat(np.arange(30), 7)  # 30 fields of 7 pixels, fields 0-5 hemp
    y = (fid < 6).astype(np.int8)
    fold = field_folds(y, fid, 3)
    assert all(len(set(fold[fid == f])) == 1 for f in range(30))  # a field never straddles two folds
    assert [len({f for f in range(6) if fold[fid == f][0] == k}) for k in range(3)] == [2, 2, 2]
    assert len(set(field_folds(y[:70], fid[:70]))) == 10  # ten fields: one at a time
    assert len(set(field_folds(y, fid))) == 10  # thirty: ten folds


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # files in, a file out: no database
def test_train_phenology_by_field_then_detect_plantations_with_density(env, tmp_path: Path) -> None:
    model = tmp_path / "model"
    done = run(env, "field", "train-phenology", str(AUSTRIA), "--fields", str(AUSTRIA / "fields.geojson"),
               "--out", str(model), "--folds", "3", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    meta = json.loads(done.stdout)
    cv = meta["cv_by_field"]
    assert cv["fields"] == 15 and cv["positive_fields"] == 5 and cv["folds"] == 3
    assert set(cv["field"]) >= {"precision", "recall", "f1"} and 0 <= cv["field"]["f1"] <= 1
    assert (model / "phenology.json").stat().st_size > 10_000
    (tmp_path / "bad.geojson").write_text('{"type": "FeatureCollection", "features": [{"geometry": ')
    for fields in (tmp_path / "bad.geojson", AUSTRIA / "NOTICE"):
        bad = run(env, "field", "train-phenology", str(AUSTRIA), "--fields", str(fields), "--out", str(tmp_path / "x"))
        assert bad.returncode != 0 and "not a GeoJSON of field polygons" in bad.stderr and "Traceback" not in bad.stderr

    found = detect_sites(_files(), phenology=str(model / "phenology.json"))
    assert found.sites and all(s.method == "sentinel2-plantation" for s in found.sites)
    for s in found.sites:
        assert sum(s.density.values()) == pytest.approx(s.hectares, abs=1e-3)
    fields = json.loads((AUSTRIA / "fields.geojson").read_text())["features"]
    covered = {True: [], False: []}
    from shapely.ops import unary_union

    drawn = unary_union([s.geometry for s in found.sites])
    for f in fields:
        g = shape(f["geometry"])
        covered[f["properties"]["crop"] == "hemp_cannabis"].append(drawn.intersection(g).area / g.area)
    # The model saw these fields (in-sample): this checks the wiring, not accuracy (bench/field.py does).
    assert np.mean(covered[True]) > 0.6 and np.mean(covered[False]) < 0.3, covered


def test_detect_cli_reports_hectares_by_density_for_the_shipped_plantation_model(env, tmp_path: Path) -> None:
    out = tmp_path / "sites.geojson"
    done = run(env, "field", "detect", str(AUSTRIA), "--phenology", "cultivated", "--out", str(out),
               "--no-save", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)["by_district"]  # Austria: outside the districts
    assert row["kato"] is None and set(row["by_density"]) == {"dense", "sparse", "isolated"}
    assert sum(row["by_density"].values()) == pytest.approx(row["hectares"], abs=0.01)
    feature = json.loads(out.read_text())["features"][0]
    assert {"hectares_dense", "hectares_sparse", "hectares_isolated"} <= set(feature["properties"])
    bad = run(env, "field", "detect", str(AUSTRIA), "--phenology", "nonsense", "--out", str(out))
    assert bad.returncode != 0 and "--phenology" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("damage", ["child", "feature", "length", "depth"])
def test_a_hostile_model_file_is_refused_when_loaded_not_mid_run(tmp_path: Path, damage: str) -> None:
    """A --phenology MODEL file whose indices point outside its arrays would index out of bounds (or
    take a wrong branch) while scoring; it is refused at load, naming the tree."""
    doc = phenology.load().to_json()
    tree = doc["trees"][3]
    inner = tree["leaf"].index(False)
    if damage == "child":
        tree["left"][inner] = len(tree["leaf"]) + 5
    elif damage == "feature":
        tree["feature"][inner] = phenology.N_FEATURES
    elif damage == "length":
        tree["value"] = tree["value"][:-1]
    else:
        tree["depth"] = 10_000
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(phenology.FieldError, match="tree 3"):
        phenology.load(str(path))
