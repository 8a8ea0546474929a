"""An import that times out having waited (a busy machine keeps it from a CPU) is the machine's fault, never
the student's: it is tried once more, longer; an import that times out computing is not."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gradproof.verify.grade import rubric as rubrics
from gradproof.verify.grade.grader import grade, kept_waiting
from gradproof.verify.grade.sandbox import Sandbox

SLOW = Path(__file__).parent / "submissions" / "softmax" / "slow_import.py"
RUBRIC = dataclasses.replace(rubrics.load(assignment="softmax-classifier"), timeout=1.0)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(limits=RUBRIC.limits, packages=RUBRIC.packages) as box:
        yield box


def test_an_import_kept_waiting_past_the_timeout_is_tried_again_and_graded(sandbox):
    result = grade(SLOW, RUBRIC, sandbox, seed=1)
    assert result.load_error is None and result.score == result.max_score == 22


def test_an_import_computing_past_the_timeout_reports_its_cpu_time(sandbox, tmp_path):
    busy = tmp_path / "softmax.py"
    busy.write_text(SLOW.read_text().replace(
        "time.sleep(1.6)", "start = time.process_time()\nwhile time.process_time() - start < 30:\n    pass"))
    session, ready = sandbox.open([str(busy)], "softmax.py", 1.0)
    session.close()
    assert ready["timed_out"] and ready["cpu_seconds"] > 0.05  # it computed (as much as the machine let it)
    result = grade(busy, RUBRIC, sandbox, seed=1)
    # 1 s if it had the CPU at least half the time, else (a busy machine) its second chance of 3 s
    assert result.score == 0 and result.load_error in ("importing the submission took longer than 1 s",
                                                       "importing the submission took longer than 3 s")


@pytest.mark.parametrize("ready, retried", [
    ({"timed_out": True, "cpu_seconds": 0.01}, True), ({"timed_out": True, "cpu_seconds": 0.49}, True),
    ({"timed_out": True, "cpu_seconds": 0.5}, False), ({"timed_out": True, "cpu_seconds": 0.95}, False),
    ({"timed_out": True, "cpu_seconds": None}, False), ({"timed_out": False, "cpu_seconds": 0.0}, False),
    ({"error": "SyntaxError"}, False)])
def test_only_an_import_that_waited_more_than_it_computed_gets_a_second_chance(ready, retried):
    assert kept_waiting(ready, 1.0) is retried


def test_one_that_waits_beyond_the_second_chance_is_told_the_longer_limit(sandbox, tmp_path):
    sleepy = tmp_path / "softmax.py"
    sleepy.write_text(SLOW.read_text().replace("time.sleep(1.6)", "time.sleep(30)"))
    result = grade(sleepy, RUBRIC, sandbox, seed=1)
    assert result.score == 0 and result.load_error == "importing the submission took longer than 3 s"


# -- a call kept waiting: the same rule as for the import --------------------------------------------------

CORRECT = Path(__file__).parent / "submissions" / "softmax" / "correct.py"
LOSS = dataclasses.replace(RUBRIC, hidden_cases=1, tests=tuple(t for t in RUBRIC.tests
                                                                if t.function == "softmax_loss_vectorized"
                                                                and t.outputs == ("loss",) and t.check == "values"))


def _slowed(tmp_path, line: str) -> Path:
    path = tmp_path / "softmax.py"
    text = CORRECT.read_text()
    head = "def softmax_loss_vectorized(W, X, y, reg):\n"
    assert head in text
    path.write_text("import time\n" + text.replace(head, head + "    " + line + "\n"))
    return path


def test_a_call_kept_waiting_past_the_timeout_is_tried_again_and_graded(sandbox, tmp_path):
    result = grade(_slowed(tmp_path, "time.sleep(1.5)"), LOSS, sandbox, seed=1)
    assert len(result.tests) == 1 and result.score == result.max_score, result.tests[0].output


def test_a_call_computing_past_the_timeout_is_charged(sandbox, tmp_path):
    busy = _slowed(tmp_path, "start = time.process_time()\n    while time.process_time() - start < 30:\n        pass")
    (test,) = grade(busy, LOSS, sandbox, seed=1).tests
    # 1 s if it had the CPU at least half the time, else (a busy machine) its second chance of 3 s
    assert test.score == 0 and ("no answer within 1 s" in test.output or "no answer within 3 s" in test.output)


def test_a_call_that_waits_beyond_the_second_chance_is_told_the_longer_limit(sandbox, tmp_path):
    (test,) = grade(_slowed(tmp_path, "time.sleep(30)"), LOSS, sandbox, seed=1).tests
    assert test.score == 0 and "no answer within 3 s, its second chance after 1 s" in test.output, test.output
    assert "within 1 s" not in test.output
