"""Results of grading: plain frozen data; gradescope.py and render.py turn them into output."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TestResult:
    name: str
    number: str
    score: float
    max_score: float
    passed: bool
    output: str                 # Markdown, safe to show the student: no hidden expected values
    visibility: str
    diagnoses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grade:
    submission: str
    score: float
    max_score: float
    tests: tuple[TestResult, ...]
    output: str                 # Markdown summary for the student
    seconds: float
    load_error: str | None = None
    confinement: dict = field(default_factory=dict)
    seed: int | None = None     # the hidden cases' seed: staff can reproduce a disputed grade
    fingerprint: str = ""       # sha256 of the submission's files: a changed submission is regraded

    @property
    def diagnoses(self) -> tuple[str, ...]:
        return distinct_diagnoses(self.tests)


def distinct_diagnoses(tests: tuple[TestResult, ...]) -> tuple[str, ...]:
    """Every test's diagnoses, each once, in the order of the tests."""
    return tuple(dict.fromkeys(d for test in tests for d in test.diagnoses))
