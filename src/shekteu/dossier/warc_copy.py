"""Copy one capture's WARC records, byte for byte, out of the daily WARC file it was appended to.

A dossier must carry the original records (their digests are the evidence), not a re-encoding. Each
capture's response, request and metadata records were appended together, response first, followed
by its requisites' records (marked ``Shekteu-Requisite-Of``); they are the gzip members from the
response's offset up to the next record that starts something else (``starts_capture``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from shekteu.evidence.store import HOP_HEADER, REQUISITE_HEADER


def starts_capture(record: Any) -> bool:
    """A page's response, a warcinfo or a resource (screenshot) record: where one capture's records end."""
    if record.rec_type == "response":
        headers = record.rec_headers
        return headers.get_header(REQUISITE_HEADER) is None and headers.get_header(HOP_HEADER) is None
    return record.rec_type in ("warcinfo", "resource")


def capture_records(warc_path: Path, offset: int) -> bytes:
    """The raw (gzipped) records of the capture whose response record starts at ``offset``."""
    with open(warc_path, "rb") as fh:
        fh.seek(offset)
        end = offset
        records = ArchiveIterator(fh)
        for n, record in enumerate(records):
            if n > 0 and starts_capture(record):
                break
            if n == 0 and record.rec_type not in ("response", "resource"):
                raise ValueError(
                    f"{warc_path.name} at {offset}: expected a response record, found {record.rec_type}"
                )
            records.read_to_end(record)
            # warcio's offsets are the file's own (it asks fh.tell()), not counted from ``offset``.
            end = records.get_record_offset() + records.get_record_length()
        fh.seek(offset)
        return fh.read(end - offset)
