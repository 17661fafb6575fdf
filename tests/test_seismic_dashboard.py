"""Covert sensors on the dashboard (issue 22): who may see them, the alert list without positions,
the event images, closing an alert (the map in a real Chromium is in test_browser.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from sqlalchemy import select

pytest.importorskip("obspy")

from shekteu.db.seismic_tables import SeismicAlert, SeismicEvent
from shekteu.db.tables import AuditEntry
from shekteu.runtime import Runtime
from shekteu.seismic.alerts import pack_waveform, record_event
from shekteu.seismic.detect import Event
from shekteu.seismic.sensors import add
from tests.dashboard import Dash, csrf
from tests.dashboard import dash as dash


def install(rt: Runtime) -> int:
    """Three sensors at a named place and a vehicle event there with its waveform; the alert's id."""
    rng = np.random.default_rng(2)
    t = np.arange(3000) / 100
    traces = {f"KZ.V{k}": np.sin(2 * np.pi * 18 * t) * np.exp(-((t - 15) ** 2) / 20) * 100 + rng.normal(0, 5, 3000)
              for k in range(3)}  # fmt: skip
    with rt.db.write() as s:
        sensors = [add(s, f"KZ.V{k}.00.HHZ", lat=43.61 + k / 1000, lon=73.75, place="ферма <b>Шу</b>",
                       actor="cli:test") for k in range(3)]  # fmt: skip
        row = record_event(s, Event(1.78e9, 1.78e9 + 12, list(traces), 3.0, label="vehicle", score=0.91),
                           site_key=sensors[0].site_key, site_id=None, sensors=sensors,
                           waveform=pack_waveform(traces))  # fmt: skip
        return int(row.alert_id)


def test_sensors_are_for_analysts_and_positions_stay_out_of_the_alert_list(dash: Dash) -> None:
    alert_id = install(dash.rt)
    ann, cora = dash.login("ann"), dash.login("cora")
    assert "/dash/sensors" in ann.get("/dash").text
    assert "/dash/sensors" not in cora.get("/dash").text  # not in a volunteer coordinator's menu
    assert cora.get("/dash/sensors").status_code == 403
    assert cora.get("/api/seismic/sensors").status_code == 403
    assert cora.get("/api/seismic/alerts").status_code == 403
    page = ann.get("/dash/sensors")
    assert page.status_code == 200 and "KZ.V0.00.HHZ" in page.text
    assert "<b>Шу</b>" not in page.text and "&lt;b&gt;Шу&lt;/b&gt;" in page.text  # escaped
    alerts = ann.get("/api/seismic/alerts").json()
    assert [(a["id"], a["label"], a["state"]) for a in alerts] == [(alert_id, "vehicle", "open")]
    assert "43.61" not in str(alerts) and "lat" not in alerts[0]
    points = ann.get("/api/seismic/sensors").json()["features"]
    assert sorted(p["geometry"]["coordinates"][1] for p in points) == [43.61, 43.611, 43.612]
    with dash.rt.db.read() as s:
        assert list(s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "sensor.list"))) == ["ann", "ann"]
        event = s.scalars(select(SeismicEvent)).one()
    site = ann.get("/dash/sensors/site", params={"site": event.site_key})
    assert site.status_code == 200 and f"/dash/sensors/events/{event.id}/waveform.png" in site.text
    from PIL import Image

    for kind in ("waveform", "spectrogram"):
        png = ann.get(f"/dash/sensors/events/{event.id}/{kind}.png")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        img = Image.open(io.BytesIO(png.content))
        assert img.width == 900 and len(np.unique(np.asarray(img.convert("L")))) > 10  # something is drawn
    assert ann.get("/dash/sensors/events/999999/waveform.png").status_code == 404
    assert ann.get("/dash/sensors/site", params={"site": "x"}).status_code == 422
    token = csrf(ann, "/dash/sensors")
    done = ann.post(f"/dash/sensors/alerts/{alert_id}/close", data={"csrf": token, "reason": "patrol: a tractor"})
    assert done.status_code == 303
    with dash.rt.db.read() as s:
        assert s.get(SeismicAlert, alert_id).state == "closed"
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "seismic.alert.close")).one()
        assert (entry.actor, entry.reason) == ("ann", "patrol: a tractor")
    again = ann.post(f"/dash/sensors/alerts/{alert_id}/close", data={"csrf": token, "reason": "twice"},
                     follow_redirects=True)  # fmt: skip
    assert "already closed" in again.text
