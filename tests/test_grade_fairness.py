"""Fairness on submissions as students really write them (idioms met in public course solutions):
right values in another shape or precision lose only the hygiene point, code that checks which pair
function it was handed is graded, a factor is named as measured, the window size and skipgram's
default are exercised, and no points come from replaying public numbers or from gradients taken
numerically from the loss."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from gradproof.verify.grade import rubric as rubrics
from gradproof.verify.grade.assignment import FUNCTIONS, cases
from gradproof.verify.grade.grader import grade
from gradproof.verify.grade.sandbox import Sandbox

SUBMISSIONS = Path(__file__).parent / "submissions"
RUBRIC = rubrics.load()
SEED = 424242
SIG, NS, NEG, SG = "sigmoid", "naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient", "skipgram"


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(limits=RUBRIC.limits) as box:
        yield box


def _tests(result, function, check=None, rubric=RUBRIC):
    return [r for t, r in zip(rubric.tests, result.tests) if t.function == function and (check is None or t.check == check)]


def _lost(result, rubric=RUBRIC) -> dict[str, float]:
    return {r.name: r.max_score - r.score for r in result.tests if r.score < r.max_score}


def test_a_gradient_of_the_wrong_shape_with_right_values_costs_only_the_hygiene_point(sandbox):
    result = grade(SUBMISSIONS / "variants" / "row_vectors.py", RUBRIC, sandbox, seed=SEED)
    lost = _lost(result)
    hygiene = {r.name for f in (NS, NEG) for r in _tests(result, f, "hygiene")}
    assert set(lost) == hygiene, lost  # values, the gradient check and large scores all pass
    naive = _tests(result, NS, "hygiene")[0].output
    assert "gradCenterVec has shape (1, " in naive and "its values are right, its shape is not" in naive
    assert "has shape (" in _tests(result, NEG, "hygiene")[0].output and ", 1)" in _tests(result, NEG, "hygiene")[0].output
    assert "not the derivative" not in " ".join(r.output for r in result.tests)


def test_float32_code_right_to_float32_precision_loses_at_most_the_dtype_point(sandbox):
    result = grade(SUBMISSIONS / "variants" / "float32.py", RUBRIC, sandbox, seed=SEED)
    assert set(_lost(result)) <= {r.name for r in _tests(result, NS, "hygiene")}, _lost(result)
    assert _tests(result, NS, "gradient")[0].passed  # as `gradproof verify` judges it: in float32


def test_skipgram_that_checks_which_pair_function_it_was_handed_is_graded(sandbox):
    result = grade(SUBMISSIONS / "variants" / "asserts_pair.py", RUBRIC, sandbox, seed=SEED)
    assert result.score == result.max_score, _lost(result)


def test_a_mistake_behind_an_assert_on_the_pair_function_is_diagnosed(sandbox):
    result = grade(SUBMISSIONS / "mistakes" / "skipgram_asserts_outside_row.py", RUBRIC, sandbox, seed=SEED)
    center = [r for r in _tests(result, SG) if r.name.endswith("gradCenterVecs")][0]
    assert "added to the outside words' rows" in center.output
    assert "AssertionError" not in " ".join(r.output for r in result.tests)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_window_size_scaling_shows_on_every_case_and_is_named(sandbox, seed):
    result = grade(SUBMISSIONS / "mistakes" / "skipgram_window_scaled.py", RUBRIC, sandbox, seed=seed)
    for r in _tests(result, SG, "values"):
        assert r.score == 0, (r.name, r.output)  # every case shows it: the score does not depend on the seed
        assert "scaled by the window size" in r.output


def test_a_factor_is_named_as_measured(sandbox):
    result = grade(SUBMISSIONS / "mistakes" / "center_thrice.py", RUBRIC, sandbox, seed=SEED)
    center = [r for r in _tests(result, NS, "values") if r.name.endswith("gradCenterVec")][0]
    assert "off by a factor 3 (3 times the right value)" in center.output and "factor 2" not in center.output


def test_repeats_assigned_in_a_loop_are_described_as_what_the_code_does(sandbox):
    result = grade(SUBMISSIONS / "mistakes" / "neg_repeats_loop_assign.py", RUBRIC, sandbox, seed=SEED)
    outside = [r for r in _tests(result, NEG, "values") if r.name.endswith("gradOutsideVecs")][0]
    assert "gets the gradient of one of its draws only" in outside.output
    assert "use np.add.at or a loop" not in outside.output  # it has a loop: that is not the advice it needs


def test_a_changed_default_pair_function_is_exercised_and_named(sandbox):
    result = grade(SUBMISSIONS / "mistakes" / "skipgram_default_neg.py", RUBRIC, sandbox, seed=SEED)
    values = _tests(result, SG, "values")
    assert all(0 < r.score < r.max_score for r in values), [(r.name, r.score) for r in values]
    assert all("default word2vecLossAndGradient is negSamplingLossAndGradient" in r.output for r in values)


def test_gradients_taken_numerically_run_out_of_time_on_the_full_size_case(sandbox):
    rubric = dataclasses.replace(RUBRIC, tests=tuple(t for t in RUBRIC.tests if t.function == NS))
    result = grade(SUBMISSIONS / "fairness" / "numeric_gradient.py", rubric, sandbox, seed=SEED)
    gradients = [r for r in _tests(result, NS, "values", rubric) if "grad" in r.name]
    assert gradients and all(r.score < r.max_score for r in gradients)
    assert all("hidden case at full size: `no answer within 1 s" in r.output and "cannot finish" in r.output
               for r in gradients), gradients[0].output
    assert result.score < result.max_score


def _public_answers(rubric) -> str:
    """The public case's inputs and expected outputs, as a student who saw them could write them down."""
    entries = []
    for name in (SIG, NS):
        case = cases(FUNCTIONS[name], "public", 1, rubric.hidden_seed)[0]
        expected = FUNCTIONS[name].expected(case, ())
        if name == SIG:
            entries.append(f"{case.arrays[0].tobytes()!r}: {expected[0].tolist()!r}")
        else:
            v, U = case.arrays
            entries.append(f"({v.tobytes()!r}, {case.data['o']}, {U.tobytes()!r}): "
                           f"({float(expected[0])!r}, {expected[1].tolist()!r}, {expected[2].tolist()!r})")
    return "{" + ", ".join(entries) + "}"


