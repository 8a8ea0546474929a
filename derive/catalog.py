"""The shipped models' names and where model files are, importable without SymPy, so the CLI
can validate arguments and hit the cache before paying for the SymPy import.

A shipped model is a file derive/models/<name>.toml; any other model is a path.
"""
from __future__ import annotations

from pathlib import Path

SHIPPED = Path(__file__).resolve().parent / "models"


def names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in SHIPPED.glob("*.toml")))


def shipped(name: str) -> Path | None:
    path = SHIPPED / f"{name}.toml"
    return path if name in names() else None


def find(name_or_path: str | Path) -> Path | None:
    """A shipped model by name, else a path to a file; None when it is neither."""
    text = str(name_or_path)
    found = shipped(text)
    if found is not None:
        return found
    path = Path(text)
    if path.suffix == ".toml" or path.exists() or "/" in text:
        return path  # reading it reports a missing or unreadable file with its name
    return None


def is_shipped(path: Path) -> bool:
    return path.resolve().parent == SHIPPED


MODEL_NAMES = names()
