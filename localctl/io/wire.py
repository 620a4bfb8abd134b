"""The common case of RFC 6455 framing, for the relay's hot path.

Nearly every frame a relay sees is one whole text message in one frame: FIN set, no RSV bits,
no extension, masked from a client and unmasked from a server. websockets parses such a frame
through four nested generators and builds it again through a `Frame` and a `BytesIO`; at
20,000 frames a second that was the largest single cost of the relay after the socket calls.
Here the same frames are read and written with a few slice and struct operations, and every
other frame (control frames, fragments, RSV bits, a wrong mask bit, an oversized length) is
left to websockets, which then applies all of RFC 6455's rules to it.

Pure functions over bytes: `localctl.io.direct` decides when they may be used.
"""

from __future__ import annotations

import os
import struct
from typing import Final

try:  # websockets' C speedup, where it is built
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover
    from websockets.utils import apply_mask

INCOMPLETE: Final = 0
"""The buffer ends inside the frame: wait for more bytes."""
NOT_PLAIN: Final = 1
"""The frame is not a single unextended data frame: websockets must parse it."""

_FIN_TEXT: Final = 0x81
_FIN_BINARY: Final = 0x82
_MASK_BIT: Final = 0x80
_SHORT_LIMIT: Final = 126  # payloads below this carry their length in the second byte
_MEDIUM_LIMIT: Final = 65536  # below this, a 16-bit length; from it, a 64-bit length
_MASK_POOL_BYTES: Final = 4096

PlainFrame = tuple[bool, bytes, int]
"""(is_text, payload unmasked, offset just past the frame)."""


def read_plain_frame(
    buffer: bytes | bytearray, start: int, *, masked: bool, max_size: int | None
) -> PlainFrame | int:
    """The frame starting at `start`, if it is plain; else INCOMPLETE or NOT_PLAIN.

    `masked` says whether the peer must mask (RFC 6455 5.1: a client always does, a server
    never does); a frame that does otherwise is left to websockets, which fails the
    connection. So is a length above `max_size`, which websockets answers with 1009."""
    available = len(buffer) - start
    if available < 2:
        return INCOMPLETE
    first = buffer[start]
    if first not in (_FIN_TEXT, _FIN_BINARY):
        return NOT_PLAIN
    second = buffer[start + 1]
    if bool(second & _MASK_BIT) is not masked:
        return NOT_PLAIN
    length = second & 0x7F
    offset = start + 2
    if length == 126:
        if available < 4:
            return INCOMPLETE
        (length,) = struct.unpack_from("!H", buffer, offset)
        offset += 2
    elif length == 127:
        if available < 10:
            return INCOMPLETE
        (length,) = struct.unpack_from("!Q", buffer, offset)
        offset += 8
    if max_size is not None and length > max_size:
        return NOT_PLAIN
    if masked:
        mask = bytes(buffer[offset : offset + 4])
        offset += 4
    end = offset + length
    if end > len(buffer):
        return INCOMPLETE
    payload = bytes(buffer[offset:end])
    if masked:
        payload = apply_mask(payload, mask)
    return first == _FIN_TEXT, payload, end


def text_frame(payload: bytes, mask: bytes | None) -> bytes:
    """One final, unextended text frame carrying `payload`, masked with `mask` if given."""
    length = len(payload)
    mask_bit = _MASK_BIT if mask is not None else 0
    if length < _SHORT_LIMIT:
        header = bytes((_FIN_TEXT, mask_bit | length))
    elif length < _MEDIUM_LIMIT:
        header = struct.pack("!BBH", _FIN_TEXT, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", _FIN_TEXT, mask_bit | 127, length)
    if mask is None:
        return header + payload
    return header + mask + apply_mask(payload, mask)


class MaskSource:
    """Masking keys for a client's frames, from the system's random source (RFC 6455 5.3
    asks for keys the application cannot predict), drawn a page at a time instead of with a
    system call per frame."""

    __slots__ = ("_next", "_pool")

    def __init__(self) -> None:
        self._pool = b""
        self._next = 0

    def next_mask(self) -> bytes:
        if self._next >= len(self._pool):
            self._pool = os.urandom(_MASK_POOL_BYTES)
            self._next = 0
        mask = self._pool[self._next : self._next + 4]
        self._next += 4
        return mask