def test_with_a_fixed_seed_public_numbers_are_not_shown_and_replaying_them_earns_only_the_public_case(sandbox, tmp_path):
    rubric = dataclasses.replace(RUBRIC, hidden_seed=SEED, tests=tuple(t for t in RUBRIC.tests if t.function in (SIG, NS)))
    wrong = grade(SUBMISSIONS / "mistakes" / "center_sign.py", rubric, sandbox)
    shown = " ".join(r.output for r in wrong.tests)
    assert "expected `" not in shown  # the same public case every run: its numbers are never shown
    replay = tmp_path / "replay.py"
    replay.write_text((SUBMISSIONS / "fairness" / "replay.py").read_text()
                      .replace("REPLAYED = {}  # REPLAYED_VALUES", f"REPLAYED = {_public_answers(rubric)}"))
    result = grade(replay, rubric, sandbox)
    public_share = sum(t.points / (1 + rubric.hidden_cases + FUNCTIONS[t.function].sized)
                       for t in rubric.tests if t.check == "values")
    assert result.score == pytest.approx(public_share, abs=1e-3), [(r.name, r.score) for r in result.tests]
    for r in result.tests:
        if re.search(r"large|gradient|shapes", r.name):
            assert r.score == 0 and "none of the function's outputs is right on any hidden case" in r.output


def test_a_correct_solution_with_the_handouts_imports_and_seeding_scores_full_marks_both_ways():
    for namespaces in (True, False):
        with Sandbox(limits=RUBRIC.limits, namespaces=namespaces) as box:
            result = grade(SUBMISSIONS / "variants" / "handout_imports.py", RUBRIC, box, seed=SEED)
        assert result.score == result.max_score, (namespaces, _lost(result))
