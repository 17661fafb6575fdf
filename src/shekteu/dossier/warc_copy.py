"""Copy one capture's WARC records, byte for byte, out of the daily WARC file it was appended to.

A dossier must carry the original records (their digests are the evidence), not a re-encoding. Each
capture's response, request and metadata records were appended together, response first; they are
the gzip members from the response's offset up to the next response or warcinfo record.
"""

from __future__ import annotations

from pathlib import Path

from warcio.archiveiterator import ArchiveIterator


def capture_records(warc_path: Path, offset: int) -> bytes:
    """The raw (gzipped) records of the capture whose response record starts at ``offset``."""
    with open(warc_path, "rb") as fh:
        fh.seek(offset)
        end = offset
        records = ArchiveIterator(fh)
        for n, record in enumerate(records):
            if n > 0 and record.rec_type in ("response", "warcinfo"):
                break
            if n == 0 and record.rec_type != "response":
                raise ValueError(
                    f"{warc_path.name} at {offset}: expected a response record, found {record.rec_type}"
                )
            records.read_to_end(record)
            # warcio's offsets are the file's own (it asks fh.tell()), not counted from ``offset``.
            end = records.get_record_offset() + records.get_record_length()
        fh.seek(offset)
        return fh.read(end - offset)
