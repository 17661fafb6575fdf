"""`shekteu field`: map hemp and cannabis sites from imagery, compare passes, keep the registry
(thin commands over ``shekteu.field``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shekteu.cli.common import JsonOpt, UserError, app
from shekteu.field.network import TRAIN  # NumPy only: PyTorch is imported when training starts
from shekteu.terminal import emit_json, err, out, safe

field_app = typer.Typer(
    no_args_is_help=True, help="Field: hemp/cannabis sites from aerial and satellite imagery."
)
sites_app = typer.Typer(
    no_args_is_help=True, help="The registry of field sites: suspected → confirmed → destroyed."
)
app.add_typer(field_app, name="field")
field_app.add_typer(sites_app, name="sites")

SchedulerOpt = Annotated[
    str | None,
    typer.Option("--scheduler", help="Dask scheduler address (tcp://host:8786); default: local threads."),
]
BoundariesOpt = Annotated[
    Path | None,
    typer.Option("--boundaries", help="Districts GeoJSON (KATO, names); default: the shipped KZ districts."),
]
ModelOpt = Annotated[
    Path | None, typer.Option("--model", help="A model folder from `field train` instead of the shipped one.")
]
PhenologyOpt = Annotated[
    str,
    typer.Option(
        "--phenology",
        help="Sentinel-2 scoring: 'wild' (the wild-stand season rule), 'cultivated' (the plantation model "
        "learnt from declared hemp fields) or a model from `field train-phenology`.",
    ),
]


def _phenology(value: str) -> str:
    if value in ("wild", "cultivated"):
        return value
    path = Path(value)
    if path.is_dir():
        path = path / "phenology.json"
    if not path.is_file():
        raise UserError(f"--phenology: expected 'wild', 'cultivated' or a phenology model file/folder, got {value!r}")
    return str(path)


def _rasters(paths: list[Path]) -> list[str]:
    """Files as given; a folder stands for the rasters in it (Sentinel-2 band files of one pass), or,
    holding none, for those of its sub-folders (a time series: one product folder per date)."""
    found: list[str] = []

    def rasters(folder: Path) -> list[str]:
        return sorted(str(f) for f in folder.iterdir() if f.is_file() and f.suffix.lower() in (".tif", ".tiff", ".jp2"))

    for p in paths:
        if p.is_dir():
            found += rasters(p) or [f for sub in sorted(p.iterdir()) if sub.is_dir() for f in rasters(sub)]
        else:
            found.append(str(p))
    return found


class _Bars:
    """One Rich progress bar per scene, fed by the pipeline's (scene, done, total) callbacks."""

    def __init__(self) -> None:
        from shekteu.terminal import progress

        self.bar = progress(None, "field")
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        self.bar.__enter__()
        self.bar.remove_task(self.bar.task_ids[0])
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def __call__(self, scene: str, done: int, total: int) -> None:
        if scene not in self.tasks:
            self.tasks[scene] = self.bar.add_task(safe(scene, 40), total=total)
        self.bar.update(self.tasks[scene], completed=done)


def _settings():
    from shekteu.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        raise UserError(str(exc)) from None


def _workers(settings) -> int:
    import os

    return settings.field_workers or max(1, len(os.sched_getaffinity(0)))


@field_app.command("detect")
def detect_cmd(
    rasters: Annotated[
        list[Path], typer.Argument(help="4-band aerial GeoTIFFs, or Sentinel-2 band files / folders.")
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Sites file: .geojson, .kml or .gpkg.")],
    boundaries: BoundariesOpt = None,
    scheduler: SchedulerOpt = None,
    model: ModelOpt = None,
    phenology: PhenologyOpt = "wild",
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Store the sites in the registry as suspected.")
    ] = True,
    json_out: JsonOpt = False,
) -> None:
    """Find hemp/cannabis sites: polygons with hectares, NDVI, confidence, date and district (KATO)."""
    from shekteu.field import FieldError
    from shekteu.field.exports import format_for, write
    from shekteu.field.pipeline import detect_sites
    from shekteu.field.sites import summary

    settings = _settings()
    try:
        format_for(out_path)  # a bad --out fails now, not after the imagery is read
        with _Bars() as bars:
            found = detect_sites(
                _rasters(rasters), boundaries=str(boundaries) if boundaries else None, model_dir=str(model) if model else None,
                scheduler=scheduler, workers=_workers(settings), min_hectares=settings.field_min_hectares, on_progress=bars,
                phenology=_phenology(phenology),
            )  # fmt: skip
        features = found.features()
        write(out_path, features)
    except FieldError as exc:
        raise UserError(str(exc)) from None
    for warning in found.warnings:
        err.print(f"warning: {safe(warning)}")
    if save:
        _store(features)
    result = summary(found.sites)
    if json_out:
        emit_json(result)
        return
    table = Table("KATO", "district", "sites", "hectares")
    for row in result["by_district"]:
        table.add_row(
            row["kato"] or "-",
            safe(row["name"] or "outside the districts"),
            str(row["sites"]),
            f"{row['hectares']:.2f}",
        )
    out.print(table)
    out.print(f"{result['sites']} site(s), {result['hectares']:.2f} ha → {safe(out_path)}")


