"""Results of the verify stage: plain frozen data that the report layer renders."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Entry:
    index: str  # e.g. "gradOutsideVecs[17, 3]"
    analytic: float
    numeric: float


@dataclass(frozen=True)
class Block:
    """The error of a block of rows along the check's direction (an error map)."""

    rows: str  # e.g. "2500-4999"
    analytic: float
    numeric: float
    tolerance: float


@dataclass(frozen=True)
class InputCheck:
    input: str  # the gradient's name
    passed: bool
    method: str
    max_abs_error: float
    max_rel_error: float
    tolerance: float
    coordinates: int  # how many coordinates the input has
    worst: tuple[Entry, ...] = ()
    blocks: tuple[Block, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Finding:
    kind: str  # mutation, nondeterminism, shape, dtype, nonfinite, float32, kink, complex-step, error
    severity: str  # error (the check fails), warning, info
    message: str


@dataclass(frozen=True)
class GradientCheck:
    target: str
    passed: bool
    checks: tuple[InputCheck, ...]
    hygiene: tuple[Finding, ...]
    seconds: float
    evaluations: int
    seed: int
    step: float
    dtype: str
    versions: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        for check in data["checks"]:
            for key in ("max_abs_error", "max_rel_error", "tolerance"):
                check[key] = _finite(check[key])
        return data


def _finite(x: float):
    return x if x == x and abs(x) != float("inf") else str(x)


def check_json(result: GradientCheck) -> dict:
    """The JSON form of a check (``gradproof verify --json``)."""
    data = result.to_json()
    return {
        "target": data["target"], "passed": data["passed"],
        "checks": [{k: c[k] for k in ("input", "passed", "method", "max_abs_error", "max_rel_error", "tolerance",
                                      "coordinates", "worst", "blocks", "note")} for c in data["checks"]],
        "hygiene": data["hygiene"], "seconds": round(data["seconds"], 4), "evaluations": data["evaluations"],
        "seed": data["seed"], "step": data["step"], "dtype": data["dtype"], "versions": data["versions"],
    }
