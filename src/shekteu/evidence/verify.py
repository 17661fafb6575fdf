"""Offline verification of evidence as a reviewer receives it: a dossier, a WACZ or a WARC file.

Nothing here needs the database or a network: every check is against the bytes in hand, the
statements and tokens that travel with them (or lie in DATA_DIR/timestamps), and the TSA certificate
the reviewer trusts. Checks, each reported in words:

* hashes — every file against the manifest or datapackage, every WARC record against its SHA-256
  block and payload digests, every blob against its name;
* chain — each custody entry's hash recomputed from its content and the hash before it;
* timestamps — each token valid for its statement under the trusted root, and every capture's
  records (or a WARC file's bytes) listed in a timestamped statement.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from shekteu import audit
from shekteu.evidence import timestamps, tokens

MAX_MEMBER = 512 * 1024**2  # a package member is checked in memory: a zip bomb stops here
BLOCK = 1 << 20  # a WARC file on its own is read in blocks of this size
_HASH_NAMES = ("sha256",)


@dataclass
class Report:
    files: int = 0
    hashes_ok: bool = True
    chain_ok: bool | None = None
    timestamps_ok: bool | None = None
    problems: list[str] = field(default_factory=list)
    stamps: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, kind: str, problem: str) -> None:
        self.problems.append(problem)
        setattr(self, kind, False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"files": self.files, "hashes_ok": self.hashes_ok, "chain_ok": self.chain_ok,
                "timestamps_ok": self.timestamps_ok, "problems": self.problems, "timestamps": self.stamps}  # fmt: skip


class _Bundle:
    """Files of a folder or a zip, by their relative names."""

    def __init__(self, path: Path, data: bytes | None = None, max_member: int = MAX_MEMBER) -> None:
        self.path = path
        self.max_member = max_member
        if data is not None:
            self.zip: zipfile.ZipFile | None = zipfile.ZipFile(io.BytesIO(data))
        else:
            self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def names(self) -> list[str]:
        if self.zip is not None:
            return sorted(n for n in self.zip.namelist() if not n.endswith("/"))
        return sorted(str(p.relative_to(self.path)) for p in self.path.rglob("*") if p.is_file())

    def read(self, name: str) -> bytes:
        try:
            if self.zip is not None:
                if self.zip.getinfo(name).file_size > self.max_member:
                    raise Damaged(f"{name} is larger than {self.max_member} bytes unpacked: not checked")
                return self.zip.read(name)
            if (self.path / name).stat().st_size > self.max_member:
                raise Damaged(f"{name} is larger than {self.max_member} bytes: not checked")
            return (self.path / name).read_bytes()
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise Damaged(f"{name}: cannot be read from {self.path.name} ({exc})") from None


class Damaged(ValueError):
    """A member of a package that cannot be read at all (bad CRC, truncated zip)."""


def warc_problems(name: str, data: bytes | BinaryIO) -> list[str]:
    """Records whose SHA-256 digests do not match, or where the file stops being a WARC (read as a
    stream: a file handle is never held in memory whole)."""
    from warcio.archiveiterator import ArchiveIterator

    found, count = [], 0
    records = ArchiveIterator(io.BytesIO(data) if isinstance(data, bytes) else data, check_digests=True)
    try:
        for record in records:
            count += 1
            stream = record.content_stream()
            while stream.read(1 << 16):
                pass
            if record.digest_checker.passed is False:
                rid = record.rec_headers.get_header("WARC-Record-ID")
                found.append(f"{name}: record {rid} does not match its digest (altered)")
    except Exception as exc:  # warcio and zlib raise many kinds on damaged bytes
        found.append(f"{name}: damaged after record {count} ({type(exc).__name__}: {str(exc)[:80]})")
    if not count and not found:
        found.append(f"{name}: holds no WARC records")
    return found


def capture_chunks(data: bytes) -> list[bytes]:
    """A WARC split where each capture's records begin (a page with its requisites; a screenshot)."""
    return [data[a:b] for a, b in capture_bounds(io.BytesIO(data), len(data))]


