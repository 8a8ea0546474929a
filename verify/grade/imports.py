"""What a submission may import, and how the confined child reaches it wherever Python lives.

A submission may import the standard library, numpy, the packages its rubric allows (and what
those need), and its own files.  The child runs as an unprivileged user, and the interpreter
may live where that user cannot go: pyenv's Python under /root, mode 0700, is the common case.
So the worker, before any child exists, opens each directory the child will import from (the
standard library, lib-dynload, each allowed package's own directories) and keeps the
descriptors; the child imports through /proc/self/fd/N, which starts the path walk at the
directory itself, so the directories above it are never searched and their modes do not
matter.  What the descriptors open is exactly what Landlock lets the child read: nothing more
becomes reachable where Landlock holds.  The same mechanism runs everywhere (a 0700 home,
pyenv, conda, a venv, /usr), so a test on any machine exercises it.
"""
from __future__ import annotations

import dataclasses
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import re
import sys
import zipimport
from dataclasses import dataclass

# modules a correct submission imports; the probe proves they load before any student is graded
PROBE = ("argparse", "glob", "heapq", "pathlib", "subprocess", "unittest", "numpy.random", "numpy.testing",
         "string", "logging", "hashlib", "decimal", "statistics", "threading", "random", "math", "collections",
         "encodings.idna")
ALWAYS = ("numpy",)


@dataclass(frozen=True)
class Root:
    path: str     # a directory (or a single-file module) the child imports from
    fd: int       # the worker's descriptor on it (O_PATH), inherited by every child

    @property
    def via(self) -> str:
        return f"/proc/self/fd/{self.fd}"


@dataclass(frozen=True)
class Importable:
    """Resolved once, in the worker: where the standard library and each allowed package live."""
    stdlib: tuple[Root, ...]                     # the standard library and lib-dynload: on sys.path
    packages: tuple[tuple[str, str], ...]        # allowed top-level module -> its path (dir or file)
    roots: tuple[Root, ...]                      # every directory or file held open (stdlib and packages)
    allowed: tuple[str, ...]                     # what the rubric names (numpy always), for messages
    missing: tuple[str, ...] = ()                # allowed by the rubric but not installed here
    moved: tuple = ()                            # (module, its __path__, its __file__) through the descriptors

    def root_of(self, path: str) -> Root | None:
        for root in self.roots:
            if path == root.path or path.startswith(root.path.rstrip("/") + "/"):
                return root
        return None

    def via(self, path: str) -> str:
        """path as the child reaches it: through the descriptor of the root that holds it."""
        root = self.root_of(path)
        return path if root is None else root.via + path[len(root.path):]


def stdlib_directories() -> list[str]:
    """The standard library's directories on this interpreter's path (not site-packages)."""
    base = os.path.dirname(os.__file__)
    found = [base]
    for entry in sys.path:
        if not entry or not os.path.isdir(entry) or "-packages" in entry:
            continue
        real = os.path.realpath(entry)
        if real == os.path.realpath(base) or not real.startswith(os.path.realpath(sys.base_prefix)):
            continue  # the current directory, PYTHONPATH, a checkout: not the standard library
        found.append(entry)
    return list(dict.fromkeys(os.path.realpath(p) for p in found))


def _distribution(name: str):
    """The installed distribution providing the top-level module name, or None."""
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        pass
    for dist_name in providers(name):
        try:
            return importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def providers(module: str) -> list[str]:
    """The installed distributions whose files hold the top-level module (past comes with future).
    Read from each distribution's own files: Python 3.10's packages_distributions reads only
    top_level.txt, which most wheels lack."""
    names = []
    for dist in importlib.metadata.distributions():
        declared = (dist.read_text("top_level.txt") or "").split()
        if module in declared or module in {_module_name(e) for e in _top_level(dist)}:
            if dist.metadata["Name"] not in names:
                names.append(dist.metadata["Name"])
    return names


def _requirements(dist) -> list[str]:
    """The distribution names dist needs at run time (extras left out)."""
    names = []
    for requirement in dist.requires or []:
        if "extra" in requirement.split(";", 1)[-1] and ";" in requirement:
            continue
        found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if found:
            names.append(found.group(1))
    return names


def _top_level(dist) -> list[str]:
    """The top-level entries a distribution installed: its packages, modules and vendored .libs."""
    entries = []
    for file in dist.files or []:
        first = file.parts[0] if file.parts else ""
        if not first or first in ("..", "__pycache__") or first.endswith((".dist-info", ".egg-info", ".pth")):
            continue
        entries.append(first)
    return list(dict.fromkeys(entries))


def _module_name(entry: str) -> str | None:
    """'scipy' for a package directory, 'six' for six.py, '_cffi_backend' for an extension; None for data."""
    if "." not in entry:
        return entry
    for suffix in importlib.machinery.all_suffixes():
        if entry.endswith(suffix):
            return entry[: -len(suffix)].split(".")[0]
    return None


def _spec_paths(name: str) -> list[str]:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [os.path.realpath(p) for p in spec.submodule_search_locations]
    return [os.path.realpath(spec.origin)] if spec.origin and os.path.exists(spec.origin) else []


