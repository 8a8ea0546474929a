"""Staff tests graded: each pytest test of a staff suite run with the plugin becomes a Gradescope test,
worth the points of its `points` marker (1 without one), seen as its `visibility` marker says.

    @pytest.mark.points(3)
    @pytest.mark.visibility("after_published")
    def test_center_gradient(submission, reference): ...

    pytest --submission student.py staff_tests.py --gradescope-results results.json

A test that passes earns its points; one that fails, errors or is skipped earns none, and its
feedback is the last lines of pytest's report (the assertion, or SubmissionFailed's message).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import pytest

from . import gradescope
from .results import Grade, TestResult
from .rubric import VISIBILITY

FEEDBACK = 1500  # characters of a failure's report shown to the student


@dataclass
class StaffResults:
    """Collects each staff test's marker values and outcome; writes results.json at the end."""
    path: str
    declared: dict = field(default_factory=dict)   # nodeid -> (name, points, visibility)
    outcomes: dict = field(default_factory=dict)   # nodeid -> (passed, feedback)
    start: float = field(default_factory=time.monotonic)

    def pytest_collection_modifyitems(self, items):
        for item in items:
            self.declared[item.nodeid] = (item.name, *marked(item))

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.failed or report.skipped:
            if report.nodeid in self.outcomes and not self.outcomes[report.nodeid][0]:
                return  # the first failure (setup or call) is the one said
            self.outcomes[report.nodeid] = (report.passed and report.when == "call", feedback(report))

    def pytest_sessionfinish(self, session):
        tests = tuple(_result(i + 1, name, points, visibility, *self.outcomes.get(nodeid, (False, "Not run.")))
                      for i, (nodeid, (name, points, visibility)) in enumerate(self.declared.items()))
        score = round(sum(t.score for t in tests), 4)
        grade = Grade("staff tests", score, sum(t.max_score for t in tests), tests,
                      f"**Score: {score:g} / {sum(t.max_score for t in tests):g}** (staff tests)",
                      time.monotonic() - self.start)
        data = gradescope.results_json(grade, "pytest")
        with open(self.path, "w") as f:
            f.write(json.dumps(data, indent=1, allow_nan=False) + "\n")


def marked(item) -> tuple[float, str]:
    """(points, visibility) from the item's markers; a bad value is a usage error naming the test."""
    where = f"{item.path}:{item.location[1] + 1}: {item.name}"
    points_mark, visibility_mark = item.get_closest_marker("points"), item.get_closest_marker("visibility")
    points = points_mark.args[0] if points_mark and points_mark.args else 1
    visibility = visibility_mark.args[0] if visibility_mark and visibility_mark.args else "visible"
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not points >= 0:
        raise pytest.UsageError(f"{where}: @pytest.mark.points takes a non-negative number, not {points!r}")
    if visibility not in VISIBILITY:
        raise pytest.UsageError(f"{where}: @pytest.mark.visibility takes one of {', '.join(VISIBILITY)}, "
                                f"not {visibility!r}")
    return float(points), visibility


def feedback(report) -> str:
    if report.passed and report.when == "call":
        return "Passed."
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return f"Not run: {reason}"[:FEEDBACK]
    text = report.longreprtext.strip().splitlines()
    shown = "\n".join(line for line in text[-12:])[-FEEDBACK:].replace("```", "'''")
    return f"Failed{' while setting up' if report.when == 'setup' else ''}:\n\n```text\n{shown}\n```"


def _result(number: int, name: str, points: float, visibility: str, passed: bool, text: str) -> TestResult:
    return TestResult(name, str(number), points if passed else 0.0, points, passed, text, visibility)
