"""The private channel between the grader and a sandboxed child: framed JSON plus raw array bytes.

A message is a 4-byte length, a JSON header, then the payload of each array the header
lists ('$arrays': shapes; '$dtypes': one of DTYPES each, float64 where absent), little-endian.
Nothing is ever unpickled: the receiving side rebuilds plain ndarrays from bytes, so an object
the child made cannot cross the boundary.

Values (arguments, results) travel as a JSON tree made by `pack` and read back by `unpack`:
numbers, booleans, None and strings as themselves; an array as {"$a": i} (the i-th array of the
message); a tuple as {"$t": [...]}; a dict (string keys) as {"$d": {...}}; a list as a list;
anything else as {"$o": "its type's name"} (it cannot cross; the receiver learns what it was).
"""
from __future__ import annotations

import json
import math
import re
import socket
import struct
import time

import numpy as np

HEADER_LIMIT = 1 << 20      # a header is small: names, ints, strings, shapes
PAYLOAD_LIMIT = 256 << 20   # an array message can never be bigger than this
MAX_DEPTH = 64              # arguments are a few levels deep; a header nested deeper is an attack
MAX_NODES = 4096            # values in one packed tree (a cache tuple, a grads dict: tens)
MAX_STRING = 1000           # characters of one packed string
# wire dtype code -> (numpy dtype, bytes per entry); integers of every width cross as int64
DTYPES = {"f8": (np.dtype("<f8"), 8), "i8": (np.dtype("<i8"), 8), "b1": (np.dtype("|b1"), 1)}


class ChannelClosed(Exception):
    """The other side went away (it exited, was killed, or closed the channel)."""


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


def wire_dtype(array: np.ndarray) -> str:
    """The code an array crosses as: booleans as b1, integers as i8 (unsigned 64-bit ones, which
    int64 cannot hold, as f8), everything else numeric as f8."""
    kind = array.dtype.kind
    if kind == "b":
        return "b1"
    if kind == "i" or kind == "u" and array.dtype.itemsize < 8:
        return "i8"
    return "f8"


def send(sock: socket.socket, header: dict, arrays: tuple = ()) -> None:
    """Send header and arrays; each array goes as the bytes of its wire dtype (float arrays as
    float64, integer ones as int64, booleans as bytes), described in header['$arrays'/'$dtypes']."""
    blobs = []
    for a in arrays:
        a = np.asarray(a)
        code = wire_dtype(a) if a.dtype.kind in "biuf" else "f8"
        blobs.append(np.asarray(a, dtype=DTYPES[code][0], order="C"))  # 0-d stays 0-d
    codes = [wire_dtype(b) for b in blobs]
    header = {**header, "$arrays": [list(b.shape) for b in blobs]}
    if any(c != "f8" for c in codes):
        header["$dtypes"] = codes
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
    codes = header.pop("$dtypes", ["f8"] * len(shapes))
    if not isinstance(codes, list) or len(codes) != len(shapes) or not all(type(c) is str and c in DTYPES for c in codes):
        raise ProtocolError("a message without a valid array dtype list")
    sizes = [math.prod(s) * DTYPES[c][1] for s, c in zip(shapes, codes)]  # Python ints: no overflow
    if sum(sizes) > limit:
        raise ProtocolError(f"arrays of {sum(sizes)} bytes (the limit for this reply is {limit})")
    arrays = []
    for shape, code in zip(shapes, codes):  # read straight into each array's own buffer (fresh, writable)
        array = np.empty(shape, dtype=DTYPES[code][0])
        _into(sock, memoryview(array).cast("B") if array.size else memoryview(b""), deadline)
        arrays.append(array.astype(array.dtype.newbyteorder("="), copy=False))
    return header, arrays


def pack(value, arrays: list, depth: int = 0, count: list | None = None):
    """value as a JSON tree, its arrays appended to arrays (sent after the header).  Bounded: at most
    MAX_NODES values, MAX_DEPTH levels, strings of MAX_STRING characters; beyond, ProtocolError."""
    count = [0] if count is None else count
    count[0] += 1
    if count[0] > MAX_NODES or depth > MAX_DEPTH // 2:
        raise ProtocolError(f"a value of more than {MAX_NODES} parts or {MAX_DEPTH // 2} levels")
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return str.__str__(value)[:MAX_STRING]
    if isinstance(value, np.ndarray):
        plain = np.ndarray.view(value, np.ndarray)  # a subclass's own methods are never asked
        if plain.dtype.kind not in "biuf":
            return {"$o": f"ndarray {plain.dtype}"[:60]}
        arrays.append(plain)
        return {"$a": len(arrays) - 1, "k": str(plain.dtype)[:20]}
    if isinstance(value, tuple):
        return {"$t": [pack(v, arrays, depth + 1, count) for v in tuple.__iter__(value)]}
    if isinstance(value, list):
        return [pack(v, arrays, depth + 1, count) for v in list.__iter__(value)]
    if isinstance(value, dict):
        return {"$d": {(k if type(k) is str else str(k))[:MAX_STRING]: pack(v, arrays, depth + 1, count)
                       for k, v in dict.items(value)}}
    return {"$o": type(value).__name__[:60]}


class Opaque:
    """What stood for a value that cannot cross the channel (an object of the submission's own)."""
    __slots__ = ("kind",)

    def __init__(self, kind: str):
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{self.kind}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, Opaque) and other.kind == self.kind

    __hash__ = None


def unpack(tree, arrays: list, special=None):
    """The value a packed tree stands for, checked as it is read: an array index out of range, a
    malformed marker or a value of another type is a ProtocolError.  special(dict) may claim other
    markers (the child's stand-ins, datasets); it returns NotImplemented for the rest.  Recursive,
    but only as deep as receive allowed (MAX_DEPTH), and only as much work as the header's size."""
    if isinstance(tree, (str, bool, int, float)) or tree is None:
        return tree
    if isinstance(tree, list):
        return [unpack(v, arrays, special) for v in tree]
    if not isinstance(tree, dict):
        raise ProtocolError("a packed value of an unknown type")
    if special is not None:
        claimed = special(tree)
        if claimed is not NotImplemented:
            return claimed
    if "$a" in tree:
        index = tree["$a"]
        if type(index) is not int or not 0 <= index < len(arrays) or not set(tree) <= {"$a", "k"}:
            raise ProtocolError("a packed array that is not in the message")
        return arrays[index]
    if "$t" in tree:
        if not isinstance(tree["$t"], list) or len(tree) != 1:
            raise ProtocolError("a malformed packed tuple")
        return tuple(unpack(v, arrays, special) for v in tree["$t"])
    if "$d" in tree:
        if not isinstance(tree["$d"], dict) or len(tree) != 1:
            raise ProtocolError("a malformed packed dict")
        return {k: unpack(v, arrays, special) for k, v in tree["$d"].items()}
    if "$o" in tree:
        return Opaque(str(tree["$o"])[:60])
    return {k: unpack(v, arrays, special) for k, v in tree.items()}  # a plain dict: arguments by name


# a JSON string, escapes and all: its brackets are not nesting.  An unterminated one does not
# match, so its brackets count: an over-estimate, and such a header is not JSON anyway
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _depth(text: bytes) -> int:
    """The deepest nesting of [ and { outside strings, counted without recursion (and without a
    Python loop over every byte: headers are read on every call to a submission)."""
    depth = deepest = 0
    for byte in _STRING.sub(b"", text).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in (91, 123) else -1
        deepest = max(deepest, depth)
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
