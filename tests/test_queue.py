"""The job queue (issue 20): jobs queued once, claimed once, retried with back-off, quarantined, run
by workers that a kill -9 or a SIGTERM leaves nothing lost or doubled; concurrent imports, deliveries
and claims on real SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from shekteu.capture.telegram_export import import_export
from shekteu.children import WORKER_NICENESS
from shekteu.db.ops_tables import Job
from shekteu.db.tables import (
    AuditEntry,
    Capture,
    Item,
    Notification,
    Shop,
    ShopIndicator,
    Tip,
    Verdict,
    utcnow,
)
from shekteu.queue import handoffs, jobs
from shekteu.queue.worker import Worker
from shekteu.runtime import Runtime
from shekteu.tips.intake import TipInput, submit
from shekteu.tips.outbox import deliver
from shekteu.tips.status import set_status
from tests.hostile.faults import refuse_insert
from tests.people import make_staff
from tests.races import backend_pid, need_postgres
from tests.servers import LocalServer, Reply
from tests.test_cli import run

AD = "Меф, шишки в наличии, клады по городу. Бот @snegkz_bot"


def queue(rt: Runtime) -> dict:
    with rt.db.read() as s:
        return jobs.counts(s)


def test_a_job_is_queued_once_per_key_claimed_once_and_done(rt: Runtime) -> None:
    with rt.db.write() as s:
        first = handoffs.notification_queued(s, "telegram")
        again = handoffs.notification_queued(s, "telegram")
    assert first is not None and again is None  # the queued run will send every pending message
    assert queue(rt)["by_stage"] == {"deliver": {"pending": 1, "running": 0, "failed": 0, "quarantined": 0}}
    job = jobs.claim(rt.db, "w1", 60)
    assert job is not None and job.id == first and job.attempts == 1
    assert jobs.claim(rt.db, "w2", 60) is None  # nobody else gets it
    with rt.db.write() as s:  # while it runs, new work under the same key is still covered by it
        assert handoffs.notification_queued(s, "telegram") is None
    assert jobs.complete(rt.db, job, {"sent": 0})
    with rt.db.write() as s:  # done: the next message queues a new run
        assert handoffs.notification_queued(s, "telegram") not in (None, first)


def test_a_failed_job_backs_off_and_a_transient_failure_is_not_counted(rt: Runtime) -> None:
    from sqlalchemy.exc import OperationalError

    with rt.db.write() as s:
        job_id = jobs.enqueue(s, "analyse", "items:1-1", {"items": [1]}, max_attempts=2)
    job = jobs.claim(rt.db, "w1", 60)
    assert jobs.fail(rt.db, job, OperationalError("SELECT 1", {}, Exception("deadlock detected"))) == "failed"
    with rt.db.read() as s:
        row = s.get(Job, job_id)
        assert row.attempts == 0 and "deadlock detected" in row.last_error
    with rt.db.write() as s:
        s.execute(update(Job).values(run_after=utcnow()))
    job = jobs.claim(rt.db, "w1", 60)
    assert jobs.fail(rt.db, job, ValueError("bad item")) == "failed"
    with rt.db.read() as s:
        row = s.get(Job, job_id)
        assert row.attempts == 1 and (row.run_after - utcnow()).total_seconds() > 2  # backing off
    assert jobs.claim(rt.db, "w1", 60) is None
    with rt.db.write() as s:
        s.execute(update(Job).values(run_after=utcnow()))
    job = jobs.claim(rt.db, "w1", 60)
    assert jobs.fail(rt.db, job, ValueError("bad item")) == "quarantined"
    with rt.db.read() as s:
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.target == f"job:{job_id}")) == "job.quarantine"
    assert queue(rt)["quarantined"] == 1


def test_a_caller_waits_for_its_job_retried_after_a_transient_failure(rt: Runtime) -> None:
    """A job that lost a lock (SQLite busy under load) is retried within a second: the command that
    waits for its jobs (an import, `tips process`) waits for that retry instead of returning with the
    job undone (a wall photo's spot was missing on a loaded CI machine)."""
    from sqlalchemy.exc import OperationalError

    from shekteu.queue.worker import run_jobs

    with rt.db.write() as s:
        job_id = jobs.enqueue(s, "analyse", "items:none", {"items": []})
    job = jobs.claim(rt.db, "w1", 60)
    assert jobs.fail(rt.db, job, OperationalError("SELECT 1", {}, Exception("database is locked"))) == "failed"
    with rt.db.write() as s:  # the retry lies just ahead, as jobs.fail sets it
        s.execute(update(Job).values(run_after=utcnow() + timedelta(seconds=0.5)))
    run_jobs(rt, [job_id])
    with rt.db.read() as s:
        assert s.get(Job, job_id).state == "done"


def test_a_database_error_that_never_passes_ends_in_quarantine_not_a_spin(rt: Runtime) -> None:
    """Quick free retries are for a lock that passes; a job meeting the same database error every
    time (read-only file, missing table) must back off and end quarantined, or a waiting command
    would wait for ever (a clean-clone CI run stalled so)."""
    from sqlalchemy.exc import OperationalError

    with rt.db.write() as s:
        job_id = jobs.enqueue(s, "analyse", "items:none", {"items": []}, max_attempts=2)
    error = OperationalError("INSERT", {}, Exception("attempt to write a readonly database"))
    states = []
    for _ in range(jobs.FREE_RETRIES + 2):
        with rt.db.write() as s:
            s.execute(update(Job).values(run_after=utcnow()))
        job = jobs.claim(rt.db, "w1", 60)
        states.append(jobs.fail(rt.db, job, error))
        with rt.db.read() as s:
            row = s.get(Job, job_id)
        if len(states) <= jobs.FREE_RETRIES:
            assert row.attempts == 0 and row.retries == len(states)
            assert (row.run_after - utcnow()).total_seconds() < jobs.TRANSIENT_RETRY_SECONDS
    assert states[:-1] == ["failed"] * (jobs.FREE_RETRIES + 1) and states[-1] == "quarantined"
    assert row.attempts == 2 and row.retries == jobs.FREE_RETRIES


def test_a_poison_tip_is_quarantined_while_the_others_flow(rt: Runtime) -> None:
    tickets = [submit(rt, TipInput(channel="web", user_id=f"p{n}", text=f"{AD} {n}")).ticket for n in range(4)]
    refuse_insert(rt, "audit_log", f"NEW.action = 'tip.process' AND NEW.target = 'tip:{tickets[2]}'")
    worker = Worker(rt, concurrency=2)
    for _ in range(3):  # three attempts, each after its back-off (made due at once here)
        worker.run(drain=True)
        with rt.db.write() as s:
            s.execute(update(Job).where(Job.state == "failed").values(run_after=utcnow()))
    with rt.db.read() as s:
        done = set(s.scalars(select(Tip.ticket).where(Tip.processed_at.is_not(None))))
        poison = s.scalar(select(Job).where(Job.subject == f"tip:{tickets[2]}"))
    assert done == set(tickets) - {tickets[2]}
    assert poison.state == "quarantined" and poison.attempts == 3 and "injected fault" in poison.last_error
    status = queue(rt)
    assert (status["pending"], status["running"], status["quarantined"]) == (0, 0, 1)


def test_queue_commands_show_retry_and_drop_with_an_audit_entry(env: dict[str, str], rt: Runtime) -> None:
    with rt.db.write() as s:
        job_id = jobs.enqueue(s, "analyse", "items:1-2", {"items": [1, 2]})
        s.execute(update(Job).values(state="quarantined", attempts=5, last_error="ValueError: broken"))
    shown = run(env, "queue", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == {"pending": 0, "running": 0, "failed": 0, "quarantined": 1,
                                        "by_stage": {"analyse": {"pending": 0, "running": 0, "failed": 0,
                                                                 "quarantined": 1}}}  # fmt: skip
    listed = run(env, "queue", "--state", "quarantined", "--json")
    assert json.loads(listed.stdout)["last_error"] == "ValueError: broken"
    refused = run(env, "queue", "drop", str(job_id))
    assert refused.returncode == 2 and "--reason" in refused.stderr
    assert run(env, "queue", "retry", "999").stderr.strip().endswith("no job with id 999")
    for bad in ("99999999999", "99999999999999999999999", "0", "x"):  # past 32 bits: an error, no traceback
        refused = run(env, "queue", "drop", bad, "--reason", "x")
        assert refused.returncode == 2 and "Traceback" not in refused.stderr and "Invalid value" in refused.stderr
    retried = run(env, "queue", "retry", str(job_id), "--reason", "fixed the parser")
    assert retried.returncode == 0 and "is pending" in retried.stdout
    dropped = run(env, "queue", "drop", str(job_id), "--reason", "items deleted")
    assert dropped.returncode == 0 and "is dropped" in dropped.stdout
    drained = run(env, "worker", "--drain", "--json")
    assert drained.returncode == 0 and json.loads(drained.stdout)["done"] == 0  # dropped: never run
    with rt.db.read() as s:
        entries = s.execute(select(AuditEntry.action, AuditEntry.reason).where(AuditEntry.target == f"job:{job_id}")
                            .order_by(AuditEntry.id)).all()  # fmt: skip
    assert entries == [("job.retry", "fixed the parser"), ("job.drop", "items deleted")]


def held_page(rt: Runtime, web: LocalServer) -> tuple[threading.Event, threading.Event, int]:
    """A capture job of a page whose server holds the answer until ``release``; ``asked`` is set once
    a worker has asked for it (so its job is running)."""
    asked, release = threading.Event(), threading.Event()

    def shop(_query: dict) -> Reply:
        asked.set()
        release.wait(60)
        return Reply(200, f"<html><body><p>{AD}</p></body></html>".encode())

    web.route("/shop", shop)
    with rt.db.write() as s:
        job_id = handoffs.urls_to_capture(s, [web.url("/shop")])
    return asked, release, job_id


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | env
    return subprocess.Popen([sys.executable, "-c", "from shekteu.cli import main; main()", "worker"],
                            env=full, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip


def test_a_worker_killed_mid_job_loses_and_doubles_nothing(env: dict[str, str], rt: Runtime, web: LocalServer) -> None:
    asked, release, job_id = held_page(rt, web)
    worker = start_worker(env)
    try:
        assert asked.wait(60), "the worker never fetched the page"
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    with rt.db.read() as s:
        assert s.get(Job, job_id).state == "running"  # orphaned by the kill
    release.set()
    again = run(env, "worker", "--drain", "--json")
    assert again.returncode == 0, again.stderr
    with rt.db.read() as s:
        job = s.get(Job, job_id)
        assert (job.state, job.attempts) == ("done", 2)
        assert s.scalar(select(func.count()).select_from(Capture)) == 1
        assert s.scalar(select(func.count()).select_from(Item)) == 1
        assert s.scalar(select(func.count()).select_from(Verdict)) == 1  # the analysis it queued ran, once
    rerun = run(env, "worker", "--drain", "--json")
    assert json.loads(rerun.stdout)["done"] == 0


def test_sigterm_lets_the_running_job_finish(env: dict[str, str], rt: Runtime, web: LocalServer) -> None:
    asked, release, job_id = held_page(rt, web)
    worker = start_worker(env)
    try:
        assert asked.wait(60)
        worker.send_signal(signal.SIGTERM)
        release.set()
        stdout, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0 and "stopping after the running jobs" in stdout
    with rt.db.read() as s:
        assert s.get(Job, job_id).state == "done"
        assert s.scalar(select(func.count()).select_from(Capture)) == 1


def test_two_delivery_runs_at_once_send_each_message_once(rt: Runtime) -> None:
    make_staff(rt)
    tickets = [submit(rt, TipInput(channel="telegram", user_id=f"u{n}", contact=str(1000 + n), text=f"{AD} {n}")).ticket
               for n in range(3)]  # fmt: skip
    with rt.db.write() as s:
        for ticket in tickets:
            set_status(s, ticket, "in_review", actor="aliya", reason="looking")
    sending, release, sent = threading.Event(), threading.Event(), []

    def slow(address: str, body: str) -> None:  # the first run is stopped inside its first send
        sending.set()
        release.wait(30)
        sent.append(address)

    first = threading.Thread(target=deliver, args=(rt, "telegram", slow))
    first.start()
    assert sending.wait(30)
    second = deliver(rt, "telegram", lambda address, body: sent.append(address))  # runs while the first sends
    release.set()
    first.join(30)
    assert sorted(sent) == ["1000", "1001", "1002"]  # each once: the claimed one was left to its sender
    assert second.sent == 2
    with rt.db.read() as s:
        assert set(s.scalars(select(Notification.status))) == {"sent"}


def test_a_status_change_reaches_the_reporter_in_webhook_mode_with_no_new_report(make_runtime) -> None:
    from fastapi.testclient import TestClient

    from shekteu.web.app import create_app
    from tests.fake_telegram import TOKEN, FakeBotAPI

    api = FakeBotAPI()
    rt = make_runtime(SHEKTEU_TELEGRAM_TOKEN=TOKEN, SHEKTEU_TELEGRAM_API_BASE=api.base,
                      SHEKTEU_WORKER_POLL_SECONDS="0.2")  # fmt: skip
    make_staff(rt)
    ticket = submit(rt, TipInput(channel="telegram", user_id="42", contact="42", text="Меф, клады по городу")).ticket
    try:
        with TestClient(create_app(rt)):  # the server and its embedded worker run; no report arrives
            with rt.db.write() as s:
                set_status(s, ticket, "actioned", actor="aliya", reason="reported", public_text="Channel blocked")
            sent = api.wait_sent(1)
    finally:
        api.close()
    assert sent[0]["chat_id"] in (42, "42") and "Channel blocked" in sent[0]["text"]
    with rt.db.read() as s:
        assert s.scalar(select(Notification.status)) == "sent"
        assert s.scalar(select(Tip.processed_at).where(Tip.ticket == ticket)) is not None  # the tip's job ran too


def chain_export(tmp_path: Path, k: int) -> Path:
    """Channel k's posts name phones k and k+1: eight channels chain nine phones into one operation."""
    posts = [{"id": n + 1, "type": "message", "date": "2026-03-01T10:00:00",
              "text": f"Меф, шишки в наличии, клады по городу. Звони +7 701 555 01 {k + n:02d}"} for n in range(2)]  # fmt: skip
    path = tmp_path / f"chain{k}" / "result.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"name": f"c{k}", "type": "public_channel", "id": k, "messages": posts},
                               ensure_ascii=False), encoding="utf-8")  # fmt: skip
    return path


def test_eight_concurrent_imports_of_a_phone_chain_end_as_one_shop(rt: Runtime, tmp_path: Path) -> None:
    paths = [chain_export(tmp_path, k) for k in range(8)]
    worker = Worker(rt, concurrency=2)
    worker.start()
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def one(path: Path) -> None:
        start.wait()
        try:
            import_export(rt, path, channel=path.parent.name, wait=False)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = queue(rt)
        if status["pending"] + status["running"] + status["failed"] == 0:
            break
        time.sleep(0.1)
    worker.stop()
    assert not errors
    with rt.db.read() as s:
        live = s.scalars(select(Shop.id).where(Shop.merged_into.is_(None))).all()
        owners = set(s.scalars(select(ShopIndicator.shop_id)))
        verdicts = s.scalar(select(func.count()).select_from(Verdict))
    assert len(live) == 1 and owners == set(live), (live, owners)
    assert verdicts == 16 and queue(rt)["quarantined"] == 0


def test_two_claims_at_once_take_different_jobs(rt: Runtime) -> None:
    need_postgres(rt)
    with rt.db.write() as s:
        ids = [jobs.enqueue(s, "analyse", f"items:{n}", {"items": [n]}) for n in (1, 2)]
    with rt.db.write() as s:  # a claim in flight holds the first job's row
        assert backend_pid(s)
        s.execute(text("SELECT id FROM jobs WHERE id = :i FOR UPDATE"), {"i": ids[0]})
        other = jobs.claim(rt.db, "w2", 60)  # does not wait for it: skips it
        assert other is not None and other.id == ids[1]


def _marked(mark: str) -> list[int]:
    """Processes whose environment carries ``mark`` (this test's own children and grandchildren)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if mark.encode() in handle.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def _gone(mark: str, seconds: float = 30) -> list[int]:
    """Waits for the marked processes to end; those still there after ``seconds`` (killed now)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and _marked(mark):
        time.sleep(0.1)
    left = _marked(mark)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def test_a_capture_killed_mid_run_leaves_no_child_processes(env: dict[str, str], web: LocalServer) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    web.route("/page", Reply(200, b"<html><body>" + b"<p>Clean text for the extraction pool.</p>" * 40 + b"</body></html>"))

    def slow(_query: dict) -> Reply:
        time.sleep(1)
        return Reply(200, b"<html><body><p>later</p></body></html>")

    web.route("/slow", slow)
    name, value = "TEST_CAPTURE_MARK", f"{os.getpid()}-{time.monotonic_ns()}"
    mark = f"{name}={value}"
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | env | {
        "SHEKTEU_CAPTURE_PROCESSES": "2", name: value}  # fmt: skip
    urls = [web.url(f"/page?{i}") for i in range(8)] + [web.url(f"/slow?{i}") for i in range(40)]
    capture = subprocess.Popen([sys.executable, "-c", "from shekteu.cli import main; main()", "capture", *urls],
                               env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_marked(mark)) < 3:  # the capture and its extraction workers
            time.sleep(0.05)
        assert len(_marked(mark)) >= 3, "the extraction pool never started"
    finally:
        capture.send_signal(signal.SIGKILL)
        capture.wait(30)
    assert _gone(mark) == [], "processes outlived the killed capture"


def test_reports_and_messages_go_before_photo_reading(rt: Runtime) -> None:
    with rt.db.write() as s:
        spot = handoffs.graffiti_located(s, 1, "KZ-AAAA-AAAA")
        tip = handoffs.tip_received(s, 2, "KZ-BBBB-BBBB")
        message = handoffs.notification_queued(s, "telegram")
    assert [jobs.claim(rt.db, "w", 60).id for _ in range(3)] == [message, tip, spot]
    worker = Worker(rt, concurrency=2)
    assert "spot" in worker._claimable()
    worker._heavy = 1  # one thread reads a photo: the other stays free for the rest
    assert "spot" not in worker._claimable() and "tip" in worker._claimable()


def test_serve_runs_its_worker_as_a_child_that_dies_with_it(env: dict[str, str], rt: Runtime) -> None:
    import socket

    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ticket = submit(rt, TipInput(channel="web", user_id="child", text="Меф, клады по городу")).ticket
    mark = f"TEST_SERVE_MARK={os.getpid()}-{time.monotonic_ns()}"
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | env | {
        "SHEKTEU_PORT": str(port), "SHEKTEU_WORKER_POLL_SECONDS": "0.2", mark.split("=")[0]: mark.split("=")[1]}  # fmt: skip
    server = subprocess.Popen([sys.executable, "-c", "from shekteu.cli import main; main()", "serve"], env=full,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 600  # a wait, not a speed limit
        processed = None
        while time.monotonic() < deadline and processed is None:  # the child worker processes the tip
            with rt.db.read() as s:
                processed = s.scalar(select(Tip.processed_at).where(Tip.ticket == ticket))
            time.sleep(0.1)
        assert processed is not None, "the serve's worker never processed the tip"
        assert len(_marked(mark)) == 2  # the server and its worker
        niceness = {pid: os.getpriority(os.PRIO_PROCESS, pid) for pid in _marked(mark)}
        assert niceness[server.pid] + WORKER_NICENESS in niceness.values()  # requests come first
    finally:
        server.send_signal(signal.SIGKILL)
        said, _ = server.communicate(timeout=30)
    assert _gone(mark) == [], "the worker outlived its server"
    assert f"dashboard: http://127.0.0.1:{port}/dash" in said  # serve says where to go


def test_periodic_jobs_are_queued_once_per_interval(make_runtime) -> None:
    from shekteu.queue.worker import schedule

    rt = make_runtime(SHEKTEU_RECHECK_EVERY_HOURS="24")
    first = schedule(rt)
    assert sorted(queue(rt)["by_stage"]) == ["maintain", "recheck"] and len(first) == 2
    assert schedule(rt) == []  # within the interval: nothing new
    Worker(rt, concurrency=1).run(drain=True)
    assert schedule(rt) == []  # done, but not yet due again
    with rt.db.read() as s:
        results = dict(s.execute(select(Job.stage, Job.result)).all())
    assert results["recheck"] == {"checked": 0, "moved": 0} and results["maintain"]["recovered"] == 0
