"""Gradescope's results.json: built from a Grade, and checked against the specification's fields.

Specification: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (top-level
score, execution_time, output, output_format, test_output_format, visibility,
stdout_visibility, extra_data, tests[]; per test name, number, score, max_score, status,
output, output_format, tags, visibility, extra_data).
"""
from __future__ import annotations

import math

from gradproof.derive.about import version

from .results import Grade

FORMATS = ("text", "html", "simple_format", "md", "ansi")
VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
STATUS = ("passed", "failed")
TOP = {"score": (int, float), "execution_time": (int, float), "output": str, "output_format": str,
       "test_output_format": str, "test_name_format": str, "visibility": str, "stdout_visibility": str,
       "extra_data": dict, "tests": list, "leaderboard": list}
TEST = {"score": (int, float), "max_score": (int, float), "status": str, "name": str, "name_format": str,
        "number": str, "output": str, "output_format": str, "tags": list, "visibility": str, "extra_data": dict}


def results_json(grade: Grade, rubric_name: str) -> dict:
    """Gradescope's results; strict JSON (no NaN or infinity anywhere), so that json.dumps(...,
    allow_nan=False) always writes it."""
    return strict(_results(grade, rubric_name))


def strict(value):
    """value with every float that JSON cannot hold (NaN, infinities) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def _results(grade: Grade, rubric_name: str) -> dict:
    return {
        "score": grade.score,
        "execution_time": round(grade.seconds, 3),
        "output": grade.output,
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{"name": t.name, "number": t.number, "score": t.score, "max_score": t.max_score,
                   "status": "passed" if t.passed else "failed", "output": t.output, "output_format": "md",
                   "visibility": t.visibility, "tags": list(t.diagnoses)} for t in grade.tests],
        "extra_data": {"gradproof": {"rubric": rubric_name, "max_score": grade.max_score,
                                     "diagnoses": list(grade.diagnoses), "load_error": grade.load_error,
                                     "confinement": grade.confinement, "hidden_seed": grade.seed,
                                     "version": version(),
                                     "submission_sha256": grade.fingerprint}},
    }


def problems(data) -> list[str]:
    """Every way data departs from the specification's fields and values (empty: valid)."""
    if not isinstance(data, dict):
        return ["results must be a JSON object"]
    found = _fields(data, TOP, "results")
    if "score" not in data and "tests" not in data:
        found.append("results need 'score' or 'tests'")
    for key in ("output_format", "test_output_format"):
        if key in data and data[key] not in FORMATS:
            found.append(f"results.{key} must be one of {', '.join(FORMATS)}")
    for key in ("visibility", "stdout_visibility"):
        if key in data and data[key] not in VISIBILITY:
            found.append(f"results.{key} must be one of {', '.join(VISIBILITY)}")
    for i, test in enumerate(data.get("tests", []) if isinstance(data.get("tests"), list) else []):
        where = f"tests[{i}]"
        if not isinstance(test, dict):
            found.append(f"{where} must be an object")
            continue
        found += _fields(test, TEST, where)
        if "score" in test and "max_score" in test and "status" not in test:
            pass  # Gradescope infers the status from the scores
        if "status" in test and test["status"] not in STATUS:
            found.append(f"{where}.status must be passed or failed")
        if test.get("output_format", "text") not in FORMATS:
            found.append(f"{where}.output_format must be one of {', '.join(FORMATS)}")
        if test.get("visibility", "visible") not in VISIBILITY:
            found.append(f"{where}.visibility must be one of {', '.join(VISIBILITY)}")
        if isinstance(test.get("score"), (int, float)) and isinstance(test.get("max_score"), (int, float)) \
                and not 0 <= test["score"] <= test["max_score"]:
            found.append(f"{where}.score must be between 0 and max_score")
    return found


def _fields(data: dict, spec: dict, where: str) -> list[str]:
    found = []
    for key, value in data.items():
        if key not in spec:
            found.append(f"{where}: unknown field '{key}'")
        elif isinstance(value, bool) or not isinstance(value, spec[key]):
            found.append(f"{where}.{key} has the wrong type ({type(value).__name__})")
    return found
