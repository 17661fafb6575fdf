"""Evidence: what was captured (``store``: blobs and WARC files), when it provably existed
(``timestamps``: RFC 3161 tokens over daily digest statements), how it travels (``wacz``) and how a
reviewer checks it offline (``verify``)."""

from shekteu.evidence.store import BlobSealed, EvidenceStore, Exchange, WarcLocation, sha256_hex

__all__ = ["BlobSealed", "EvidenceStore", "Exchange", "WarcLocation", "sha256_hex"]
