"""Model registry and drift commands of the `shekteu` CLI: list, promote, rollback, drift (issue 21).

They join ``model train`` and ``model info`` (``cli_detect``) on the same ``model`` group; the work
is in ``detect/registry.py`` and ``detect/drift.py``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shekteu.cli.common import JsonOpt, UserError, open_runtime
from shekteu.cli.detect import model_app
from shekteu.terminal import emit_json, out, safe

AsOpt = Annotated[str | None, typer.Option("--as", help="Acting user (default: the local account).")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit log).")]


def _f1(figures: dict, key: str) -> str:
    row = figures.get(key) or {}
    return f"{row['f1']:.3f}" if isinstance(row, dict) and "f1" in row else "-"


@model_app.command("list")
def model_list(json_out: JsonOpt = False) -> None:
    """Every model: the packaged one and each filed in the registry, with figures and which is in use."""
    from shekteu.detect import registry

    rt = open_runtime()
    with rt.db.read() as s:
        rows = registry.listing(s)
    if json_out:
        for r in rows:
            emit_json(r)
        return
    out.print(f"  {'version':<18}{'in use':<8}{'by':<14}{'grouped F1':>11}{'LOSO F1':>9}{'corrections':>13}  created")
    for r in rows:
        f = r["figures"] or {}
        out.print(f"  {r['version']:<18}{'yes' if r['active'] else '':<8}{safe(r['by'], 13):<14}"
                  f"{_f1(f, 'grouped_cv'):>11}{_f1(f, 'leave_one_source_out'):>9}{f.get('feedback') or 0:>13}  "
                  f"{(r['created_at'] or '')[:16]}")  # fmt: skip


def _switch(do, what: str) -> None:  # type: ignore[no-untyped-def]
    from shekteu.detect.registry import RegistryError
    from shekteu.users import UserError as AccountError

    rt = open_runtime()
    try:
        with rt.db.write() as s:
            message = do(s)
    except (RegistryError, AccountError) as exc:
        raise UserError(str(exc)) from None
    out.print(message)
    out.print(f"{what}; new items are scored with it. Re-score stored items: shekteu analyse")


@model_app.command("promote")
def model_promote(
    version: Annotated[str, typer.Argument(help="A version from shekteu model list, or 'packaged'.")],
    actor: AsOpt = None, reason: ReasonOpt = None,
) -> None:  # fmt: skip
    """Put a registered model in use (admin)."""
    from shekteu import audit
    from shekteu.detect import registry

    def do(s) -> str:  # type: ignore[no-untyped-def]
        previous = registry.promote(s, version, actor=actor or audit.current_actor(), reason=reason)
        return f"model {version} in use (was {previous})"

    _switch(do, "promoted")


@model_app.command("rollback")
def model_rollback(actor: AsOpt = None, reason: ReasonOpt = None) -> None:
    """Return to the model in use before the last promotion (admin)."""
    from shekteu import audit
    from shekteu.detect import registry

    def do(s) -> str:  # type: ignore[no-untyped-def]
        return f"model {registry.rollback(s, actor=actor or audit.current_actor(), reason=reason)} in use again"

    _switch(do, "rolled back")


@model_app.command("drift")
def model_drift(
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=520, help="How many weeks back.")] = 8,
    json_out: JsonOpt = False,
) -> None:
    """Per week: share of sale/recruit verdicts, new words near drug terms, disputed verdicts."""
    from shekteu.cli.verdicts import read_with_detector
    from shekteu.detect.drift import report

    detector, rows = read_with_detector(lambda s, d: report(s, d, weeks=weeks))
    if json_out:
        for r in rows:
            emit_json({"model": detector.version, **r})
        return
    out.print(f"model {detector.version}, last {weeks} weeks")
    out.print(f"  {'week':<10}{'items':>7}{'positive':>10}{'new words':>11}{'judged':>8}{'disputed':>10}  top new words")
    for r in rows:
        share = f"{r['positive_share']:.1%}" if r["positive_share"] is not None else "-"
        out.print(f"  {r['week']:<10}{r['items']:>7}{share:>10}{r['new_words']:>11}{r['judged']:>8}{r['disputed']:>10}  "
                  f"{safe(', '.join(r['top_new_words']), 60)}")  # fmt: skip
