"""PrairieLearn's results file for external grading (/grade/results/results.json), built from a Grade.

Its fields (PrairieLearn's external grading documentation, "Grading results"): score in [0, 1];
gradable (false: the submission could not be graded at all, no attempt is charged; format_errors
says why); message and output for the whole; tests, each with name, description, points,
max_points, message and output.  A test hidden from students keeps its points, not its feedback.
"""
from __future__ import annotations

from .gradescope import strict
from .results import Grade

LIMIT = 1_000_000  # PrairieLearn's limit for the results file, in bytes


def results_json(grade: Grade, rubric_name: str) -> dict:
    """PrairieLearn's results; strict JSON (no NaN or infinity)."""
    error = grade.load_error or ""
    gradable = not (": syntax error: " in error or error.startswith("no "))  # nothing of it could run
    data = {
        "gradable": gradable,
        "score": round(grade.score / grade.max_score, 6) if grade.max_score else 0.0,
        "message": grade.output,
        "output": "",
        "tests": [{"name": t.name, "description": f"test {t.number}", "points": t.score, "max_points": t.max_score,
                   "message": t.output if t.visibility != "hidden" else "(hidden)",
                   "output": ", ".join(t.diagnoses) if t.visibility != "hidden" else ""} for t in grade.tests],
        "gradproof": {"rubric": rubric_name, "points": grade.score, "max_points": grade.max_score,
                      "hidden_seed": grade.seed, "submission_sha256": grade.fingerprint},
    }
    if not gradable:
        data["format_errors"] = [error]
    return strict(data)


def problems(data: dict) -> list[str]:
    """Every way data departs from what PrairieLearn reads (empty: none)."""
    out = []
    if not isinstance(data.get("gradable"), bool):
        out.append("gradable must be true or false")
    score = data.get("score")
    if not isinstance(score, (int, float)) or isinstance(score, bool) or not 0 <= score <= 1:
        out.append("score must be a number from 0 to 1")
    for i, test in enumerate(data.get("tests", [])):
        for key, kind in (("name", str), ("points", (int, float)), ("max_points", (int, float)), ("message", str)):
            if not isinstance(test.get(key), kind):
                out.append(f"tests[{i}].{key} is missing or of the wrong type")
    return out
