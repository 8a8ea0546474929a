"""Results of the derive stage: plain data, importable without SymPy (the cache path needs that)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

STATUSES = ("proved", "refuted", "unproved")


@dataclass(frozen=True)
class ClaimResult:
    model: str
    name: str
    equation: str | None  # the label of the claim in the document it comes from
    statement: str
    status: str  # proved, refuted (a counterexample), unproved (the prover could not decide)
    seconds: float
    symbolic: bool  # derived - claimed normalised to exactly 0 at symbolic sizes
    explicit: bool  # the same, at explicit small sizes, every admitted index value
    explicit_cases: int = 0  # concrete index assignments checked
    residual: str = "0"
    detail: str = ""  # where it failed: the counterexample, or what could not be decided
    kind: str = "claim"  # claim (from the model file) or derived (a gradient reverse mode derived)

    @property
    def label(self) -> str | None:
        return self.equation

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ClaimResult":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
