"""Evidence a court accepts: RFC 3161 tokens from a local TSA (real `openssl ts -reply`), WACZ packages
that `wacz validate` accepts, and offline verification that catches each kind of tampering."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shekteu.audit_check import check_runtime
from shekteu.capture.web import capture_urls
from shekteu.db.evidence_tables import EvidenceStamp, StampedCapture
from shekteu.dossier.build import build_dossier
from shekteu.evidence import timestamps
from shekteu.evidence.verify import verify_path
from shekteu.evidence.wacz import build as build_wacz
from shekteu.evidence.wacz import select_captures
from shekteu.runtime import Runtime, keys_dir
from shekteu.shops.query import list_shops
from tests.servers import LocalServer, Reply
from tests.test_cli import lines, run
from tests.test_takedown import SHOP_PAGE
from tests.tsa import LocalTSA

OTHER_PAGE = SHOP_PAGE.replace("@web_op_bot", "@other_op_bot").replace("Клады 24/7", "Другой магазин")


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    authority = LocalTSA(tmp_path_factory.mktemp("tsa"))
    yield authority
    authority.close()


@pytest.fixture
def srt(make_runtime, tsa: LocalTSA) -> Runtime:
    return make_runtime(SHEKTEU_TSA_URL=tsa.url, SHEKTEU_TSA_CA_FILE=str(tsa.ca_file))


def _capture(rt: Runtime, web: LocalServer, path: str, page: str) -> int:
    web.route(path, Reply(200, page.encode()))
    (outcome,) = capture_urls(rt, [web.url(path)])
    assert outcome.error is None
    return outcome.id


def _openssl_verify(data: Path, token: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", "ts", "-verify", "-data", str(data), "-in", str(token), "-CAfile", str(ca)],
                          capture_output=True, text=True, check=False)  # fmt: skip


def test_a_stamping_lists_new_evidence_once_and_openssl_accepts_the_token(srt: Runtime, web: LocalServer,
                                                                          tsa: LocalTSA) -> None:  # fmt: skip
    first = _capture(srt, web, "/a", SHOP_PAGE)
    result = timestamps.stamp(srt)
    assert result is not None and result.captures == 1 and result.warc_files == 1
    statement, token = result.files
    claims = timestamps.parse_statement(statement.read_text())
    assert list(claims["captures"]) == [first] and claims["audit"][0] == result.audit_id
    check = _openssl_verify(statement, token, tsa.ca_file)
    assert check.returncode == 0 and "Verification: OK" in check.stdout, check.stderr
    warc_name, (size, _sha) = next(iter(claims["warc"].items()))
    assert size == (srt.settings.data_dir / warc_name).stat().st_size
    assert timestamps.stamp(srt) is None  # nothing new: its own audit entry is not news
    second = _capture(srt, web, "/b", OTHER_PAGE)
    again = timestamps.stamp(srt)
    assert again is not None and again.captures == 1
    assert list(timestamps.parse_statement(again.files[0].read_text())["captures"]) == [second]
    with srt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(StampedCapture)) == 2
    report = check_runtime(srt)
    assert report.ok, report.problems
    assert report.anchors_checked >= 2


def test_an_authority_that_fails_stores_nothing_and_says_why(make_runtime, web: LocalServer, tsa: LocalTSA) -> None:
    rt = make_runtime(SHEKTEU_TSA_URL=web.url("/down"))
    _capture(rt, web, "/a", SHOP_PAGE)
    web.route("/down", Reply(503, b"busy"))
    web.post_routes["/down"] = lambda body, headers: Reply(503, b"busy")
    with pytest.raises(timestamps.TimestampError, match="HTTP 503"):
        timestamps.stamp(rt)
    web.post_routes["/down"] = lambda body, headers: Reply(200, b"<html>not a token</html>")
    with pytest.raises(timestamps.TimestampError, match="not a time-stamp reply"):
        timestamps.stamp(rt)
    replayed = tsa.server.post_routes["/tsr"](
        timestamps.tokens.query(b"something else")[0], {"content-type": "application/timestamp-query"}
    )
    web.post_routes["/down"] = lambda body, headers: replayed  # a valid token, but for another request
    with pytest.raises(timestamps.TimestampError, match="another request"):
        timestamps.stamp(rt)
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceStamp)) == 0
    unset = make_runtime()
    with pytest.raises(timestamps.TimestampError, match="SHEKTEU_TSA_URL"):
        timestamps.stamp(unset)


def test_two_stampings_at_once_list_each_capture_once(make_runtime, web: LocalServer, tsa: LocalTSA) -> None:
    """Both runs build the same statement and hold a token before either commits (a barrier in the TSA)."""
    rt = make_runtime(SHEKTEU_TSA_URL=tsa.url)
    other = make_runtime(SHEKTEU_TSA_URL=tsa.url)
    _capture(rt, web, "/a", SHOP_PAGE)
    barrier = threading.Barrier(2, timeout=30)
    answer = tsa.server.post_routes["/tsr"]

    def gated(body: bytes, headers: dict[str, str]) -> Reply:
        barrier.wait()
        return answer(body, headers)

    tsa.server.post_routes["/tsr"] = gated
    results: list[object] = []
    try:
        threads = [threading.Thread(target=lambda r=r: results.append(timestamps.stamp(r))) for r in (rt, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        tsa.server.post_routes["/tsr"] = answer
    assert len(results) == 2 and sum(r is not None for r in results) == 1
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceStamp)) == 1
        assert s.scalar(select(func.count()).select_from(StampedCapture)) == 1


def _dossier(rt: Runtime, web: LocalServer, out: Path) -> Path:
    _capture(rt, web, "/shop", SHOP_PAGE)
    with rt.db.read() as s:
        shop = list_shops(s)[0]
    build_dossier(rt, shop["id"], out)
    return out


def _rezip(src: Path, dst: Path, change: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            zout.writestr(name, change.get(name, zin.read(name)))
    return dst


def test_a_dossier_verifies_offline_and_each_tampering_is_named(srt: Runtime, web: LocalServer, tmp_path: Path,
                                                                tsa: LocalTSA) -> None:  # fmt: skip
    case = _dossier(srt, web, tmp_path / "case.zip")
    with zipfile.ZipFile(case) as zf:
        names = set(zf.namelist())
        assert "evidence.wacz" in names and "timestamps/tsa-ca.pem" in names
        assert any(n.endswith(".tsr") for n in names)
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["audit_chain_intact"] is True and manifest["audit_problems"] == []
        files = {n: zf.read(n) for n in names}
    good = verify_path(case)
    assert good.ok and good.hashes_ok and good.chain_ok and good.timestamps_ok, good.problems
    assert good.stamps and "Common Name: Shekteu test TSA" in good.stamps[0]["tsa"]  # readable, not a repr

    warc = next(n for n in names if n.startswith("captures/"))
    flipped = bytearray(files[warc])
    flipped[len(flipped) // 2] ^= 0x01
    bad = verify_path(_rezip(case, tmp_path / "byte.zip", {warc: bytes(flipped)}))
    assert not bad.hashes_ok and any(warc in p for p in bad.problems)

    custody = files["custody.jsonl"].decode().splitlines()
    entries = [json.loads(line) for line in custody]
    entries[0]["reason"], entries[1]["reason"] = entries[1]["reason"], entries[0]["reason"]
    edited = "\n".join(json.dumps(e, ensure_ascii=False) for e in entries).encode() + b"\n"
    bad = verify_path(_rezip(case, tmp_path / "custody.zip", {"custody.jsonl": edited}))
    assert bad.chain_ok is False and any("custody.jsonl line" in p for p in bad.problems)

    stamps = sorted(n for n in names if n.endswith(".tsr"))
    foreign = tsa.server.post_routes["/tsr"](timestamps.tokens.query(b"another file")[0],
                                             {"content-type": "application/timestamp-query"}).body  # fmt: skip
    bad = verify_path(_rezip(case, tmp_path / "token.zip", {stamps[0]: foreign}))
    assert bad.timestamps_ok is False and any("other data" in p for p in bad.problems)

    other = LocalTSA(tmp_path / "rogue", name="Rogue TSA")
    try:
        bad = verify_path(case, tsa_ca=other.ca_file)
    finally:
        other.close()
    assert bad.timestamps_ok is False and any("trusted root" in p for p in bad.problems)


def test_a_wacz_passes_wacz_validate_and_verifies(srt: Runtime, web: LocalServer, tmp_path: Path) -> None:
    a = _capture(srt, web, "/a", SHOP_PAGE)
    b = _capture(srt, web, "/b", OTHER_PAGE)
    timestamps.stamp(srt)
    with srt.db.read() as s:
        captures = select_captures(s, ids=[a, b])
    summary = build_wacz(srt.settings.data_dir, captures, tmp_path / "two.wacz", title="two pages")
    assert summary.captures == 2 and summary.records == 6
    with zipfile.ZipFile(summary.path) as zf:
        assert zf.getinfo("archive/data.warc.gz").compress_type == zipfile.ZIP_STORED
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").splitlines()]
        assert pages[0]["format"] == "json-pages-1.0" and {p.get("url") for p in pages[1:]} == {web.url("/a"), web.url("/b")}
        index = zf.read("indexes/index.cdxj").decode().splitlines()
        assert len(index) == 2 and index[0].startswith("127.0.0.1:")
    wacz_cli = shutil.which("wacz", path=str(Path(sys.executable).parent))
    if wacz_cli:
        check = subprocess.run([wacz_cli, "validate", "-f", str(summary.path)], capture_output=True, text=True, check=False)
        assert check.returncode == 0 and "is valid" in check.stdout, check.stdout + check.stderr
    good = verify_path(summary.path, tsa_ca=srt.settings.tsa_ca_file, stamp_dirs=[srt.settings.data_dir / "timestamps"])
    assert good.ok, good.problems
    data = bytearray(summary.path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("archive/data.warc.gz")
    data[info.header_offset + 100] ^= 0x01  # inside the stored WARC
    tampered = tmp_path / "tampered.wacz"
    tampered.write_bytes(bytes(data))
    bad = verify_path(tampered, tsa_ca=srt.settings.tsa_ca_file, stamp_dirs=[srt.settings.data_dir / "timestamps"])
    assert not bad.ok and bad.hashes_ok is False
    rezipped = tmp_path / "rezipped.wacz"  # the WARC damaged and the zip rebuilt around it (CRCs fine)
    with zipfile.ZipFile(summary.path) as old, zipfile.ZipFile(rezipped, "w") as new:
        for item in old.infolist():
            member = old.read(item)
            if item.filename == "archive/data.warc.gz":
                member = member[:200] + bytes(b ^ 0x55 for b in member[200:400]) + member[400:]
            new.writestr(item, member)
    damaged = verify_path(rezipped, tsa_ca=srt.settings.tsa_ca_file, stamp_dirs=[srt.settings.data_dir / "timestamps"])
    assert damaged.hashes_ok is False and damaged.timestamps_ok is False  # said, not a traceback


def test_a_daily_warc_verifies_against_its_statements(srt: Runtime, web: LocalServer) -> None:
    _capture(srt, web, "/a", SHOP_PAGE)
    timestamps.stamp(srt)
    (warc,) = list(srt.store.warcs.glob("*.warc.gz"))
    folder = srt.settings.data_dir / "timestamps"
    assert verify_path(warc, tsa_ca=srt.settings.tsa_ca_file, stamp_dirs=[folder]).ok
    _capture(srt, web, "/b", OTHER_PAGE)  # appended after the stamp
    late = verify_path(warc, tsa_ca=srt.settings.tsa_ca_file, stamp_dirs=[folder])
    assert late.timestamps_ok is False and any("added after the last timestamp" in p for p in late.problems)
    timestamps.stamp(srt)
    assert verify_path(warc, tsa_ca=srt.settings.tsa_ca_file, stamp_dirs=[folder]).ok


def test_a_daily_warc_larger_than_memory_allows_is_verified_as_a_stream(srt: Runtime, web: LocalServer) -> None:
    """A day's WARC file grows to gigabytes: verify reads it in blocks (before, it refused any WARC over
    512 MB and held the whole file in memory below that)."""
    import os
    import tracemalloc

    for n in range(4):  # pages that do not compress: the file is as large as they are
        web.route(f"/blob{n}", Reply(200, os.urandom(3_000_000), {"Content-Type": "application/octet-stream"}))
        (outcome,) = capture_urls(srt, [web.url(f"/blob{n}")])
        assert outcome.error is None
    timestamps.stamp(srt)
    (warc,) = list(srt.store.warcs.glob("*.warc.gz"))
    size, folder = warc.stat().st_size, srt.settings.data_dir / "timestamps"
    assert size > 12_000_000
    tracemalloc.start()
    try:
        report = verify_path(warc, tsa_ca=srt.settings.tsa_ca_file, stamp_dirs=[folder], max_member=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.ok, report.problems
    assert peak < 6_000_000 < size / 2, (peak, size)  # a record and a block at most, not the file
    with warc.open("r+b") as handle:  # one byte inside the second page's body
        handle.seek(size // 2)
        byte = handle.read(1)
        handle.seek(size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    tampered = verify_path(warc, tsa_ca=srt.settings.tsa_ca_file, stamp_dirs=[folder], max_member=1_000_000)
    assert tampered.hashes_ok is False and tampered.timestamps_ok is False


def test_timestamped_heads_catch_a_rewrite_even_without_the_witness(srt: Runtime, web: LocalServer) -> None:
    from tests.test_audit_tamper import _sql

    _capture(srt, web, "/a", SHOP_PAGE)
    timestamps.stamp(srt)
    (keys_dir(srt.settings) / "audit-head.json").unlink()  # the attacker removed the witness too
    _sql(srt, "DELETE FROM stamped_captures", "DELETE FROM evidence_stamps",
         "DELETE FROM audit_log WHERE id > 1")  # fmt: skip
    report = check_runtime(srt)
    assert not report.ok
    assert any("rows deleted" in p for p in report.problems)
    assert any("timestamped statement" in p for p in report.problems)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the CLI's contracts; both databases in the tests above
def test_cli_contracts(env: dict[str, str], web: LocalServer, tsa: LocalTSA, tmp_path: Path) -> None:
    env = {**env, "SHEKTEU_TSA_URL": tsa.url, "SHEKTEU_TSA_CA_FILE": str(tsa.ca_file)}
    web.route("/shop", Reply(200, SHOP_PAGE.encode()))
    assert run(env, "capture", web.url("/shop")).returncode == 0
    stamped = run(env, "evidence", "timestamp", "--json")
    assert stamped.returncode == 0, stamped.stderr
    assert lines(stamped.stdout)[0]["captures"] == 1
    shop_id = lines(run(env, "shops", "list", "--json").stdout)[0]["id"]
    exported = run(env, "evidence", "export", "--shop", str(shop_id), "--format", "wacz", "--out", str(tmp_path / "s.wacz"))
    assert exported.returncode == 0, exported.stderr
    verified = run(env, "evidence", "verify", str(tmp_path / "s.wacz"), "--json")
    report = lines(verified.stdout)[0]
    assert verified.returncode == 0, report
    assert {"files", "hashes_ok", "chain_ok", "timestamps_ok", "problems"} <= report.keys()
    assert report["hashes_ok"] and report["timestamps_ok"] and report["problems"] == []
    assert run(env, "dossier", str(shop_id), "--out", str(tmp_path / "case")).returncode == 0
    assert run(env, "evidence", "verify", str(tmp_path / "case")).returncode == 0
    (tmp_path / "case" / "shop.json").write_text("{}")
    bad = run(env, "evidence", "verify", str(tmp_path / "case"))
    assert bad.returncode == 1 and "shop.json does not match" in bad.stderr and "Traceback" not in bad.stderr
    for args, message in [
        (["evidence", "export", "--out", str(tmp_path / "x.wacz")], "exactly one of"),
        (["evidence", "export", "--capture", "999", "--out", str(tmp_path / "x.wacz")], "no capture with WARC records: 999"),
        (["evidence", "export", "--since", "yesterday", "--out", str(tmp_path / "x.wacz")], "not a date"),
        (["evidence", "export", "--shop", str(shop_id), "--format", "zip", "--out", str(tmp_path / "x.wacz")], "only wacz"),
        (["evidence", "export", "--shop", str(shop_id), "--out", str(tmp_path / "s.wacz")], "exists"),
    ]:
        result = run(env, *args)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    missing = run(env, "evidence", "verify", str(tmp_path / "nothing.wacz"), "--json")
    assert missing.returncode == 1 and "no such file" in lines(missing.stdout)[0]["problems"][0]
    garbage = tmp_path / "garbage.warc.gz"
    garbage.write_bytes(b"\x1f\x8b not really gzip")
    assert run(env, "evidence", "verify", str(garbage)).returncode == 1


def test_a_capture_copied_out_of_the_daily_file_is_its_records_and_nothing_more(rt: Runtime, web: LocalServer) -> None:
    """Before the fix, a capture's copy ran on into the next capture's first member by as many bytes as
    the capture's own offset (warcio's offsets are absolute): dossiers carried a damaged tail."""
    from warcio.archiveiterator import ArchiveIterator

    from shekteu.db.tables import Capture
    from shekteu.dossier.warc_copy import capture_records

    first = _capture(rt, web, "/a", SHOP_PAGE)
    _capture(rt, web, "/b", OTHER_PAGE)
    with rt.db.read() as s:
        row = s.get(Capture, first)
        copy = capture_records(rt.settings.data_dir / row.warc_file, row.warc_offset)
    records = ArchiveIterator(io.BytesIO(copy), check_digests=True)
    kinds = []
    for record in records:
        kinds.append(record.rec_type)
        records.read_to_end(record)
    assert kinds == ["response", "request", "metadata"]
    assert records.get_record_offset() + records.get_record_length() == len(copy)


def test_the_worker_timestamps_on_schedule_when_an_authority_is_set(make_runtime, web: LocalServer,
                                                                    tsa: LocalTSA) -> None:  # fmt: skip
    from shekteu.db.ops_tables import Job
    from shekteu.queue.worker import Worker, schedule

    plain = make_runtime()
    with plain.db.read() as s:
        assert "timestamp" not in set(s.scalars(select(Job.stage)))
    schedule(plain)
    with plain.db.read() as s:
        assert "timestamp" not in set(s.scalars(select(Job.stage)))  # no authority: never queued
    rt = make_runtime(SHEKTEU_TSA_URL=tsa.url)
    _capture(rt, web, "/a", SHOP_PAGE)
    schedule(rt)
    Worker(rt, concurrency=1).run(drain=True)
    with rt.db.read() as s:
        job = s.scalars(select(Job).where(Job.stage == "timestamp")).one()
        assert job.state == "done" and job.result["captures"] == 1
        assert s.scalar(select(func.count()).select_from(EvidenceStamp)) == 1


def test_redirect_hops_are_records_of_their_own_and_travel_with_the_capture(srt: Runtime, web: LocalServer,
                                                                           tmp_path: Path) -> None:  # fmt: skip
    from warcio.archiveiterator import ArchiveIterator

    from shekteu.db.tables import Capture
    from shekteu.dossier.warc_copy import capture_records
    from shekteu.evidence.store import HOP_HEADER

    web.route("/short", Reply(302, b"", {"Location": "/step"}))
    web.route("/step", Reply(301, b"", {"Location": "/shop"}))
    web.route("/shop", Reply(200, SHOP_PAGE.encode()))
    (outcome,) = capture_urls(srt, [web.url("/short")])
    assert outcome.final_url == web.url("/shop")
    with srt.db.read() as s:
        c = s.get(Capture, outcome.id)
        copy = capture_records(srt.settings.data_dir / c.warc_file, c.warc_offset)
    responses = [(r.rec_headers.get_header("WARC-Target-URI"), r.http_headers.get_statuscode(),
                  r.rec_headers.get_header(HOP_HEADER) is not None, r.http_headers.get_header("Location"))
                 for r in ArchiveIterator(io.BytesIO(copy)) if r.rec_type == "response"]  # fmt: skip
    assert responses == [(web.url("/shop"), "200", False, None), (web.url("/short"), "302", True, "/step"),
                         (web.url("/step"), "301", True, "/shop")]  # fmt: skip
    timestamps.stamp(srt)
    with srt.db.read() as s:
        summary = build_wacz(srt.settings.data_dir, select_captures(s, ids=[outcome.id]), tmp_path / "r.wacz", title="r")
    with zipfile.ZipFile(summary.path) as zf:
        index = zf.read("indexes/index.cdxj").decode()
    assert web.url("/short").split("//")[1].split("/")[0] in index and '"status": "302"' in index
    report = verify_path(summary.path, tsa_ca=srt.settings.tsa_ca_file, stamp_dirs=[srt.settings.data_dir / "timestamps"])
    assert report.ok, report.problems


def test_verify_refuses_what_it_cannot_check_in_memory(tmp_path: Path) -> None:
    """Hostile packages: a member that unpacks past the limit (a zip bomb), a zip that is not a package,
    and NUL-filled files — each one line, nothing read past the limit."""
    bomb = tmp_path / "bomb.wacz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("datapackage.json", b'{"resources": []}')
        zf.writestr("archive/data.warc.gz", b"\0" * 5_000_000)  # 5 MB of zeros: a few KB packed
    assert bomb.stat().st_size < 100_000
    report = verify_path(bomb, max_member=1_000_000)
    assert not report.ok and any("larger than 1000000 bytes unpacked" in p for p in report.problems)
    big = tmp_path / "big.warc.gz"  # a WARC on its own is read as a stream, whatever its size
    big.write_bytes(b"\0" * 2_000_000)
    assert any("damaged after record 0" in p for p in verify_path(big, max_member=1_000_000).problems)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("notes.txt", b"hello")
    assert any("neither a dossier" in p for p in verify_path(other).problems)
    nul = tmp_path / "nul.warc"
    nul.write_bytes(b"\0" * 1000)
    assert not verify_path(nul).ok
