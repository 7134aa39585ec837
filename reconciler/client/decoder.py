"""The one decoder of Immuta's answers: from the bytes on the wire to a JSON value, every answer goes through
here (the transport feeds it, `Answer.json()` parses with it).

- **Content-Encoding**: `gzip` and `deflate`, stacked in any number (`gzip, gzip`), and `identity`. We ask
  for only these (`Accept-Encoding: gzip, deflate`); any other is refused rather than passed on undecoded.
  Each layer is undone incrementally, at most STEP bytes at a time, and the answer stops at `limit` decoded
  bytes (64 MiB, client/transport.py) however small the compressed answer was: a few KB of `gzip, gzip`
  cannot become 4 GB in memory.
- **JSON**: strict, by reconciler/jsontext.py: nesting at most MAX_DEPTH levels, no `NaN`/`Infinity`, no key
  twice in one object.

Refusals are `Undecodable(reason)`; the caller names the method and URL.
"""

from __future__ import annotations

import zlib
from typing import Any, Final, Protocol

from reconciler import jsontext

ACCEPT_ENCODING: Final = "gzip, deflate"
MAX_DEPTH: Final = jsontext.MAX_DEPTH  # 64 levels; an integration record is about 6
STEP: Final = 64 * 1024  # the most one layer produces per call, so no layer's output outgrows the bound


class Undecodable(Exception):
    """The answer cannot be decoded within the bounds; `str()` says why."""


class TooLarge(Undecodable):
    pass


def parse_json(body: bytes) -> Any:
    """An answer's JSON value; jsontext.JsonRefused (a ValueError) when it is not JSON this tool accepts."""
    return jsontext.loads(body, max_depth=MAX_DEPTH)


class _Layer(Protocol):
    def decompress(self, _data: bytes, _max_length: int = ..., /) -> bytes: ...

    @property
    def unconsumed_tail(self) -> bytes: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def eof(self) -> bool: ...


class ContentDecoder:
    """Undoes the answer's Content-Encoding as its raw chunks arrive, within `limit` decoded bytes."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        names = [name.strip().lower() for name in content_encoding.split(",") if name.strip()]
        unknown = [name for name in names if name not in ("gzip", "x-gzip", "deflate", "identity")]
        if unknown:
            raise Undecodable(f"it is encoded as {', '.join(unknown)}, which is not supported (gzip and deflate are)")
        # Applied in the order listed, so undone from the last one.
        self._kinds = [name for name in reversed(names) if name != "identity"]
        self._layers: list[_Layer] = [_layer(kind) for kind in self._kinds]
        self._started = [False] * len(self._layers)
        self._limit = limit
        self._chunks: list[bytes] = []
        self.size = 0  # decoded bytes so far

    def feed(self, raw: bytes) -> None:
        self._push(0, raw)

    def finish(self) -> bytes:
        for index in range(len(self._layers)):
            self._push(index, b"")  # whatever a layer still holds
        return b"".join(self._chunks)

    def _push(self, index: int, data: bytes) -> None:
        if index == len(self._layers):
            self.size += len(data)
            if self.size > self._limit:
                raise TooLarge("decoded")
            self._chunks.append(data)
            return
        while True:
            layer = self._layers[index]
            try:
                out = layer.decompress(data, STEP)
            except zlib.error as exc:
                if self._kinds[index] == "deflate" and not self._started[index]:
                    self._layers[index] = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
                    self._started[index] = True
                    continue
                raise Undecodable(f"its {self._kinds[index]} encoding is broken ({exc})") from None
            self._started[index] = True
            if out:
                self._push(index + 1, out)
            data = layer.unconsumed_tail
            if layer.eof and layer.unused_data:  # a further gzip member follows
                data = layer.unused_data
                self._layers[index] = _layer(self._kinds[index])
                continue
            if not data and len(out) < STEP:
                return


def _layer(kind: str) -> _Layer:
    return zlib.decompressobj(zlib.MAX_WBITS | 16 if kind in ("gzip", "x-gzip") else zlib.MAX_WBITS)
