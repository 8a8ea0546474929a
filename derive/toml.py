"""TOML reading for every file gradproof takes (models, notations, rubrics): the standard
library's reader from Python 3.11, the same parser's backport (tomli) on 3.10."""
from __future__ import annotations

try:
    from tomllib import TOMLDecodeError, loads
except ModuleNotFoundError:  # Python 3.10
    from tomli import TOMLDecodeError, loads

__all__ = ["TOMLDecodeError", "loads"]
