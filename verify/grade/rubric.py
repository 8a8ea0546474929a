"""The rubric: which tests, worth how much, seen by whom, at what tolerance; read from TOML."""
from __future__ import annotations

from gradproof.derive import toml
from dataclasses import dataclass, fields
from pathlib import Path

from .assignment import FUNCTIONS
from .confine import Limits

CHECKS = ("values", "large", "gradient", "hygiene")
VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
SHIPPED = Path(__file__).parent / "rubrics"


class RubricError(Exception):
    """A rubric that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Test:
    name: str
    function: str
    check: str
    points: float
    outputs: tuple[str, ...]
    visibility: str = "visible"
    partial: bool = True   # points in proportion to the cases passed


@dataclass(frozen=True)
class Rubric:
    assignment: str
    file: str
    tests: tuple[Test, ...]
    support: tuple[str, ...] = ()
    timeout: float = 10.0
    hidden_cases: int = 4
    public_cases: int = 1
    rtol: float = 1e-5
    atol: float = 1e-8
    hidden_seed: int | None = None
    limits: Limits = Limits()
    budget: float = 120.0              # wall-clock seconds for one submission, all its calls together
    size_timeout: float = 1.0          # wall-clock seconds for the call of a full-size case
    packages: tuple[str, ...] = ()     # importable besides the standard library and numpy (scipy, ...)
    source: str = ""

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)


def shipped() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def load(path: str | None = None, assignment: str = "word2vec") -> Rubric:
    if path is None:
        if assignment not in shipped():
            raise RubricError(f"unknown assignment '{assignment}' (known: {', '.join(shipped())})")
        path = str(SHIPPED / f"{assignment}.toml")
    try:
        data, _ = toml.read(path)
    except toml.TomlFileError as e:
        raise RubricError(f"rubric {e}") from None
    return parse(data, path)


def parse(data: dict, where: str) -> Rubric:
    tests = data.get("test")
    if not isinstance(tests, list) or not tests:
        raise RubricError(f"{where}: no [[test]] entries")
    known = {f.name for f in fields(Rubric)} | {"test"}
    for key in data:
        if key not in known:
            raise RubricError(f"{where}: unknown key '{key}' (known: {', '.join(sorted(known - {'source', 'tests'}))})")
    limits = data.get("limits", {})
    try:
        limits = Limits(**limits)
    except TypeError:
        raise RubricError(f"{where}: [limits] takes {', '.join(f.name for f in fields(Limits))}") from None
    base = Path(where).parent
    rubric = Rubric(
        assignment=str(data.get("assignment", Path(where).stem)), file=str(data.get("file", "word2vec.py")),
        tests=tuple(_test(t, i + 1, where) for i, t in enumerate(tests)),
        support=tuple(str((base / s).resolve()) for s in data.get("support", [])),
        timeout=_number(data, "timeout", 10.0, where, positive=True), hidden_cases=int(_number(data, "hidden_cases", 4, where)),
        public_cases=int(_number(data, "public_cases", 1, where)),
        rtol=_number(data, "rtol", 1e-5, where), atol=_number(data, "atol", 1e-8, where),
        hidden_seed=data.get("hidden_seed"), limits=limits,
        budget=_number(data, "budget", 120.0, where, positive=True),
        size_timeout=_number(data, "size_timeout", 1.0, where, positive=True), packages=_packages(data, where),
        source=str(where))
    if rubric.hidden_seed is not None and type(rubric.hidden_seed) is not int:
        raise RubricError(f"{where}: hidden_seed must be an integer")
    if rubric.budget < rubric.timeout:
        raise RubricError(f"{where}: 'budget' ({rubric.budget:g} s for a whole submission) is less than "
                          f"'timeout' ({rubric.timeout:g} s for one call)")
    return rubric


def _packages(data: dict, where: str) -> tuple[str, ...]:
    packages = data.get("packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) and p.replace("-", "_").isidentifier() for p in packages):
        raise RubricError(f"{where}: 'packages' must be a list of package names, such as [\"scipy\"]")
    return tuple(p for p in packages if p != "numpy")


def _number(data, key, default, where, positive=False):
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (positive and value == 0):
        raise RubricError(f"{where}: '{key}' must be a {'positive' if positive else 'non-negative'} number")
    return value


def _test(entry: dict, number: int, where: str) -> Test:
    at = f"{where}: test {number}"
    if not isinstance(entry, dict):
        raise RubricError(f"{at}: not a table")
    name, function, check = entry.get("name"), entry.get("function"), entry.get("check", "values")
    if not isinstance(name, str) or not name:
        raise RubricError(f"{at}: needs a name")
    if function not in FUNCTIONS:
        raise RubricError(f"{at} ('{name}'): unknown function '{function}' (known: {', '.join(FUNCTIONS)})")
    if check not in CHECKS:
        raise RubricError(f"{at} ('{name}'): unknown check '{check}' (known: {', '.join(CHECKS)})")
    outputs = tuple(entry.get("outputs", FUNCTIONS[function].outputs))
    for output in outputs:
        if output not in FUNCTIONS[function].outputs:
            raise RubricError(f"{at} ('{name}'): {function} has no output '{output}' "
                              f"(its outputs: {', '.join(FUNCTIONS[function].outputs)})")
    visibility = entry.get("visibility", "visible")
    if visibility not in VISIBILITY:
        raise RubricError(f"{at} ('{name}'): visibility must be one of {', '.join(VISIBILITY)}")
    points = entry.get("points", 1)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
        raise RubricError(f"{at} ('{name}'): points must be a non-negative number")
    unknown = set(entry) - {"name", "function", "check", "outputs", "visibility", "points", "partial"}
    if unknown:
        raise RubricError(f"{at} ('{name}'): unknown key '{sorted(unknown)[0]}'")
    return Test(name, function, check, float(points), outputs, visibility, bool(entry.get("partial", True)))
