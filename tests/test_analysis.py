"""Items are classified and their indicators stored as they come in, exactly once."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from shekteu.analysis import analyse_pending
from shekteu.audit import verify_chain
from shekteu.capture.telegram_export import import_export
from shekteu.db.tables import Indicator, ItemIndicator, Verdict
from shekteu.runtime import Runtime


def export(tmp_path: Path, texts: list[str]) -> Path:
    data = {
        "name": "x", "type": "public_channel", "id": 1,
        "messages": [{"id": i + 1, "type": "message", "date": "2026-01-01T00:00:00", "text": t} for i, t in enumerate(texts)],
    }  # fmt: skip
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


TEXTS = [
    "Меф, шишки, альфа в наличии. Клады по городу. Оплата на карту 4400 4301 2345 6781 или бот @snegkz_bot",
    "Свежие клады в наличии, наш бот @snegkz_bot, оплата USDT TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    "Погода в Астане: завтра без осадков.",
]


def counts(rt: Runtime) -> tuple[int, int, int]:
    with rt.db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(Verdict)),
            s.scalar(select(func.count()).select_from(Indicator)),
            s.scalar(select(func.count()).select_from(ItemIndicator)),
        )


def test_imported_items_are_analysed_once(rt: Runtime, tmp_path: Path) -> None:
    summary = import_export(rt, export(tmp_path, TEXTS), channel="snegkz")
    assert summary.flagged == 2
    # 3 verdicts; indicators: card, bot (shared by two posts), tron wallet, and the channel itself
    # (the own address of all three posts).
    assert counts(rt) == (3, 4, 7)
    with rt.db.read() as s:
        labels = [v.label for v in s.scalars(select(Verdict).order_by(Verdict.item_id))]
        card = s.scalars(select(Indicator).where(Indicator.type == "bank_card")).one()
        versions = set(s.scalars(select(Verdict.model_version)))
        bot = s.scalars(select(Indicator).where(Indicator.type == "telegram_bot")).one()
        mentions = s.scalar(
            select(func.count()).select_from(ItemIndicator).where(ItemIndicator.indicator_id == bot.id)
        )
    assert labels[:2] == ["sale", "sale"] and labels[2] == "other"
    assert versions == {rt.detector.version}
    assert (
        card.normalized == "440043******6781" and card.key == card.detail["hash"] and "4301" not in card.key
    )
    assert mentions == 2
    # Re-running (and re-importing) changes nothing.
    assert analyse_pending(rt).items == 0
    import_export(rt, export(tmp_path, TEXTS), channel="snegkz")
    assert counts(rt) == (3, 4, 7)
    with rt.db.read() as s:
        assert verify_chain(s) == []


def test_a_changed_text_gets_a_new_verdict(rt: Runtime, tmp_path: Path) -> None:
    from shekteu.items import ItemData, add_item

    with rt.db.write() as s:
        add_item(
            s,
            ItemData(
                kind="web_page",
                key="https://x.example/",
                url="https://x.example/",
                source="test",
                text="Привет",
            ),
        )
    analyse_pending(rt)
    with rt.db.write() as s:
        add_item(s, ItemData(kind="web_page", key="https://x.example/", url="https://x.example/", source="test",
                             text="Меф и шишки в наличии, клады, бот @snegkz_bot"), refresh=True)  # fmt: skip
    assert analyse_pending(rt).items == 1
    with rt.db.read() as s:
        assert [v.label for v in s.scalars(select(Verdict).order_by(Verdict.id))] == ["other", "sale"]


def _as_seen(batch: list) -> list:
    """What a prepared batch would store: verdict, indicators (detail too) and MinHash bands."""
    return [(p.row.id, p.verdict.label, p.verdict.score, [t.as_json() for t in p.verdict.terms],
             [(f.as_json(), f.detail) for f in p.found], None if p.signature is None else p.signature[1])
            for p in batch]  # fmt: skip


def test_a_large_batch_is_analysed_in_worker_processes_as_it_would_be_here(make_runtime) -> None:
    import os

    from shekteu.analysis import SPREAD_CHARS, Pending, prepare, prepare_spread

    rt = make_runtime(SHEKTEU_CAPTURE_PROCESSES="2")
    ad = " ".join(TEXTS[:2]) * 6
    rows = [Pending(i, (ad if i % 3 else TEXTS[2] * 30) + f" @shop{i}_bot", f"{i:064x}", None, f"https://t.me/c/{i}",
                    "c", None, None) for i in range(150)]  # fmt: skip
    assert sum(len(r.text) for r in rows) > SPREAD_CHARS
    detector, policy = rt.detector, rt.card_policy
    spread = prepare_spread(rt, detector, policy, rows)
    pool = rt.processes.get()
    assert pool is not None and pool._processes and os.getpid() not in pool._processes  # ran in workers
    assert _as_seen(spread) == _as_seen(prepare(detector, policy, rows))
    assert [p.row.id for p in spread] == list(range(150)) and sum(p.verdict.label == "sale" for p in spread) == 100
    # A small batch stays in this process, and one process means none started.
    alone = make_runtime(SHEKTEU_CAPTURE_PROCESSES="1")
    assert _as_seen(prepare_spread(alone, detector, policy, rows)) == _as_seen(spread)
    assert alone.processes.get() is None


def test_a_worker_process_that_died_leaves_the_batch_to_this_process_and_the_next_a_new_pool(make_runtime) -> None:
    import os
    import signal

    from shekteu.analysis import Pending, prepare, prepare_spread

    rt = make_runtime(SHEKTEU_CAPTURE_PROCESSES="2")
    rows = [Pending(i, ("Клады по городу, меф в наличии. " * 300) + f"@shop{i}_bot", f"{i:064x}", None,
                    f"https://t.me/c/{i}", "c", None, None) for i in range(20)]  # fmt: skip
    detector, policy = rt.detector, rt.card_policy
    first = rt.processes.get()
    first.submit(os.getpid).result()  # the processes are up
    for pid in list(first._processes):
        os.kill(pid, signal.SIGKILL)
    first.submit(os.getpid).exception(timeout=60)  # the pool notices
    assert _as_seen(prepare_spread(rt, detector, policy, rows)) == _as_seen(prepare(detector, policy, rows))
    second = rt.processes.get()
    assert second is not first and second.submit(os.getpid).result(timeout=60) != os.getpid()


def test_a_model_file_replaced_under_the_workers_leaves_the_batch_to_this_processs_model(make_runtime, tmp_path) -> None:
    from shekteu.analysis import Pending, prepare, prepare_spread
    from shekteu.detect.model import Detector

    path = tmp_path / "model.npz"
    Detector.load().save(path)
    rt = make_runtime(SHEKTEU_CAPTURE_PROCESSES="2", SHEKTEU_MODEL_PATH=str(path))
    detector, policy = rt.detector, rt.card_policy  # loaded here before the file changes
    other = Detector.load(path)
    other.meta = {**other.meta, "retrained": "yes"}
    assert other.save(path) != detector.version  # the worker processes, spawned now, load this one
    rows = [Pending(i, ("Клады по городу, меф в наличии. " * 300) + f"@shop{i}_bot", f"{i:064x}", None,
                    f"https://t.me/c/{i}", "c", None, None) for i in range(20)]  # fmt: skip
    assert _as_seen(prepare_spread(rt, detector, policy, rows)) == _as_seen(prepare(detector, policy, rows))