def _store(features: list[dict]) -> None:
    from shekteu import audit
    from shekteu.cli.common import open_runtime
    from shekteu.field.registry import store

    rt = open_runtime()
    with rt.db.write() as session:
        added, known = store(session, features, actor=audit.current_actor())
    err.print(f"registry: {added} new site(s), {known} already known")


@field_app.command("change")
def change_cmd(
    old: Annotated[
        Path, typer.Argument(help="The earlier pass: a sites GeoJSON, a raster, or a folder of band files.")
    ],
    new: Annotated[Path, typer.Argument(help="The later pass, likewise.")],
    out_path: Annotated[Path, typer.Option("--out", help="Change layer: .geojson, .kml or .gpkg.")],
    boundaries: BoundariesOpt = None,
    scheduler: SchedulerOpt = None,
    model: ModelOpt = None,
    phenology: PhenologyOpt = "wild",
    json_out: JsonOpt = False,
) -> None:
    """What changed between two passes: new, grown, shrunk, unchanged, eradicated and not covered sites."""
    from shekteu.field import FieldError
    from shekteu.field.exports import format_for, write
    from shekteu.field.pipeline import compare

    settings = _settings()
    try:
        format_for(out_path)
        with _Bars() as bars:
            layer, result = compare(
                _rasters([old]), _rasters([new]), boundaries=str(boundaries) if boundaries else None,
                model_dir=str(model) if model else None, scheduler=scheduler, workers=_workers(settings),
                min_hectares=settings.field_min_hectares, on_progress=bars, phenology=_phenology(phenology),
            )  # fmt: skip
        write(out_path, layer)
    except FieldError as exc:
        raise UserError(str(exc)) from None
    if json_out:
        emit_json(result)
        return
    table = Table("change", "sites", "hectares")
    for kind, row in result["changes"].items():
        table.add_row(kind, str(row["sites"]), f"{row['hectares']:.2f}")
    out.print(table)
    kinds = [k for k, row in result["changes"].items() if row["sites"]]
    if kinds:
        table = Table("KATO", "district", *(f"{k} ha" for k in kinds))
        for row in result["by_district"]:
            table.add_row(row["kato"] or "-", safe(row["name"] or "outside the districts"),
                          *(f"{row['changes'][k]['hectares']:.2f}" for k in kinds))  # fmt: skip
        out.print(table)
    out.print(f"old {result['old']['sites']} site(s) {result['old']['hectares']:.2f} ha → "
              f"new {result['new']['sites']} site(s) {result['new']['hectares']:.2f} ha; layer → {safe(out_path)}")  # fmt: skip


