"""Which gradproof this is: the installed distribution's version (results, reports and
`gradproof --version` name it, so a disputed grade can be reproduced with the same one)."""
from __future__ import annotations

import functools
import importlib.metadata
import re
from pathlib import Path


# cached: reading the distribution's metadata costs ~8 ms (an email parse), and the grader
# stamps every gradient check with it; what is installed does not change under a running process
@functools.cache
def version() -> str:
    try:
        return importlib.metadata.version("gradproof")
    except importlib.metadata.PackageNotFoundError:  # a checkout on sys.path, not installed
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        found = re.search(r'^version = "([^"]+)"', pyproject.read_text(), re.M) if pyproject.is_file() else None
        return found.group(1) if found else "unknown"


def versions() -> str:
    """One line for `gradproof --version`: gradproof's and what its results depend on."""
    import platform

    parts = []
    for name in ("numpy", "sympy"):
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} not installed")
    return f"gradproof {version()} (Python {platform.python_version()}, {', '.join(parts)})"
