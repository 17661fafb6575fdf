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

from shekteu.cli.common import JsonOpt, UserError, app, open_runtime
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
        Path | None, typer.Option("--out", help="Model file to write (default: models/detector.npz in the data "
                                  "directory; the packaged model is never overwritten unless named here).")
    ] = None,
    synthetic: Annotated[
        int, typer.Option("--synthetic", min=0, help="Generated messages per label.")
    ] = 3000,
    seed: Annotated[int, typer.Option("--seed", help="Seed for generated data and folds.")] = 20261122,
    cv: Annotated[
        int, typer.Option("--cv", min=0, help="Cross-validate on --data with K folds first (0: skip).")
    ] = 0,
    feedback: Annotated[
        bool, typer.Option("--feedback", help="Also learn from analysts' corrections (shekteu verdicts); "
                           "files the model in the registry.")
    ] = False,
    register: Annotated[
        bool, typer.Option("--register", help="File the model in the registry (promote it with model promote).")
    ] = False,
) -> None:
    """Train the detector reproducibly from labelled JSONL plus generated messages (and corrections)."""
    try:
        from shekteu.detect import train
    except ImportError as exc:
        raise UserError(f"training needs the train extra (pip install 'shekteu[train]'): {exc}") from None
    from shekteu.detect.lexicon import LexiconError

    try:
        real = [e for path in data or [] for e in train.read_labelled(path)]
        rt = open_runtime() if feedback or register else None
        corrections = _corrections(rt) if feedback and rt else []
        real += corrections
        generated = train.synthetic(synthetic, seed) if synthetic else []
        meta: dict[str, Any] = {
            "data": [str(p) for p in data or []],
            "synthetic_per_label": synthetic,
            "seed": seed,
            "feedback": len(corrections),
        }
        if cv:
            meta.update(_honest_evaluation(real, generated, cv))
        with progress(1, "training") as bar:
            detector = train.fit(real + generated, meta=meta)
            bar.advance(bar.task_ids[0])
    except (train.TrainingError, LexiconError) as exc:
        raise UserError(str(exc)) from None
    except ImportError as exc:  # scikit-learn, SciPy or pymorphy3 missing
        raise UserError(f"training needs the train extra (pip install 'shekteu[train]'): {exc}") from None
    if rt is not None:
        _register(rt, detector, out_path)
        return
    target = out_path or open_runtime().settings.data_dir / "models" / "detector.npz"
    target.parent.mkdir(parents=True, exist_ok=True)
    version = detector.save(target)
    size = target.stat().st_size
    out.print(f"model {version} written to {target} ({size / 1e6:.1f} MB, {len(real)} labelled + "
              f"{len(generated)} generated examples)")  # fmt: skip
    if out_path is None:
        out.print(f"use it with SHEKTEU_MODEL_PATH={target}, or train with --register and promote it")


def _corrections(rt: Any) -> list[Any]:
    """Analysts' corrections as training examples; they count double (each is a real, checked message)."""
    from shekteu.detect.feedback import training_rows
    from shekteu.detect.train import FEEDBACK_WEIGHT, Example

    with rt.db.read() as s:
        rows = training_rows(s)
    if not rows:
        raise UserError("no corrections to learn from yet (shekteu verdicts correct ITEM --label L --as USER)")
    return [Example(text, label, item, FEEDBACK_WEIGHT, source="feedback") for item, text, label in rows]


def _register(rt: Any, detector: Any, out_path: Path | None) -> None:
    from shekteu import audit
    from shekteu.detect import registry

    target = out_path or rt.models_dir / "training.npz"
    detector.save(target)
    with rt.db.write() as s:
        row = registry.register(s, target, rt.models_dir, actor=audit.current_actor())
        version, figures = row.version, row.figures
    if out_path is None:
        target.unlink(missing_ok=True)
    loso = figures.get("leave_one_source_out") or {}
    out.print(f"model {version} filed in the registry ({figures.get('feedback', 0)} corrections learnt"
              + (f", leave-one-source-out F1 {loso['f1']:.3f}" if loso else "") + f"); "
              f"put it in use with: shekteu model promote {version}")  # fmt: skip


def _honest_evaluation(real: list[Any], generated: list[Any], k: int) -> dict[str, Any]:
    """Near-duplicate-grouped k-fold and leave-one-source-out figures, printed and returned for the model file."""
    from shekteu.detect import evaluate, train

    sources = sorted({evaluate.source_of(e) for e in real})
    with progress(k + len(sources), f"{k}-fold grouped cross-validation, then leave-one-source-out") as bar:
        step = lambda: bar.advance(bar.task_ids[0])  # noqa: E731
        grouped = evaluate.grouped_cross_validation(real, generated, k, on_fold=step)
        by_source = evaluate.leave_one_source_out(real, generated, on_fold=step) if len(sources) > 1 else []
    result: dict[str, Any] = {"cross_validation": {"folds": k, "grouping": "near-duplicate",
                                                   **train.scores([(p.truth, p.label) for p in grouped])}}  # fmt: skip
    _print_scores(result["cross_validation"])
    if by_source:
        report = evaluate.summary(by_source)
        result["leave_one_source_out"] = {"binary": report["binary"], "by_source": report["by_source"],
                                          "calibration": {name: value for name, value in report["calibration"].items()
                                                          if name != "bins"}}  # fmt: skip
        b = report["binary"]
        out.print(f"leave-one-source-out: precision {b['precision']:.3f}, recall {b['recall']:.3f}, F1 {b['f1']:.3f}, "
                  f"false positives {b['false_positive_rate']:.2%} of {b['negatives']}")  # fmt: skip
    return result


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
def analyse(
    json_out: JsonOpt = False,
    model: Annotated[str | None, typer.Option("--model", help="Re-score with this registered model version.")] = None,
) -> None:
    """Classify stored items that have no verdict by the current model, and store their indicators."""
    from shekteu.analysis import analyse_pending
    from shekteu.detect import registry
    from shekteu.detect.model import ModelError

    rt = open_runtime()
    try:
        detector = None
        if model:
            with rt.db.read() as s:
                detector = registry.load(registry.get(s, model))
        err.print(f"analysing items without a verdict by model {model or 'in use'} …")
        summary = analyse_pending(rt, detector=detector)
    except (ModelError, registry.RegistryError) as exc:
        raise UserError(str(exc)) from None
    if json_out:
        emit_json(summary.as_json())
    else:
        out.print(
            f"{summary.items} items analysed: {summary.positive} sale/recruit, {summary.indicators} indicator mentions"
        )
