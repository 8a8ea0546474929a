"""TOML reading for every file gradproof takes (models, notations, rubrics): the standard
library's reader from Python 3.11, the same parser's backport (tomli) on 3.10, and one way
of saying what is wrong with a file (its name, the line and column, in one line)."""
from __future__ import annotations

import re
from pathlib import Path

try:
    from tomllib import TOMLDecodeError, loads
except ModuleNotFoundError:  # Python 3.10
    from tomli import TOMLDecodeError, loads

__all__ = ["TOMLDecodeError", "TomlFileError", "loads", "message", "read"]


class TomlFileError(Exception):
    """A file that is not readable TOML text: one line naming it."""


def message(error: Exception) -> str:
    """'line 3, column 7: ...' from a TOML decoding error, whatever the reader's wording."""
    text = str(error)
    found = re.search(r"\(at line (\d+), column (\d+)\)", text)
    if found:
        return f"line {found.group(1)}, column {found.group(2)}: {text[:found.start()].strip()}"
    return text


def read(path: str | Path) -> tuple[dict, str]:
    """(the table, the text) of a TOML file, or TomlFileError saying what is wrong with it."""
    file = Path(path)
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise TomlFileError(f"{file}: not a text file (TOML in UTF-8 expected)") from None
    except IsADirectoryError:
        raise TomlFileError(f"{file}: a directory, not a TOML file") from None
    except OSError as e:
        raise TomlFileError(f"{file}: {e.strerror or e}") from None
    try:
        return loads(text), text
    except TOMLDecodeError as e:
        raise TomlFileError(f"{file}: {message(e)}") from None
