"""A Gradescope autograder zip in one command (`gradproof gradescope`): setup.sh,
run_autograder, a wheel of the running gradproof, the rubric and its support files.

Gradescope unpacks the zip into /autograder/source, runs setup.sh there as root, copies
run_autograder to /autograder/run_autograder and runs it for each submission, which it puts in
/autograder/submission; results go to /autograder/results/results.json.  Both scripts find
/autograder from their own location, so the same zip runs in a fake layout in the tests.

The wheel is written here from the installed package's own files and metadata (no build
backend, no network): what grades on Gradescope is byte for byte the gradproof the TA ran.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from gradproof import derive, verify
from gradproof.derive.about import version

from .imports import providers

# A shebang first: Gradescope executes run_autograder directly (without one: "Exec format error").
SETUP = """#!/usr/bin/env bash
# Written by `gradproof gradescope`: Gradescope runs this once, as root, in /autograder/source.
set -euo pipefail
SOURCE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$SOURCE")"
# gradproof needs Python 3.10 or newer with venv (Gradescope's Ubuntu 22.04 image: 3.10, no venv)
if ! python3 -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --quiet --upgrade pip
"$ROOT/venv/bin/python" -m pip install --quiet "$SOURCE"/{wheel}{packages}
"$ROOT/venv/bin/python" -m gradproof.verify.cli --version
"""

RUN = """#!/usr/bin/env bash
# Written by `gradproof gradescope`: Gradescope runs this as /autograder/run_autograder for
# each submission.  gradproof grades /autograder/submission in its sandbox and writes
# /autograder/results/results.json (exit 0 whatever the score; 1 if the grader could not run).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${{GRADPROOF_PYTHON:-$ROOT/venv/bin/python}}"
mkdir -p "$ROOT/results"
exec "$PYTHON" -m gradproof.verify.cli grade "$ROOT/submission" --rubric "$ROOT/source/assignment/{rubric}" \\
    --results "$ROOT/results/results.json"
"""


class AutograderError(Exception):
    """A rubric or installation that cannot be packed: one line."""


@dataclass(frozen=True)
class Packed:
    path: Path
    wheel: str
    files: tuple[str, ...]   # the zip's members


def build(rubric_path: Path, packages: tuple[str, ...], support: tuple[str, ...], out: Path) -> Packed:
    """Write the zip at out: the scripts, the wheel, the rubric and its support files."""
    base = rubric_path.resolve().parent
    members: dict[str, tuple[bytes, int]] = {}
    wheel_name, wheel = wheel_bytes()
    members[wheel_name] = (wheel, 0o644)
    members[f"assignment/{rubric_path.name}"] = (rubric_path.read_bytes(), 0o644)
    for item in support:
        source = Path(item).resolve()
        if base not in source.parents:
            raise AutograderError(f"{rubric_path}: support file {item} is outside the rubric's folder; "
                                  "move it beside the rubric so the zip keeps the same layout") from None
        files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
        for f in files:
            if "__pycache__" not in f.parts:
                members[f"assignment/{f.relative_to(base).as_posix()}"] = (f.read_bytes(), 0o644)
    extra = "".join(f" {d}" for d in distributions(packages))
    members["setup.sh"] = (SETUP.format(wheel=wheel_name, packages=extra).encode(), 0o755)
    members["run_autograder"] = (RUN.format(rubric=rubric_path.name).encode(), 0o755)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, (data, mode) in sorted(members.items()):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16  # a regular file with its mode: the scripts stay executable
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return Packed(out, wheel_name, tuple(sorted(members)))


def distributions(modules: tuple[str, ...]) -> tuple[str, ...]:
    """What pip installs for the modules a rubric allows, pinned to the versions graded here: a
    module's distribution can have another name (past comes with future, sklearn with
    scikit-learn); a module not installed here is refused (it could not be tested)."""
    out = []
    for module in modules:
        names = providers(module.split(".")[0])
        if not names:
            raise AutograderError(f"the rubric allows '{module}', which is not installed here: install it and try "
                                  "the rubric locally first, so the autograder installs the version you tried")
        for name in names:
            pinned = f"{name}=={importlib.metadata.version(name)}"
            if pinned not in out:
                out.append(pinned)
    return tuple(out)


def _package_files() -> list[tuple[str, Path]]:
    """(path in the wheel, file) of every module and data file of gradproof.derive and gradproof.verify."""
    out = []
    for package, name in ((derive, "derive"), (verify, "verify")):
        root = Path(package.__file__).resolve().parent
        for f in sorted(root.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".pyc", ".pyo"):
                out.append((f"gradproof/{name}/{f.relative_to(root).as_posix()}", f))
    return out


def wheel_bytes() -> tuple[str, bytes]:
    """(file name, content) of a wheel of the running gradproof (pure Python, any platform)."""
    try:
        dist = importlib.metadata.distribution("gradproof")
    except importlib.metadata.PackageNotFoundError:
        raise AutograderError("gradproof is not installed (pip install it, or pip install -e . in a checkout)") from None
    metadata = dist.read_text("METADATA") or dist.read_text("PKG-INFO")  # PKG-INFO: an egg-info in a checkout
    if not metadata:
        raise AutograderError("gradproof's installed metadata cannot be read")
    tag = f"gradproof-{version()}"
    info = f"{tag}.dist-info"
    files = [(arc, path.read_bytes()) for arc, path in _package_files()]
    files.append((f"{info}/METADATA", metadata.encode()))
    files.append((f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: gradproof gradescope\nRoot-Is-Purelib: true\n"
                                   b"Tag: py3-none-any\n"))
    for name in ("entry_points.txt", "licenses/LICENSE"):
        text = dist.read_text(name)
        if text:
            files.append((f"{info}/{name}", text.encode()))
    record = "".join(f"{arc},sha256={_digest(data)},{len(data)}\n" for arc, data in files) + f"{info}/RECORD,,\n"
    files.append((f"{info}/RECORD", record.encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in files:
            z.writestr(zipfile.ZipInfo(arc, date_time=(2026, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return f"{tag}-py3-none-any.whl", buffer.getvalue()


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