def capture_bounds(handle: BinaryIO, length: int) -> list[tuple[int, int]]:
    """Where each capture's records begin and end in a WARC stream of ``length`` bytes."""
    from warcio.archiveiterator import ArchiveIterator

    from shekteu.dossier.warc_copy import starts_capture

    handle.seek(0)
    starts, records = [], ArchiveIterator(handle)
    for record in records:
        if starts_capture(record) and record.rec_type != "warcinfo":
            starts.append(records.get_record_offset())
        records.read_to_end(record)
    return list(itertools.pairwise([*starts, length]))


def _range_sha(handle: BinaryIO, start: int, end: int) -> str:
    digest = hashlib.sha256()
    handle.seek(start)
    while start < end and (block := handle.read(min(BLOCK, end - start))):
        digest.update(block)
        start += len(block)
    return digest.hexdigest()


def _prefix_shas(handle: BinaryIO, sizes: list[int]) -> dict[int, str]:
    """SHA-256 of the first ``size`` bytes for each size, in one pass over the stream."""
    digest, done, out = hashlib.sha256(), 0, {}
    handle.seek(0)
    for size in sorted(set(sizes)):
        while done < size and (block := handle.read(min(BLOCK, size - done))):
            digest.update(block)
            done += len(block)
        out[size] = digest.copy().hexdigest()
    return out


class _Stamps:
    """The statements at hand with their tokens, checked once each under the trusted roots."""

    def __init__(self, report: Report, roots: list[Any]) -> None:
        self.report, self.roots = report, roots
        self.captures: dict[str, tuple[int, str]] = {}  # records sha -> (capture id, statement)
        self.warcs: dict[str, list[tuple[int, str, str]]] = {}  # file name -> [(size, sha, statement)]
        self.checked: dict[str, bool] = {}

    def add(self, name: str, text: bytes, token: bytes | None) -> None:
        try:
            claims = timestamps.parse_statement(text.decode())
        except (ValueError, UnicodeDecodeError) as exc:
            self.report.fail("timestamps_ok", f"{name}: {exc}")
            return
        if not self.roots:
            return  # reported once, by _finish_timestamps
        if token is None:
            self.report.fail("timestamps_ok", f"{name}: its token ({Path(name).stem}.tsr) is missing")
            return
        try:
            facts = tokens.verify(token, text, self.roots)
        except tokens.TokenError as exc:
            self.report.fail("timestamps_ok", f"{name}: {exc}")
            self.checked[name] = False
            return
        self.checked[name] = True
        head = claims["audit"][0] if claims["audit"] else None
        self.report.stamps.append({"statement": name, "gen_time": facts.gen_time.isoformat(), "serial": facts.serial,
                                   "tsa": facts.tsa_name, "audit_head": head})  # fmt: skip
        for cid, sha in [*claims["captures"].items(), *claims["screenshots"].items()]:
            self.captures[sha] = (cid, name)
        for warc, (size, sha) in claims["warc"].items():
            self.warcs.setdefault(Path(warc).name, []).append((size, sha, name))

    def cover_chunk(self, where: str, chunk: bytes) -> None:
        if hashlib.sha256(chunk).hexdigest() not in self.captures:
            self.report.fail("timestamps_ok", f"{where}: no valid timestamp lists these records")

    def cover_file(self, name: str, handle: BinaryIO, length: int) -> None:
        """Is the WARC file (a stream of ``length`` bytes) covered by timestamps: a stamped prefix of
        it, and nothing after; or else every capture in it listed by a stamp."""
        claims = [(size, sha) for size, sha, _statement in self.warcs.get(Path(name).name, []) if size <= length]
        prefixes = _prefix_shas(handle, [size for size, _ in claims])
        best = 0
        for size, sha in claims:
            if prefixes[size] == sha:
                best = max(best, size)
            else:
                self.report.fail("timestamps_ok", f"{name}: its first {size} bytes differ from what was timestamped")
        if best == 0:
            try:
                bounds = capture_bounds(handle, length)
            except Exception:  # damaged records (warcio raises many kinds): already reported by warc_problems
                bounds = []
            if bounds and all(_range_sha(handle, a, b) in self.captures for a, b in bounds):
                return
            self.report.fail("timestamps_ok", f"{name}: no valid timestamp covers this file")
        elif best < length:
            self.report.fail("timestamps_ok", f"{name}: bytes after {best} were added after the last timestamp")


