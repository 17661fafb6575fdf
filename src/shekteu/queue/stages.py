"""Which function runs each stage, how long it may take, and the periodic tasks.

Handlers are named by import path and imported when first run, so a worker that only delivers
notifications never loads the detector, and a bare install without the street extra still runs the
rest. Each handler takes the runtime and the job's payload and returns a small JSON result; it does
its network and CPU work outside any write transaction and commits each result in a short one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from shekteu.runtime import Runtime

Handler = Callable[[Runtime, dict[str, Any]], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Stage:
    handler: str  # "module:function"
    max_attempts: int = 5
    priority: int = 5  # among due jobs, lower runs first: a citizen's report before a photo's OCR
    heavy: bool = False  # seconds of CPU a job: a worker keeps a thread free of these for the rest
    batch: str | None = None  # payload list that several due jobs of this stage may be run together by

    def load(self) -> Handler:
        module, name = self.handler.split(":")
        return getattr(import_module(module), name)


STAGES: dict[str, Stage] = {
    "deliver": Stage("shekteu.tips.outbox:deliver_job", max_attempts=20, priority=0),
    "alert": Stage("shekteu.seismic.alerts:alert_job", max_attempts=20, priority=0),  # sensors → staff chat
    "tip_alert": Stage("shekteu.tips.staff_alert:tip_alert_job", max_attempts=20, priority=0),  # → staff chat
    "tip": Stage("shekteu.tips.process:tip_job", max_attempts=3, priority=1),  # tips/process.MAX_ATTEMPTS
    "capture": Stage("shekteu.capture.web:capture_job", priority=3),
    # Due analysis jobs are taken together (up to ``BATCH``): one classifier call and one short
    # transaction for the lot, instead of one each (a capture of one page queues one item).
    "analyse": Stage("shekteu.analysis:analyse_job", priority=2, batch="items"),
    "spot": Stage("shekteu.tips.process:spot_job", priority=6, heavy=True),
    # Chromium draws captured pages from their records: seconds a page, so heavy, and batched so
    # one browser start serves many pages.
    "screenshot": Stage("shekteu.capture.screenshot:screenshot_job", max_attempts=3, priority=7, heavy=True,
                        batch="captures"),  # seconds of QR and OCR a photo
    "recheck": Stage("shekteu.takedown.recheck:recheck_job", priority=8),
    "maintain": Stage("shekteu.queue.maintain:maintain_job", priority=9),
    "watch": Stage("shekteu.capture.watch:watch_job", max_attempts=3, priority=6),
    "timestamp": Stage("shekteu.evidence.timestamps:timestamp_job", max_attempts=10, priority=8),
}


BATCH = 16


@dataclass(frozen=True)
class Periodic:
    stage: str
    every_seconds: Callable[[Runtime], float]  # 0: never


PERIODIC: tuple[Periodic, ...] = (
    Periodic("maintain", lambda rt: 60.0),
    Periodic("recheck", lambda rt: rt.settings.recheck_every_hours * 3600),
    Periodic("timestamp", lambda rt: rt.settings.tsa_every_hours * 3600 if rt.settings.tsa_url else 0),
)


def handler(stage: str) -> Handler:
    if stage not in STAGES:
        raise LookupError(f"no stage {stage!r} (this version knows {', '.join(sorted(STAGES))})")
    return STAGES[stage].load()