@field_app.command("train")
def train_cmd(
    folders: Annotated[list[Path], typer.Argument(help="Folders of parcels: GeoTIFF + LabelMe JSON of the same name.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the model (use it with --model).")],
    iterations: Annotated[
        int,
        typer.Option(
            "--iterations", min=1, help="Training steps per fit (six fits: 5 CV folds + the final one)."
        ),
    ] = TRAIN["iterations"],
    negatives: Annotated[
        Path | None,
        typer.Option("--negatives", help="Folder of unlabelled parcels showing no cultivation: trained on as negative."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Train the aerial network (5-fold CV by parcel picks the threshold) and save it. Needs PyTorch."""
    from shekteu.field import FieldError, need_extra
    from shekteu.field.training import train
    from shekteu.terminal import progress

    total = sum(len(list(f.glob("*.tif"))) for f in [*folders, *([negatives] if negatives else [])] if f.is_dir())
    try:
        need_extra()
        with progress(total, "reading parcels") as bar:
            task = bar.task_ids[0]

            def step(done: int, steps: int) -> None:
                bar.update(task, completed=done, total=steps, description="training (5 folds + final)")

            meta = train(folders, out_dir, on_done=lambda _name: bar.advance(task),
                         settings={"iterations": iterations}, on_step=step, negatives=negatives)  # fmt: skip
    except FieldError as exc:
        raise UserError(str(exc)) from None
    cv = meta["cv_by_parcel_pixel"]
    if json_out:
        emit_json(meta)
    else:
        out.print(f"{meta['trained_on']['parcels']} parcels; CV by parcel: precision {cv['precision']:.3f}, "
                  f"recall {cv['recall']:.3f}, F1 {cv['f1']:.3f} at threshold {meta['threshold']} → {safe(out_dir)}")  # fmt: skip


@field_app.command("train-phenology")
def train_phenology_cmd(
    rasters: Annotated[list[Path], typer.Argument(help="One Sentinel-2 tile's dated band files or folders.")],
    fields: Annotated[Path, typer.Option("--fields", help="GeoJSON of declared field polygons.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the model (use it with --phenology).")],
    label: Annotated[str, typer.Option("--label", help="The fields' property that names the crop.")] = "crop",
    positive: Annotated[str, typer.Option("--positive", help="The crop value that is hemp.")] = "hemp_cannabis",
    folds: Annotated[int | None, typer.Option("--folds", min=2, help="Validate in K folds of whole fields "
                                              "(default: one field at a time up to 20 fields, else 10).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Train the Sentinel-2 plantation model on declared fields (validated on fields it never saw)."""
    from shekteu.field import FieldError, need_extra
    from shekteu.field.phenology_training import train
    from shekteu.terminal import progress

    try:
        need_extra()
        with progress(0, "validating by field") as bar:
            task = bar.task_ids[0]
            meta = train(_rasters(rasters), fields, out_dir, label_key=label, positive=positive, folds=folds,
                         on_fold=lambda done, total: bar.update(task, completed=done, total=total))  # fmt: skip
    except FieldError as exc:
        raise UserError(str(exc)) from None
    if json_out:
        emit_json(meta)
        return
    cv = meta["cv_by_field"]
    held = "one field held out at a time" if cv["folds"] == cv["fields"] else f"{cv['folds']} folds of whole fields"
    out.print(f"{cv['fields']} fields ({cv['positive_fields']} {safe(positive)}); {held}: "
              f"field F1 {cv['field']['f1']:.3f}, pixel F1 {cv['pixel']['f1']:.3f} → {safe(out_dir)}")  # fmt: skip


def _registry(fn, *args, **kwargs):
    from shekteu.cli.common import open_runtime
    from shekteu.field import FieldError

    rt = open_runtime()
    try:
        with rt.db.write() as session:
            return fn(session, *args, **kwargs)
    except FieldError as exc:
        raise UserError(str(exc)) from None


@sites_app.command("list")
def sites_list(
    status: Annotated[
        str | None, typer.Option("--status", help="suspected, confirmed, destroyed or dismissed.")
    ] = None,
    kato: Annotated[str | None, typer.Option("--kato", help="Only this district (KATO code).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List stored sites, largest first."""
    from shekteu.field.registry import list_sites, site_feature

    rows = _registry(
        lambda s: [site_feature(x)["properties"] for x in list_sites(s, status=status, kato=kato)]
    )
    if json_out:
        for row in rows:
            emit_json(row)
        return
    table = Table("id", "status", "hectares", "ndvi", "conf", "date", "KATO", "district", "source", "green again on")
    for r in rows:
        table.add_row(str(r["id"]), r["status"], f"{r['hectares']:.3f}", f"{r['ndvi'] or 0:.2f}", f"{r['confidence'] or 0:.2f}",
                      r["date"] or "-", r["kato"] or "-", safe(r["district"] or "-", 30), safe(r["source"], 30),
                      f"#{r['regrowth_of']} (destroyed)" if r["regrowth_of"] else "")  # fmt: skip
    out.print(table)


def _move_cmd(to: str):
    def command(
        site_id: Annotated[int, typer.Argument(help="Site id (see `field sites list`).")],
        reason: Annotated[
            str, typer.Option("--reason", help="Why: patrol report, drone flight, act number …")
        ],
        actor: Annotated[
            str | None, typer.Option("--as", help="Acting user (default: the local account).")
        ] = None,
        json_out: JsonOpt = False,
    ) -> None:
        from shekteu import audit
        from shekteu.field.registry import move, site_feature

        row = _registry(
            lambda s: site_feature(move(s, site_id, to, actor=actor or audit.current_actor(), reason=reason))
        )
        if json_out:
            emit_json(row["properties"])
        else:
            out.print(f"field site {site_id}: {to}")

    command.__doc__ = f"Mark a site {to} (audited)."
    return command


for _status in ("confirmed", "destroyed", "dismissed"):
    sites_app.command({"confirmed": "confirm", "destroyed": "destroy", "dismissed": "dismiss"}[_status])(
        _move_cmd(_status)
    )


@sites_app.command("export")
def sites_export(
    out_path: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="geojson, kml or gpkg (default: from --out).")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only sites in this status.")] = None,
) -> None:
    """Export the registry for maps, drone and patrol apps (KML) or GIS (GeoPackage)."""
    from shekteu.field import FieldError
    from shekteu.field.exports import write
    from shekteu.field.registry import list_sites, site_feature

    features = _registry(lambda s: [site_feature(x) for x in list_sites(s, status=status)])
    try:
        write(out_path, features, fmt)
    except FieldError as exc:
        raise UserError(str(exc)) from None
    err.print(f"{len(features)} site(s) → {safe(out_path)}")