def _load_stamps(stamps: _Stamps, bundle: _Bundle | None, folders: list[Path]) -> None:
    seen: set[bytes] = set()
    if bundle is not None:
        names = set(bundle.names())
        for name in sorted(n for n in names if n.startswith("timestamps/") and n.endswith(".txt")):
            tsr = name[:-4] + ".tsr"
            text = bundle.read(name)
            seen.add(text)
            stamps.add(name, text, bundle.read(tsr) if tsr in names else None)
    for folder in folders:
        for txt in sorted(folder.glob("stamp-*.txt")):
            text = txt.read_bytes()
            if text not in seen:
                seen.add(text)
                tsr = txt.with_suffix(".tsr")
                stamps.add(str(txt), text, tsr.read_bytes() if tsr.exists() else None)


def _roots(bundle: _Bundle | None, tsa_ca: Path | None, report: Report) -> list[Any]:
    if tsa_ca is not None:
        try:
            return tokens.load_roots(tsa_ca.read_bytes())
        except (OSError, ValueError) as exc:
            report.fail("timestamps_ok", f"cannot read TSA certificates from {tsa_ca}: {exc}")
            return []
    if bundle is not None and "timestamps/tsa-ca.pem" in bundle.names():
        return tokens.load_roots(bundle.read("timestamps/tsa-ca.pem"))
    return []


def verify_path(path: Path, *, tsa_ca: Path | None = None, stamp_dirs: list[Path] | None = None,
                max_member: int = MAX_MEMBER) -> Report:  # fmt: skip
    """Check a dossier (folder or zip with manifest.json), a WACZ, or a WARC file."""
    report = Report()
    path = path.expanduser()
    if not path.exists():
        report.fail("hashes_ok", f"{path}: no such file or folder")
        return report
    try:
        bundle = _Bundle(path, max_member=max_member) if path.is_dir() or zipfile.is_zipfile(path) else None
    except (OSError, zipfile.BadZipFile) as exc:
        report.fail("hashes_ok", f"{path}: cannot open it ({exc})")
        return report
    roots = _roots(bundle, tsa_ca, report)
    stamps = _Stamps(report, roots)
    folders = [d for d in (stamp_dirs or []) if d.is_dir()]
    if bundle is None:  # one WARC file, however large (a day's file runs to gigabytes): read as a stream
        report.files = 1
        with path.open("rb") as handle:
            for problem in warc_problems(path.name, handle):
                report.fail("hashes_ok", problem)
            _load_stamps(stamps, None, folders)
            _finish_timestamps(report, stamps, lambda: stamps.cover_file(path.name, handle, path.stat().st_size))
        return report
    names = bundle.names()
    try:
        if "manifest.json" in names:
            _verify_dossier(bundle, report, stamps, folders)
        elif "datapackage.json" in names:
            _load_stamps(stamps, None, folders)
            _verify_wacz(bundle, path.name, report, stamps)
            _finish_timestamps(report, stamps, lambda: None)
        else:
            report.fail("hashes_ok", f"{path}: neither a dossier (manifest.json) nor a WACZ (datapackage.json)")
    except Damaged as exc:
        report.fail("hashes_ok", str(exc))
    return report


def _finish_timestamps(report: Report, stamps: _Stamps, cover: Any) -> None:
    if not stamps.roots:
        report.fail("timestamps_ok", "no TSA certificate to check timestamps against: pass --tsa-ca FILE "
                                     "or set SHEKTEU_TSA_CA_FILE")  # fmt: skip
        return
    cover()
    if report.timestamps_ok is None:
        report.timestamps_ok = True