def resolve(allowed: tuple[str, ...] = ()) -> Importable:
    """Find and open what the child may import: the standard library, numpy and the allowed
    packages with everything they need (their own directories and their requirements')."""
    wanted = tuple(dict.fromkeys(ALWAYS + tuple(allowed)))
    packages: dict[str, str] = {}
    paths: list[str] = []
    missing = []
    seen: set[str] = set()
    queue = list(wanted)
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.add(name)
        located = _spec_paths(name.replace("-", "_"))
        dist = _distribution(name)
        if not located and dist is None:
            if name in wanted:
                missing.append(name)
            continue
        if located:
            packages.setdefault(name.replace("-", "_"), located[0])
            paths += located
        if dist is not None:
            base = os.path.realpath(str(dist.locate_file("")))
            for entry in _top_level(dist):
                path = os.path.join(base, entry)
                if not os.path.exists(path):
                    continue
                paths.append(os.path.realpath(path))
                module = _module_name(entry)
                if module and module.isidentifier():
                    packages.setdefault(module, os.path.realpath(path))
            queue += _requirements(dist)
    stdlib = [_open(p) for p in stdlib_directories()]
    held = {r.path: r for r in stdlib}
    for path in dict.fromkeys(paths):
        if not any(path == p or path.startswith(p.rstrip("/") + "/") for p in held):
            held[path] = _open(path)
    found = Importable(tuple(stdlib), tuple(sorted(packages.items())), tuple(held.values()), wanted, tuple(missing))
    return dataclasses.replace(found, moved=_moved(found))


def _moved(importable: Importable) -> tuple:
    """Where each module already loaded (here, in the worker) is reached from a child: worked out once,
    so that a child only assigns them (resolving every path in every child cost 30 ms a submission)."""
    moved = []
    for name, module in list(sys.modules.items()):
        path, file = getattr(module, "__path__", None), getattr(module, "__file__", None)
        entries = None
        if isinstance(path, list) or type(path).__name__ == "_NamespacePath":
            try:
                entries = tuple(importable.via(os.path.realpath(p)) for p in list(path))
            except (TypeError, ValueError):
                entries = None
        new_file = importable.via(os.path.realpath(file)) if isinstance(file, str) else None
        if (entries is not None and entries != tuple(path)) or (new_file is not None and new_file != file):
            moved.append((name, entries, new_file))
    return tuple(moved)


def _open(path: str) -> Root:
    return Root(path, os.open(path, os.O_PATH | os.O_CLOEXEC))


# -- in the child, once confined -------------------------------------------------------------------


class AllowedPackages:
    """A finder for the allowed packages, each at the place the worker found it (reached through
    its descriptor): the child never searches site-packages, so nothing else there is importable."""

    def __init__(self, importable: Importable):
        self._where = {name: importable.via(path) for name, path in importable.packages}

    def find_spec(self, fullname, path=None, target=None):
        if path is not None or fullname not in self._where:
            return None
        where = self._where[fullname]
        try:
            is_dir = os.path.isdir(where)
            if is_dir:
                listed = os.listdir(where)
            else:
                os.stat(where)
        except OSError as e:  # the grader's machine, not the submission: the grader tells them apart
            raise ModuleNotFoundError(f"No module named '{fullname}' (the sandbox cannot read it: "
                                      f"{type(e).__name__})", name=fullname) from None
        if is_dir:
            if "__init__.py" in listed:
                init = os.path.join(where, "__init__.py")
                return importlib.util.spec_from_file_location(fullname, init, submodule_search_locations=[where])
            spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)  # a namespace package
            spec.submodule_search_locations = [where]
            return spec
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            if where.endswith(suffix):
                return importlib.util.spec_from_file_location(
                    fullname, where, loader=importlib.machinery.ExtensionFileLoader(fullname, where))
        return importlib.util.spec_from_file_location(
            fullname, where, loader=importlib.machinery.SourceFileLoader(fullname, where))


class NotAllowed:
    """The last finder: a top-level module found nowhere is named with what the grader offers."""

    def __init__(self, allowed: tuple[str, ...]):
        self._offer = ", ".join(allowed)

    def find_spec(self, fullname, path=None, target=None):
        if path is None and "." not in fullname and fullname not in sys.stdlib_module_names:
            raise ModuleNotFoundError(f"No module named '{fullname}' (while grading, a submission can import "
                                      f"the standard library, {self._offer}, and its own files)", name=fullname)
        return None


def install(importable: Importable, workdir: str) -> None:
    """Import from the working directory, the standard library and the allowed packages only, all
    through the worker's descriptors; modules already loaded are pointed there too, so their
    lazily imported submodules (numpy.random, encodings.idna) load the same way."""
    sys.path[:] = [workdir] + [root.via for root in importable.stdlib]
    standard = (importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter, importlib.machinery.PathFinder)
    sys.meta_path[:] = [f for f in sys.meta_path if f in standard] + [AllowedPackages(importable), NotAllowed(importable.allowed)]
    sys.path_hooks[:] = [h for h in sys.path_hooks
                         if h is zipimport.zipimporter or "FileFinder" in getattr(h, "__qualname__", "")]
    sys.path_importer_cache.clear()
    for name, path, file in importable.moved:
        module = sys.modules.get(name)
        if module is None:
            continue
        try:
            if path is not None:
                if isinstance(module.__path__, list):
                    module.__path__[:] = list(path)
                else:
                    module.__path__ = list(path)
            if file is not None:
                module.__file__ = file
        except (TypeError, ValueError, AttributeError):
            continue
