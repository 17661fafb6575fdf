"""Issue 21: analysts in the loop — corrections, disputed and review queues, model registry, drift."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from shekteu.capture.telegram_export import import_export
from shekteu.db.tables import AuditEntry, Item, Verdict
from shekteu.detect import drift, feedback, registry
from shekteu.runtime import Runtime
from shekteu.users import UserError, add_user
from tests.people import make_staff
from tests.races import wait_until_blocked
from tests.test_analysis import export
from tests.test_cli import lines, run

TEXTS = [
    "Меф, шишки, альфа в наличии. Клады по городу. Бот @snegkz_bot",
    "Погода в Астане: завтра без осадков.",
    "Требуется курьер в шоп, оплата еженедельно, пиши в лс",
]


def _items(rt: Runtime, tmp_path: Path, texts: list[str] = TEXTS, channel: str = "snegkz") -> list[int]:
    import_export(rt, export(tmp_path, texts), channel=channel)
    with rt.db.read() as s:
        return list(s.scalars(select(Item.id).where(Item.channel == channel).order_by(Item.id)))


def test_a_correction_is_stored_audited_and_only_disagreements_are_disputed(rt: Runtime, tmp_path: Path) -> None:
    make_staff(rt)
    ids = _items(rt, tmp_path)
    with rt.db.write() as s:
        confirmed = feedback.correct(s, ids[0], "sale", actor="analyst", reason="a shop ad")
        wrong = feedback.correct(s, ids[1], "sale", actor="bob", reason="test: pretend it is an ad")
    assert (confirmed.predicted, wrong.predicted) == ("sale", "other")
    with rt.db.read() as s:
        disputed = feedback.judged(s, rt.detector.version, disputed=True)
        everything = feedback.judged(s, rt.detector.version)
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "verdict.correct")))
    assert [j.item_id for j in disputed] == [ids[1]] and disputed[0].actor == "bob"
    assert {j.item_id for j in everything} == {ids[0], ids[1]}
    assert [e.detail["agrees"] for e in entries] == [True, False] and entries[1].reason.startswith("test")
    # The newest word counts: bob takes it back, and nothing is disputed any more.
    with rt.db.write() as s:
        feedback.correct(s, ids[1], "other", actor="bob", reason="misread")
    with rt.db.read() as s:
        assert feedback.judged(s, rt.detector.version, disputed=True) == []
        assert feedback.counts(s) == {"judged": 2, "positive": 1, "negative": 1}


def test_corrections_are_refused_for_bad_labels_unknown_items_and_users_without_the_role(rt: Runtime,
                                                                                        tmp_path: Path) -> None:  # fmt: skip
    make_staff(rt)
    ids = _items(rt, tmp_path)
    with rt.db.write() as s:
        add_user(s, "olga", ["auditor"], actor="test")
    for kwargs, error in ((dict(item_id=ids[0], label="spam", actor="analyst"), feedback.FeedbackError),
                          (dict(item_id=999_999, label="sale", actor="analyst"), feedback.FeedbackError),
                          (dict(item_id=ids[0], label="sale", actor="olga"), UserError)):  # fmt: skip
        with pytest.raises(error), rt.db.write() as s:
            feedback.correct(s, **kwargs)
    with rt.db.read() as s:
        assert feedback.judged(s) == []


def test_the_review_queue_puts_uncertain_verdicts_and_new_channels_first(rt: Runtime, tmp_path: Path) -> None:
    make_staff(rt)
    ids = _items(rt, tmp_path)
    detector = rt.detector
    with rt.db.write() as s:
        scores = {1.0: ids[0], 0.5: ids[1], 0.3: ids[2]}
        for score, item in scores.items():
            s.query(Verdict).filter(Verdict.item_id == item).update({"score": score if score < 1 else 0.9})
    with rt.db.read() as s:
        queue = feedback.review_queue(s, detector)
    assert [r["item"] for r in queue] == [ids[1], ids[2], ids[0]]
    assert "near the threshold" in queue[0]["why"] and "new channel" in queue[0]["why"]
    with rt.db.write() as s:
        feedback.correct(s, ids[1], "other", actor="analyst")
    with rt.db.read() as s:
        queue = feedback.review_queue(s, detector)
    assert ids[1] not in [r["item"] for r in queue]  # judged: gone
    assert all("new channel" not in r["why"] for r in queue)  # the channel has been looked at now


def _second_model(tmp_path: Path) -> Path:
    pytest.importorskip("sklearn")
    from shekteu.detect.train import fit, synthetic

    path = tmp_path / "small.npz"
    fit(synthetic(30, seed=7), meta={"note": "test model"}).save(path)
    return path


def test_models_are_filed_promoted_and_rolled_back_and_verdicts_keep_their_version(rt: Runtime,
                                                                                  tmp_path: Path) -> None:  # fmt: skip
    from shekteu.analysis import analyse_pending

    ids = _items(rt, tmp_path)
    packaged = rt.detector.version
    with rt.db.write() as s:
        row = registry.register(s, _second_model(tmp_path), rt.models_dir, actor="test")
        again = registry.register(s, Path(row.path), rt.models_dir, actor="test")
        version = row.version
    assert again.id == row.id and Path(row.path).parent == rt.models_dir
    assert rt.detector.version == packaged  # filing never switches models
    with rt.db.write() as s:
        assert registry.promote(s, version, actor="cli:test") == registry.PACKAGED
    assert rt.detector.version == version
    summary = analyse_pending(rt)
    assert summary.items == len(ids)
    with rt.db.read() as s:
        versions = {v for (v,) in s.execute(select(Verdict.model_version))}
        listed = registry.listing(s)
    assert versions == {packaged, version}
    assert [r["version"] for r in listed if r["active"]] == [version]
    with rt.db.write() as s:
        assert registry.rollback(s, actor="cli:test") == registry.PACKAGED
    assert rt.detector.version == packaged
    with rt.db.write() as s, pytest.raises(registry.RegistryError):
        registry.promote(s, "0000deadbeef", actor="cli:test")


def test_drift_finds_new_words_next_to_drug_terms_and_counts_disputes(rt: Runtime, tmp_path: Path) -> None:
    make_staff(rt)
    ids = _items(rt, tmp_path, ["Меф и кристаллы, новинка зелибоба в наличии, клады по городу",
                                "Погода в Астане: завтра без осадков."], channel="drift")  # fmt: skip
    detector = rt.detector
    assert detector.vocabulary, "the shipped model carries its training vocabulary"
    found = drift.new_words(detector, ["Меф и кристаллы, новинка зелибоба в наличии", "Погода хорошая"])
    assert "зелибоба" in found[0] and found[1] == []
    with rt.db.write() as s:
        feedback.correct(s, ids[1], "sale", actor="analyst", reason="test")
    with rt.db.read() as s:
        weeks = drift.report(s, detector, weeks=2)
    assert sum(w["items"] for w in weeks) == 2 and sum(w["disputed"] for w in weeks) == 1
    assert any("зелибоба" in w["top_new_words"] for w in weeks)


def test_verdict_and_model_commands(env: dict[str, str], rt: Runtime, tmp_path: Path) -> None:
    make_staff(rt)
    ids = _items(rt, tmp_path)
    result = run(env, "verdicts", "correct", str(ids[1]), "--label", "recruit", "--as", "analyst",
                 "--reason", "test", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout)[0] | {"by": None} == {"item": ids[1], "label": "recruit", "predicted": "other",
                                                      "model": rt.detector.version, "by": None, "agrees": False}  # fmt: skip
    bad = run(env, "verdicts", "correct", str(ids[1]), "--label", "weed", "--as", "analyst")
    assert bad.returncode == 2 and "unknown label 'weed'" in bad.stderr and "Traceback" not in bad.stderr
    disputed = lines(run(env, "verdicts", "list", "--disputed", "--json").stdout)
    assert [d["item"] for d in disputed] == [ids[1]]
    models = lines(run(env, "model", "list", "--json").stdout)
    assert [m["active"] for m in models] == [True] and models[0]["by"] == "packaged"
    weeks = lines(run(env, "model", "drift", "--json").stdout)
    assert weeks and weeks[0]["disputed"] == 1
    review = run(env, "verdicts", "review", "--json")
    assert review.returncode == 0, review.stderr
    nothing = run(env, "model", "rollback")
    assert nothing.returncode == 2 and "no promotion to roll back" in nothing.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # training; both databases above
def test_training_on_feedback_files_a_model_that_learnt_the_corrections(env: dict[str, str], rt: Runtime,
                                                                         tmp_path: Path) -> None:  # fmt: skip
    pytest.importorskip("sklearn")
    make_staff(rt)
    none = run(env, "model", "train", "--feedback", "--synthetic", "30")
    assert none.returncode == 2 and "no corrections" in none.stderr
    ids = _items(rt, tmp_path)
    with rt.db.write() as s:
        feedback.correct(s, ids[1], "recruit", actor="analyst", reason="test")
    result = run(env, "model", "train", "--feedback", "--synthetic", "30")
    assert result.returncode == 0, result.stderr
    assert "filed in the registry (1 corrections learnt" in " ".join(result.stdout.split())
    models = lines(run(env, "model", "list", "--json").stdout)
    assert len(models) == 2 and models[0]["figures"]["feedback"] == 1 and not models[0]["active"]
    assert (rt.models_dir / f"{models[0]['version']}.npz").exists()
    promoted = run(env, "model", "promote", models[0]["version"], "--reason", "test")
    assert promoted.returncode == 0, promoted.stderr
    assert rt.detector.version == models[0]["version"]


def test_two_promotions_at_once_leave_exactly_one_model_in_use(rt: Runtime, tmp_path: Path) -> None:
    """Two admins promote different models at the same moment (two PostgreSQL sessions): the second
    waits for the first and then switches from it, so one model is in use, never two."""
    import threading

    from sqlalchemy import func, text

    from shekteu.db.ops_tables import DetectorModel

    if rt.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer; the race needs PostgreSQL's row locks")
    pytest.importorskip("sklearn")
    from shekteu.detect.train import fit, synthetic

    versions = []
    for seed in (1, 2, 3):
        path = tmp_path / f"m{seed}.npz"
        fit(synthetic(20, seed=seed)).save(path)
        with rt.db.write() as s:
            versions.append(registry.register(s, path, rt.models_dir, actor="test").version)
    with rt.db.write() as s:
        registry.promote(s, versions[0], actor="cli:test")
    pid: list[int] = []
    done = threading.Event()

    def second() -> None:
        with rt.db.write() as s:
            pid.append(s.scalar(text("SELECT pg_backend_pid()")))
            started.wait()
            registry.promote(s, versions[2], actor="cli:b")
        done.set()

    started = threading.Barrier(2)
    worker = threading.Thread(target=second)
    with rt.db.write() as s:
        registry.promote(s, versions[1], actor="cli:a")  # holds its locks until this block ends
        worker.start()
        started.wait()
        # The barrier is the second session waiting on the first.
        assert wait_until_blocked(rt, pid[0], done), "the second promotion did not wait for the first"
    worker.join(30)
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(DetectorModel).where(DetectorModel.active.is_(True))) == 1
        assert registry.active(s).version == versions[2]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # files only
def test_training_without_out_leaves_the_packaged_model_alone(env: dict[str, str], tmp_path: Path) -> None:
    import hashlib

    pytest.importorskip("sklearn")
    from shekteu.detect.model import default_path

    before = hashlib.sha256(default_path().read_bytes()).hexdigest()
    done = run(env, "model", "train", "--synthetic", "30")
    assert done.returncode == 0, done.stderr
    written = Path(env["SHEKTEU_DATA_DIR"]) / "models" / "detector.npz"
    assert written.exists() and "SHEKTEU_MODEL_PATH" in done.stdout
    assert hashlib.sha256(default_path().read_bytes()).hexdigest() == before
