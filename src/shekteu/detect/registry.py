"""The model registry: every trained detector with its figures, one of them in use (issue 21).

A retrained model can be worse on the week's real traffic than the one before it, so training never
switches models by itself: ``shekteu model train --feedback`` (or ``--register``) files the new model
here with its honest figures, an admin promotes it, and ``rollback`` returns to the model promoted
before. Verdicts keep the version that made them, so ``shekteu analyse --model VERSION`` can re-score
with any filed model and both verdicts stay comparable. ``SHEKTEU_MODEL_PATH``, when set, overrides
the registry (a fixed model for a deployment); with neither, the model shipped in the package is used.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shekteu import audit
from shekteu.db.ops_tables import DetectorModel
from shekteu.db.tables import AuditEntry, utcnow
from shekteu.detect.model import Detector, ModelError, default_path, load_detector
from shekteu.users import authorize

PACKAGED = "packaged"


class RegistryError(ValueError):
    """An unknown version or an unreadable model file, named in the message."""


def figures(detector: Detector) -> dict[str, Any]:
    """The figures worth comparing models by, from the model's own description of its training."""
    meta = detector.meta
    out: dict[str, Any] = {"examples": meta.get("examples"), "feedback": meta.get("feedback", 0)}
    if isinstance(meta.get("cross_validation"), dict):
        out["grouped_cv"] = meta["cross_validation"].get("binary")
    if isinstance(meta.get("leave_one_source_out"), dict):
        out["leave_one_source_out"] = meta["leave_one_source_out"].get("binary")
    return out


def register(session: Session, path: Path, models_dir: Path, *, actor: str) -> DetectorModel:
    """File the model at ``path`` (copied into ``models_dir`` under its version); idempotent."""
    detector = Detector.load(path)
    found = session.scalar(select(DetectorModel).where(DetectorModel.version == detector.version))
    if found:
        return found
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / f"{detector.version}.npz"
    if path.resolve() != target.resolve():
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
    row = DetectorModel(version=detector.version, path=str(target), figures=figures(detector), created_by=actor,
                        created_at=utcnow(), active=False)  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, "model.register", f"model:{row.version}", actor=actor, detail=row.figures)
    return row


def active(session: Session) -> DetectorModel | None:
    return session.scalar(select(DetectorModel).where(DetectorModel.active.is_(True)))


def get(session: Session, version: str) -> DetectorModel:
    row = session.scalar(select(DetectorModel).where(DetectorModel.version == version))
    if row is None:
        raise RegistryError(f"no model {version!r} in the registry (shekteu model list)")
    return row


def load(row: DetectorModel) -> Detector:
    try:
        return load_detector(row.path)
    except ModelError as exc:
        raise RegistryError(f"model {row.version}: {exc}") from None


def listing(session: Session) -> list[dict[str, Any]]:
    """The packaged model and every filed one, newest first, with which is in use."""
    rows = list(session.scalars(select(DetectorModel).order_by(DetectorModel.id.desc())))
    current = next((r for r in rows if r.active), None)
    packaged = load_detector(None)
    out = [{"version": r.version, "active": r.active, "created_at": r.created_at.isoformat(), "by": r.created_by,
            "promoted_at": r.promoted_at.isoformat() if r.promoted_at else None, "figures": r.figures}
           for r in rows]  # fmt: skip
    out.append({"version": packaged.version, "active": current is None, "created_at": None, "by": PACKAGED,
                "promoted_at": None, "figures": figures(packaged)})  # fmt: skip
    return out


def promote(session: Session, version: str, *, actor: str, reason: str | None = None) -> str:
    """Put ``version`` (or ``packaged``) in use; returns the version that was in use before."""
    actor = authorize(session, actor, "model.manage")
    # One promotion at a time: the rows are locked in id order (PostgreSQL; SQLite has one writer).
    list(session.scalars(select(DetectorModel.id).order_by(DetectorModel.id).with_for_update()))
    before = active(session)
    previous = before.version if before else PACKAGED
    target = None if version in (PACKAGED, load_detector(None).version) else get(session, version)
    if target is not None:
        load(target)  # refuse a file that no longer loads before switching to it
    session.execute(update(DetectorModel).where(DetectorModel.active.is_(True)).values(active=False))
    if target is not None:
        target.active = True
        target.promoted_at = utcnow()
    session.flush()
    audit.record(session, "model.promote", f"model:{target.version if target else PACKAGED}", actor=actor,
                 reason=reason, detail={"previous": previous})  # fmt: skip
    return previous


def rollback(session: Session, *, actor: str, reason: str | None = None) -> str:
    """Return to the model in use before the last promotion; returns the version now in use."""
    last = session.scalar(select(AuditEntry).where(AuditEntry.action == "model.promote")
                          .order_by(AuditEntry.id.desc()).limit(1))  # fmt: skip
    if last is None:
        raise RegistryError("no promotion to roll back")
    previous = str(last.detail.get("previous") or PACKAGED)
    promote(session, previous, actor=actor, reason=reason or f"rollback of {last.target}")
    return previous


def in_use(session: Session) -> Detector:
    """The detector analysis uses now: the promoted one, else the packaged one."""
    row = active(session)
    return load(row) if row else load_detector(None)


def packaged_path() -> Path:
    return default_path()
