"""Content-Encoding decoded by hand, under a running cap: a compression bomb stops at the size limit.

httpx decodes every layer a server names before the caller sees a byte, so a 1.8 KB response with
``Content-Encoding: gzip, gzip`` became a gigabyte in memory before any size check ran. Here each
layer is a pull-based reader: asking for ``n`` bytes of decoded body decompresses no more than ``n``
bytes out of every layer (zlib's ``max_length``, brotli's ``output_buffer_limit``, zstd's stream
reader), so memory stays bounded whatever the ratio. At most ``MAX_LAYERS`` encodings are accepted.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any, Protocol

MAX_LAYERS = 2
READ_SIZE = 16_384


class DecodingError(ValueError):
    """A body that cannot be decoded as its headers say; the message says why."""


class Reader(Protocol):
    def read(self, n: int) -> bytes: ...  # at most n bytes; b"" at the end


class RawSource:
    """The body as received, as a reader over an iterator of chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.buffer = chunks, b""

    def read(self, n: int) -> bytes:
        while not self.buffer:
            chunk = next(self.chunks, None)
            if chunk is None:
                return b""
            self.buffer = chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


class ZlibLayer:
    """gzip (several members too) or deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, source: Reader, gzip: bool) -> None:
        self.source, self.gzip, self.tail, self.done = source, gzip, b"", False
        self.decoder = self._new(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        self.started = False

    @staticmethod
    def _new(wbits: int) -> Any:
        return zlib.decompressobj(wbits)

    def read(self, n: int) -> bytes:
        while not self.done:
            data = self.tail or self.source.read(READ_SIZE)
            if not data:
                self.done = True
                return self.decoder.flush()[:n]
            try:
                out = self.decoder.decompress(data, n)
            except zlib.error:
                if self.gzip or self.started:
                    raise DecodingError("the body is not valid " + ("gzip" if self.gzip else "deflate")) from None
                self.decoder = self._new(-zlib.MAX_WBITS)  # raw deflate, without the zlib header
                self.started, self.tail = True, data
                continue
            self.started = True
            self.tail = self.decoder.unconsumed_tail
            if self.decoder.eof:
                rest = self.decoder.unused_data
                if self.gzip and rest.strip(b"\x00"):
                    self.decoder, self.tail = self._new(zlib.MAX_WBITS | 16), rest  # the next gzip member
                else:
                    self.done = True
            if out:
                return out
        return b""


class BrotliLayer:
    def __init__(self, source: Reader) -> None:
        import brotli

        self.source, self.decoder, self.error = source, brotli.Decompressor(), brotli.error
        self.pending = b""  # brotli may overshoot its output limit by a buffer's growth

    def read(self, n: int) -> bytes:
        try:
            while not self.pending and not self.decoder.is_finished():
                hungry = self.decoder.can_accept_more_data()
                data = self.source.read(READ_SIZE) if hungry else b""
                self.pending = self.decoder.process(data, output_buffer_limit=n)
                if hungry and not data and not self.pending and not self.decoder.is_finished():
                    raise DecodingError("the brotli body ends early")
        except self.error:
            raise DecodingError("the body is not valid brotli") from None
        out, self.pending = self.pending[:n], self.pending[n:]
        return out


class ZstdLayer:
    def __init__(self, source: Reader) -> None:
        import zstandard

        self.reader = zstandard.ZstdDecompressor().stream_reader(source, read_size=READ_SIZE)
        self.error = zstandard.ZstdError

    def read(self, n: int) -> bytes:
        try:
            return self.reader.read(n)
        except self.error as exc:
            raise DecodingError(f"the body is not valid zstd ({exc})") from None


def encodings(header: str | None) -> list[str]:
    """The Content-Encoding layers in the order they were applied; identity dropped."""
    names = [p.strip().lower() for p in (header or "").split(",")]
    return [n for n in names if n and n != "identity"]


def decoded(chunks: Iterator[bytes], header: str | None) -> Reader:
    """A reader of the decoded body; raises DecodingError for encodings refused or unknown."""
    layers = encodings(header)
    if len(layers) > MAX_LAYERS:
        raise DecodingError(f"{len(layers)} content encodings stacked ({header}); at most {MAX_LAYERS}")
    reader: Reader = RawSource(chunks)
    for name in reversed(layers):  # the last one applied is undone first
        if name in ("gzip", "x-gzip"):
            reader = ZlibLayer(reader, gzip=True)
        elif name == "deflate":
            reader = ZlibLayer(reader, gzip=False)
        elif name == "br":
            reader = BrotliLayer(reader)
        elif name == "zstd":
            reader = ZstdLayer(reader)
        else:
            raise DecodingError(f"unknown content encoding {name!r}")
    return reader