def _verify_wacz(bundle: _Bundle, label: str, report: Report, stamps: _Stamps) -> None:
    names = set(bundle.names())
    try:
        package_bytes = bundle.read("datapackage.json")
        package = json.loads(package_bytes)
        resources = {r["path"]: r for r in package["resources"]}
    except (KeyError, TypeError, ValueError) as exc:
        report.fail("hashes_ok", f"{label}: datapackage.json is not a WACZ data package ({exc})")
        return
    if "datapackage-digest.json" in names:
        try:
            digest = json.loads(bundle.read("datapackage-digest.json"))["hash"]
        except (KeyError, TypeError, ValueError):
            digest = None
        if digest != "sha256:" + hashlib.sha256(package_bytes).hexdigest():
            report.fail("hashes_ok", f"{label}: datapackage.json does not match datapackage-digest.json (edited)")
    else:
        report.fail("hashes_ok", f"{label}: datapackage-digest.json is missing")
    for name in sorted(names - {"datapackage.json", "datapackage-digest.json"}):
        report.files += 1
        try:
            data = bundle.read(name)
        except Damaged as exc:
            resources.pop(name, None)
            report.fail("hashes_ok", f"{label}: {exc}")
            continue
        res = resources.pop(name, None)
        if res is None:
            report.fail("hashes_ok", f"{label}: {name} is not listed in datapackage.json (added)")
            continue
        if res.get("hash") != "sha256:" + hashlib.sha256(data).hexdigest() or res.get("bytes") != len(data):
            report.fail("hashes_ok", f"{label}: {name} does not match its hash in datapackage.json (altered)")
        if name.startswith("archive/") and ".warc" in name:
            damaged = warc_problems(f"{label}:{name}", data)
            for problem in damaged:
                report.fail("hashes_ok", problem)
            if stamps.roots and damaged:  # its records cannot be told apart, let alone matched to a stamp
                report.fail("timestamps_ok", f"{label}:{name}: damaged, so no timestamp can cover it")
            elif stamps.roots:
                for n, chunk in enumerate(capture_chunks(data), 1):
                    stamps.cover_chunk(f"{label}:{name} capture {n}", chunk)
    for name in resources:
        report.fail("hashes_ok", f"{label}: {name} is listed in datapackage.json but missing")


def _verify_dossier(bundle: _Bundle, report: Report, stamps: _Stamps, folders: list[Path]) -> None:
    names = bundle.names()
    try:
        manifest = json.loads(bundle.read("manifest.json"))
        listed = {f["path"]: f for f in manifest["files"]}
    except (KeyError, TypeError, ValueError) as exc:
        report.fail("hashes_ok", f"manifest.json is not a dossier manifest ({exc})")
        return
    _load_stamps(stamps, bundle, folders)
    for name in names:
        if name == "manifest.json":
            continue
        report.files += 1
        try:
            data = bundle.read(name)
        except Damaged as exc:
            listed.pop(name, None)
            report.fail("hashes_ok", str(exc))
            continue
        entry = listed.pop(name, None)
        if entry is None:
            report.fail("hashes_ok", f"{name} is not listed in manifest.json (added)")
        elif entry.get("sha256") != hashlib.sha256(data).hexdigest() or entry.get("bytes") != len(data):
            report.fail("hashes_ok", f"{name} does not match its hash in manifest.json (altered)")
        if name.startswith("captures/") and ".warc" in name:
            for problem in warc_problems(name, data):
                report.fail("hashes_ok", problem)
        elif name.startswith("blobs/") and hashlib.sha256(data).hexdigest() != Path(name).name:
            report.fail("hashes_ok", f"{name}: content does not match its name (altered)")
        elif name.endswith(".wacz"):
            _verify_wacz(_Bundle(Path(name), data, bundle.max_member), name, report, stamps)
    for name in listed:
        report.fail("hashes_ok", f"{name} is listed in manifest.json but missing (removed)")
    if "custody.jsonl" in names:
        report.chain_ok = True
        for problem in custody_problems(bundle.read("custody.jsonl")):
            report.fail("chain_ok", problem)

    def cover() -> None:
        for name in names:
            if name.startswith("captures/") and ".warc" in name:
                stamps.cover_chunk(name, bundle.read(name))

    _finish_timestamps(report, stamps, cover)


def custody_problems(raw: bytes) -> list[str]:
    """Custody entries whose hash does not follow from their content (edited), or unreadable lines."""
    found = []
    for n, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            expected = audit.digest_of(e["prev_hash"], e["at"], e["actor"], e["action"], e["target"], e["reason"],
                                       e["detail"])  # fmt: skip
        except (KeyError, TypeError, ValueError):
            found.append(f"custody.jsonl line {n}: not an audit entry")
            continue
        if expected != e.get("hash"):
            found.append(f"custody.jsonl line {n} (entry {e.get('id')}): content does not match its hash (edited)")
    return found
