"""Results of the derive stage: plain data, importable without SymPy (the cache path needs that)."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ClaimResult:
    model: str
    name: str
    equation: str | None
    statement: str
    status: str  # "proved" or "failed"
    seconds: float
    symbolic: bool  # derived - claimed normalised to exactly 0 at symbolic sizes
    explicit: bool  # the same, at explicit small sizes, every admitted index value
    explicit_cases: int = 0  # concrete index assignments checked
    residual: str = "0"
    detail: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ClaimResult":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
