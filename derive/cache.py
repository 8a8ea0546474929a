"""A cache of proof results keyed by the models' source.

It is read without importing SymPy, so that a repeat run costs well under a second:
the key hashes every source file of the derive package plus the SymPy version string
found in its installed metadata.
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
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(metadata.version("sympy").encode())
    return digest.hexdigest()[:20]


def _path(models: tuple[str, ...]) -> Path:
    return cache_dir() / f"derive-{source_key()}-{'+'.join(models)}.json"


def load(models: tuple[str, ...]) -> list[dict] | None:
    try:
        return json.loads(_path(models).read_text())["claims"]
    except (OSError, ValueError, KeyError):
        return None


def store(models: tuple[str, ...], claims: list[dict]) -> None:
    path = _path(models)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"claims": claims}))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home only costs speed
