"""Verdict commands of the `shekteu` CLI: analysts' corrections and the disputed and review queues.

``verdicts correct`` records an analyst's word on a verdict (issue 21); ``verdicts list --disputed``
shows where the analysts and the model disagree; ``verdicts review`` lists the unjudged verdicts a
label would teach the model most. The work is in ``detect/feedback.py``; this is the adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from shekteu.cli.common import JsonOpt, UserError, app, open_runtime
from shekteu.terminal import emit_json, out, safe


def read_with_detector(call: Callable[[Any, Any], list[Any]]) -> tuple[Any, list[Any]]:
    """The detector in use and ``call(session, detector)`` in one read transaction."""
    rt = open_runtime()
    detector = rt.detector
    with rt.db.read() as s:
        return detector, call(s, detector)


verdicts_app = typer.Typer(no_args_is_help=True, help="Analysts' corrections of the detector's verdicts.")
app.add_typer(verdicts_app, name="verdicts")


@verdicts_app.command("correct")
def verdicts_correct(
    item: Annotated[int, typer.Argument(help="Item id (shekteu items list).", min=1)],
    label: Annotated[str, typer.Option("--label", help="The correct label: sale, recruit, drug_other or other.")],
    actor: Annotated[str, typer.Option("--as", help="The analyst who says so.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit log).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Mark an item's verdict right or wrong by giving its correct label."""
    from shekteu.detect.feedback import FeedbackError, correct
    from shekteu.users import UserError as AccountError

    rt = open_runtime()
    try:
        with rt.db.write() as s:
            row = correct(s, item, label, actor=actor, reason=reason, version=rt.detector.version)
            result = {"item": row.item_id, "label": row.label, "predicted": row.predicted, "model": row.model_version,
                      "by": row.actor, "agrees": row.predicted is not None and
                      (row.predicted in ("sale", "recruit")) == (row.label in ("sale", "recruit"))}  # fmt: skip
    except (FeedbackError, AccountError) as exc:
        raise UserError(str(exc)) from None
    if json_out:
        emit_json(result)
    else:
        word = "confirmed" if result["agrees"] else "corrected"
        out.print(f"item {item}: verdict {result['predicted'] or '(none)'} {word} as {label} by {result['by']}")


@verdicts_app.command("list")
def verdicts_list(
    disputed: Annotated[bool, typer.Option("--disputed", help="Only verdicts an analyst said are wrong.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Items analysts judged (newest word each), with the current verdict."""
    from shekteu.detect.feedback import judged

    _, rows = read_with_detector(lambda s, detector: judged(s, detector.version, disputed=disputed))
    if json_out:
        for r in rows:
            emit_json(r.as_json())
        return
    if not rows:
        out.print("no disputed verdicts" if disputed else "no judged verdicts")
    for r in rows:
        out.print(f"{r.item_id:>7}  model {r.predicted or '-':<10} analyst {r.label:<10} {r.actor:<12} "
                  f"{safe(r.text, 70)}")  # fmt: skip


@verdicts_app.command("review")
def verdicts_review(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many.")] = 30,
    json_out: JsonOpt = False,
) -> None:
    """Unjudged verdicts a label would teach most: near the threshold, new channels, new words."""
    from shekteu.detect.feedback import review_queue

    _, rows = read_with_detector(lambda s, detector: review_queue(s, detector, limit=limit))
    if json_out:
        for r in rows:
            emit_json(r)
        return
    if not rows:
        out.print("nothing to review")
    for r in rows:
        out.print(f"{r['item']:>7}  {r['priority']:.2f}  {r['label']:<10} {r['score']:.3f}  "
                  f"{safe('; '.join(r['why']), 40):<40} {safe(r['text'], 60)}")  # fmt: skip
