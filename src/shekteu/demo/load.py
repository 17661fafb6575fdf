"""`shekteu demo`: fill the data directory with a small, living platform to look around in.

Everything goes through the same library calls people's work goes through — an export import, the
web form's intake, the photo pipeline, zone import, field-site storage, the takedown lifecycle with
two people — so the dashboard shows what it would show after a few weeks of real use, audit log
included. Parts whose extra is missing (zxing-cpp for QR photos, shapely for field sites) are skipped
and named. A second run changes nothing: a marker in the data directory says the demo is there.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shekteu.demo import content
from shekteu.runtime import Runtime

MARKER = "demo.json"
ACTOR = "cli:demo"


@dataclass
class DemoSummary:
    loaded: bool
    users: dict[str, str] = field(default_factory=dict)  # name -> password (printed once)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"loaded": self.loaded, "users": self.users, "counts": self.counts, "skipped": self.skipped}


def load(rt: Runtime, *, on_step: Callable[[str], None] | None = None) -> DemoSummary:
    marker = rt.settings.data_dir / MARKER
    if marker.exists():
        return DemoSummary(False, counts=json.loads(marker.read_text()).get("counts", {}))
    step = on_step or (lambda _name: None)
    summary = DemoSummary(True)
    step("users")
    summary.users = _users(rt)
    step("channels")
    summary.counts["posts"] = _channels(rt)
    step("zones")
    summary.counts["zones"] = _zones(rt)
    step("reports")
    summary.counts["tips"] = _tips(rt)
    step("wall photos")
    summary.counts["wall_photos"] = _walls(rt, summary.skipped)
    step("field sites")
    summary.counts["field_sites"] = _sites(rt, summary.skipped)
    step("takedowns")
    summary.counts["takedowns"] = _takedowns(rt)
    marker.write_text(json.dumps({"counts": summary.counts, "skipped": summary.skipped}, ensure_ascii=False))
    return summary


def _users(rt: Runtime) -> dict[str, str]:
    from shekteu.accounts import set_password
    from shekteu.users import add_user

    made = {}
    with rt.db.write() as s:
        for name, role in content.USERS:
            password = "-".join(secrets.token_hex(3) for _ in range(3))
            add_user(s, name, [role], actor=ACTOR)
            set_password(s, name, password, actor=ACTOR)
            made[name] = password
    return made


def _channels(rt: Runtime) -> int:
    from shekteu.capture.telegram_export import import_export

    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for export in content.export_json():
            path = Path(tmp) / export["name"] / "result.json"
            path.parent.mkdir()
            path.write_text(json.dumps(export, ensure_ascii=False))
            summary = import_export(rt, path, channel=export["name"])
            total += summary.new
    return total


def _zones(rt: Runtime) -> int:
    from shekteu.street.zones import import_zones

    by_kind: dict[str, list[dict[str, Any]]] = {}
    for kind, name, lat, lon, half in content.ZONES:
        by_kind.setdefault(kind, []).append({"type": "Feature", "properties": {"name": name},
                                             "geometry": content.square(lat, lon, half)})  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, rt.db.write() as s:
        for kind, features in by_kind.items():
            path = Path(tmp) / f"{kind}.geojson"
            path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))
            import_zones(s, path, kind=kind, name_property="name", actor="demo-admin")
    return len(content.ZONES)


def _tips(rt: Runtime) -> int:
    from shekteu.tips.intake import TipInput, submit
    from shekteu.tips.process import process_pending

    for n, (channel, text, lat, lon) in enumerate(content.TIPS):
        submit(rt, TipInput(channel=channel, user_id=f"demo-citizen-{n}", text=text, lat=lat, lon=lon, lang="ru"))
    process_pending(rt, capture=False)
    return len(content.TIPS)


def _walls(rt: Runtime, skipped: list[str]) -> int:
    from shekteu.demo import photos
    from shekteu.tips.intake import TipInput, submit
    from shekteu.tips.process import process_pending

    if photos.qr_code("probe") is None:
        skipped.append("QR codes on wall photos (install the street extra: pip install 'shekteu[street]')")
    for n, (lat, lon, qr, text) in enumerate(content.WALLS):
        image = photos.with_qr(qr, seed=n) if qr else photos.painted(text or "", seed=n)
        submit(rt, TipInput(channel="web", user_id=f"demo-walker-{n}", kind="graffiti",
                            photos=[photos.jpeg_with_gps(image, lat, lon)], lang="ru"))  # fmt: skip
    process_pending(rt, capture=False)
    return len(content.WALLS)


def _sites(rt: Runtime, skipped: list[str]) -> int:
    try:
        from shekteu.field import registry
    except ImportError:
        skipped.append("field sites (install the field extra)")
        return 0
    from shekteu.geo.boundaries import locate

    features = []
    for lat, lon, hectares, _status in content.SITES:
        half = (hectares * 10_000) ** 0.5 / 2 / 111_000  # a square of about that many hectares
        area = locate(lat, lon)
        features.append({"type": "Feature", "geometry": content.square(lat, lon, half), "properties": {
            "hectares": hectares, "ndvi": 0.62, "confidence": 0.8, "date": "2026-08-15", "source": "demo",
            "method": "demo", "kato": area.kato if area else None, "district": area.name_ru if area else None,
            "oblast": area.oblast_ru if area else None}})  # fmt: skip
    try:
        with rt.db.write() as s:
            registry.store(s, features, actor=ACTOR)
            sites = registry.list_sites(s)
            for site, (_lat, _lon, _ha, status) in zip(sorted(sites, key=lambda x: x.id), content.SITES, strict=False):
                path = {"confirmed": ["confirmed"], "destroyed": ["confirmed", "destroyed"],
                        "dismissed": ["dismissed"]}.get(status, [])  # fmt: skip
                for to in path:
                    registry.move(s, site.id, to, actor="demo-analyst", reason="demo: checked on the ground")
    except ImportError:
        skipped.append("field sites (install the field extra: pip install 'shekteu[field]')")
        return 0
    return len(features)


def _takedowns(rt: Runtime) -> int:
    from shekteu.takedown import lifecycle

    with rt.db.write() as s:
        for kind, target, states in content.TAKEDOWNS:
            td = lifecycle.propose(s, kind, target, actor="demo-analyst", reason="demo: a shop's identifier").takedown
            for state in states:
                if state == "approved":
                    lifecycle.approve(s, td.id, actor="demo-approver", reason="demo: evidence checked")
                else:
                    who = "demo-approver" if state == "rejected" else "demo-analyst"
                    lifecycle.mark(s, td.id, state, actor=who, reason=f"demo: {state}")
    return len(content.TAKEDOWNS)
