"""Detection commands of the `shekteu` CLI: classify, indicators, model, items analyse.

Kept apart from ``cli`` so that neither grows past a screenful of commands; the commands register
on the same Typer app and follow the same rules (JSON Lines with ``--json``, one-line errors).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.table import Table

from shekteu.cli import JsonOpt, UserError, _runtime, app
from shekteu.terminal import emit_json, err, out, progress, safe

model_app = typer.Typer(no_args_is_help=True, help="The drug-sale / recruitment detector model.")
app.add_typer(model_app, name="model")
InputArg = Annotated[
    str, typer.Argument(help="JSON Lines with 'text' (and 'id'), or raw text lines; - = stdin.")
]


@contextmanager
def _open_input(name: str) -> Any:
    if name == "-":
        yield sys.stdin.buffer
        return
    try:
        handle: IO[bytes] = Path(name).open("rb")
    except OSError as exc:
        raise UserError(f"cannot read {name}: {exc.strerror}") from None
    with handle:
        yield handle


def _settings_only() -> Any:
    """Settings, detector and card policy without opening the database (classify needs none)."""
    from shekteu.detect.model import ModelError, load_detector
    from shekteu.indicators.extract import CardPolicy
    from shekteu.runtime import hash_key
    from shekteu.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        detector = load_detector(str(settings.model_path) if settings.model_path else None)
    except (SettingsError, ModelError) as exc:
        raise UserError(str(exc)) from None
    return detector, CardPolicy(hash_key(settings), settings.store_full_card_numbers)


@app.command()
def classify(input_file: InputArg = "-", json_out: JsonOpt = False) -> None:
    """Label each line sale / recruit / drug_other / other, with score, terms and indicators."""
    from shekteu.detect.stream import classify_lines

    detector, policy = _settings_only()
    with _open_input(input_file) as stream:
        for row in classify_lines(stream, detector, policy):
            if json_out:
                emit_json(row)
            elif "error" in row:
                out.print(f"{row['line']:>6}  [red]error[/]  {safe(row['error'])}")
            else:
                terms = ", ".join(t["term"] for t in row["terms"])
                colour = "red" if row["label"] in ("sale", "recruit") else "green"
                out.print(f"{row['line']:>6}  [{colour}]{row['label']:<10}[/] {row['score']:.3f}  "
                          f"{row['lang'] or '-':<5} {safe(terms, 80)}")  # fmt: skip


@app.command()
def indicators(input_file: InputArg = "-", json_out: JsonOpt = False) -> None:
    """Extract typed, normalised, validated indicators (handles, links, phones, cards, wallets …)."""
    from shekteu.detect.stream import indicator_lines

    _, policy = _settings_only()
    with _open_input(input_file) as stream:
        for row in indicator_lines(stream, policy):
            if json_out:
                emit_json(row)
            elif "error" in row:
                out.print(f"{row['line']:>6}  [red]error[/]  {safe(row['error'])}")
            else:
                for ind in row["indicators"]:
                    mark = "" if ind["valid"] else "  [red](invalid)[/]"
                    out.print(f"{row['line']:>6}  {ind['type']:<18} {safe(ind['normalized'], 90)}{mark}")


@model_app.command("train")
def model_train(
    data: Annotated[
        list[Path] | None, typer.Option("--data", help="Labelled JSONL (text, label); repeatable.")
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Model file to write (default: the packaged one).")
    ] = None,
    synthetic: Annotated[
        int, typer.Option("--synthetic", min=0, help="Generated messages per label.")
    ] = 1500,
    seed: Annotated[int, typer.Option("--seed", help="Seed for generated data and folds.")] = 20261122,
    cv: Annotated[
        int, typer.Option("--cv", min=0, help="Cross-validate on --data with K folds first (0: skip).")
    ] = 0,
) -> None:
    """Train the detector reproducibly from labelled JSONL plus generated messages."""
    try:
        from shekteu.detect import train
    except ImportError as exc:
        raise UserError(f"training needs the train extra (pip install 'shekteu[train]'): {exc}") from None
    from shekteu.detect.lexicon import LexiconError
    from shekteu.detect.model import default_path

    try:
        real = [e for path in data or [] for e in train.read_labelled(path)]
        generated = train.synthetic(synthetic, seed) if synthetic else []
        meta: dict[str, Any] = {
            "data": [str(p) for p in data or []],
            "synthetic_per_label": synthetic,
            "seed": seed,
        }
        if cv:
            with progress(cv, f"{cv}-fold cross-validation") as bar:
                pairs = train.cross_validate(
                    real, generated, cv, on_fold=lambda: bar.advance(bar.task_ids[0])
                )
            meta["cross_validation"] = {"folds": cv, **train.scores(pairs)}
            _print_scores(meta["cross_validation"])
        with progress(1, "training") as bar:
            detector = train.fit(real + generated, meta=meta)
            bar.advance(bar.task_ids[0])
    except (train.TrainingError, LexiconError) as exc:
        raise UserError(str(exc)) from None
    except ImportError as exc:  # scikit-learn, SciPy or pymorphy3 missing
        raise UserError(f"training needs the train extra (pip install 'shekteu[train]'): {exc}") from None
    target = out_path or default_path()
    version = detector.save(target)
    size = target.stat().st_size
    out.print(f"model {version} written to {target} ({size / 1e6:.1f} MB, {len(real)} labelled + "
              f"{len(generated)} generated examples)")  # fmt: skip


def _print_scores(scores: dict[str, Any]) -> None:
    table = Table("label", "precision", "recall", "F1", "support")
    for label, row in scores.items():
        if isinstance(row, dict) and "f1" in row:
            table.add_row(
                label,
                f"{row['precision']:.3f}",
                f"{row['recall']:.3f}",
                f"{row['f1']:.3f}",
                str(row["support"]),
            )
    out.print(table)
    rate = scores.get("drug_other_false_positive_rate")
    if rate:
        out.print(f"false positives on drug_other: {rate['rate']:.2%} of {rate['support']}")


@model_app.command("info")
def model_info(json_out: JsonOpt = False) -> None:
    """Show the model in use: version, training data and cross-validated figures."""
    detector, _ = _settings_only()
    info = {"version": detector.version, "labels": detector.labels, "bits": detector.bits,
            "concepts": detector.lexicon.concepts, **detector.meta}  # fmt: skip
    if json_out:
        emit_json(info)
        return
    for key, value in info.items():
        if key != "cross_validation":
            out.print(f"{key}: {safe(str(value), 200)}")
    if "cross_validation" in info:
        _print_scores(info["cross_validation"])


@app.command("analyse")
def analyse(json_out: JsonOpt = False) -> None:
    """Classify stored items that have no verdict by the current model, and store their indicators."""
    from shekteu.analysis import analyse_pending
    from shekteu.detect.model import ModelError

    rt = _runtime()
    err.print("analysing items without a verdict by the current model …")
    try:
        summary = analyse_pending(rt)
    except ModelError as exc:
        raise UserError(str(exc)) from None
    if json_out:
        emit_json(summary.as_json())
    else:
        out.print(
            f"{summary.items} items analysed: {summary.positive} sale/recruit, {summary.indicators} indicator mentions"
        )
