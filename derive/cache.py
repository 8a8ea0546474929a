"""A cache of proof results, one entry per model file.

It is read without importing SymPy, so that a repeat run costs well under a second.  The key
hashes every source file of the derive package (and its grammar), the SymPy version found in
its installed metadata, and the content of the model file itself: a model outside the
package, edited or not, is never served another file's results.
"""
from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def cache_dir() -> Path:
    base = os.environ.get("GRADPROOF_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gradproof")
    return Path(base)


def source_key() -> str:
    digest = hashlib.sha256()
    for path in sorted(list(PACKAGE.rglob("*.py")) + list(PACKAGE.glob("*.lark"))):
        if "generated" in path.relative_to(PACKAGE).parts or path.name == "reference.py":
            continue  # generated code does not change what is proved
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(metadata.version("sympy").encode())
    return digest.hexdigest()[:20]


def model_key(name: str, content: bytes) -> str:
    digest = hashlib.sha256(source_key().encode())
    digest.update(name.encode() + b"\0" + content)
    return digest.hexdigest()[:24]


def _path(name: str, content: bytes) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:40]
    return cache_dir() / f"derive-{safe}-{model_key(name, content)}.json"


def load(name: str, content: bytes) -> list[dict] | None:
    try:
        return json.loads(_path(name, content).read_text())["claims"]
    except (OSError, ValueError, KeyError):
        return None


def store(name: str, content: bytes, claims: list[dict]) -> None:
    path = _path(name, content)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"claims": claims}))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home only costs speed
