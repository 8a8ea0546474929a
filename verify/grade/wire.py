"""The private channel between the grader and a sandboxed child: framed JSON plus raw float64 bytes.

A message is a 4-byte length, a JSON header, then the payload of each array the header
lists, as little-endian float64 bytes.  Nothing is ever unpickled: the receiving side
rebuilds plain ndarrays from bytes, so an object the child made cannot cross the boundary.
"""
from __future__ import annotations

import json
import math
import socket
import struct
import time

import numpy as np

HEADER_LIMIT = 1 << 20      # a header is small: names, ints, strings, shapes
PAYLOAD_LIMIT = 256 << 20   # an array message can never be bigger than this
MAX_DEPTH = 64              # arguments are a few levels deep; a header nested deeper is an attack


class ChannelClosed(Exception):
    """The other side went away (it exited, was killed, or closed the channel)."""


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


def send(sock: socket.socket, header: dict, arrays: tuple = ()) -> None:
    """Send header and arrays; arrays go as float64 bytes, described in header['$arrays']."""
    blobs = [np.asarray(a, dtype="<f8", order="C") for a in arrays]  # 0-d stays 0-d
    header = {**header, "$arrays": [list(b.shape) for b in blobs]}
    data = json.dumps(header, allow_nan=True).encode()
    sock.sendall(struct.pack("<I", len(data)) + data)
    for blob in blobs:
        if blob.size:
            sock.sendall(memoryview(blob).cast("B"))  # the array's own buffer: no copy


def receive(sock: socket.socket, limit: int = PAYLOAD_LIMIT, deadline: float | None = None,
            header_limit: int = HEADER_LIMIT) -> tuple[dict, list[np.ndarray]]:
    """One message: (header, arrays).  Arrays are fresh, writable, plain float64 ndarrays.
    Anything malformed, nested too deep, with a header over header_limit bytes or bigger than limit
    bytes of arrays is a ProtocolError.  With a deadline (time.monotonic()), the whole message must
    have arrived by then, however slowly it trickles in: else socket.timeout."""
    (size,) = struct.unpack("<I", _exactly(sock, 4, deadline))
    if size > header_limit:
        raise ProtocolError(f"a message header of {size} bytes (the limit is {header_limit})")
    text = _exactly(sock, size, deadline)
    if _depth(text) > MAX_DEPTH:  # json.loads recurses: a deep nest would raise RecursionError here
        raise ProtocolError(f"a message header nested deeper than {MAX_DEPTH}")
    try:
        header = json.loads(text)
    except ValueError:
        raise ProtocolError("a message header that is not JSON") from None
    shapes = header.pop("$arrays", []) if isinstance(header, dict) else None
    if not isinstance(shapes, list) or not all(_is_shape(s) for s in shapes):
        raise ProtocolError("a message without a valid array list")
    sizes = [math.prod(s) * 8 for s in shapes]  # Python ints: no overflow to a small number
    if sum(sizes) > limit:
        raise ProtocolError(f"arrays of {sum(sizes)} bytes (the limit for this reply is {limit})")
    arrays = []
    for shape in shapes:  # read straight into each array's own buffer (fresh, writable, no copy)
        array = np.empty(shape, dtype="<f8")
        _into(sock, memoryview(array).cast("B") if array.size else memoryview(b""), deadline)
        arrays.append(array.astype(np.float64, copy=False))
    return header, arrays


def _depth(text: bytes) -> int:
    """The deepest nesting of [ and { outside strings, counted without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 92:  # backslash
                escaped = True
            elif byte == 34:  # quote
                in_string = False
        elif byte == 34:
            in_string = True
        elif byte in (91, 123):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (93, 125):
            depth -= 1
    return deepest


def _is_shape(shape) -> bool:
    return isinstance(shape, list) and len(shape) <= 8 and all(type(n) is int and 0 <= n < 1 << 31 for n in shape)


def _into(sock: socket.socket, view: memoryview, deadline: float | None = None) -> None:
    """Fill view from the socket, by the deadline as _exactly does."""
    done, n = 0, len(view)
    while done < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("the deadline passed")
            sock.settimeout(remaining)
        got = sock.recv_into(view[done:], min(n - done, 1 << 20))
        if not got:
            raise ChannelClosed()
        done += got


def _exactly(sock: socket.socket, n: int, deadline: float | None = None) -> bytes:
    chunks, left = [], n
    while left:
        if deadline is not None:  # the time left for the whole message, not for each piece of it
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("the deadline passed")
            sock.settimeout(remaining)
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ChannelClosed()
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
