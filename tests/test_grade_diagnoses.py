"""Planted mistakes: each submission in submissions/mistakes/ is a whole word2vec.py, hand-written
NumPy as a student writes it, identical to a correct solution except for one mistake.  Each must
lose exactly the tests its mistake concerns, be named there by the right diagnosis, and cost
nothing elsewhere; correct solutions, however written, must score full marks on any seed; and
no expected value of a hidden case may reach the feedback.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path

import numpy as np
import pytest

from gradproof.derive import reference as ref
from gradproof.verify.grade import rubric as rubrics
from gradproof.verify.grade.assignment import FUNCTIONS, cases
from gradproof.verify.grade.grader import grade
from gradproof.verify.grade.runner import decode
from gradproof.verify.grade.sandbox import Sandbox

SUBMISSIONS = Path(__file__).parent / "submissions"
CORRECT = SUBMISSIONS / "correct.py"
MATH_CORRECT = SUBMISSIONS / "variants" / "math_correct.py"
RUBRIC = rubrics.load()
MATH = rubrics.load(assignment="word2vec-math")
SEED = 20240611  # the hidden cases every planted mistake is graded on

SIG, NS, NEG, SG = "sigmoid", "naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient", "skipgram"
MNS, MNEG = "naive_softmax_loss_and_gradients", "neg_sampling_loss_and_gradients"
GRADIENT = "gradient inconsistent with the loss"
SHAPES = "wrong output types or shapes"


def _test(rubric, function: str, what: str) -> str:
    """The name of the rubric's test of function that checks what (an output name, or a check)."""
    names = [t.name for t in rubric.tests if t.function == function
             and (what in t.outputs and t.check == "values" and len(t.outputs) == 1 or what == t.check)]
    assert len(names) == 1, (function, what, names)
    return names[0]


def T(function: str, what: str) -> str:
    return _test(RUBRIC, function, what)


def M(function: str, what: str) -> str:
    return _test(MATH, function, what)


REPEATS = ("a word sampled more than once gets the gradient of one of its draws only, not the sum of all of them: "
           "each draw's term must be added to its row (with +=, or np.add.at where the rows are indexed with an array, "
           "since gradOutsideVecs[indices] += ... adds a repeated index once)")

# submission -> {the test that must fail: the diagnoses it must give, exactly}; every other test of
# the rubric must pass with full points.
MISTAKES: dict[str, dict[str, tuple[str, ...]]] = {
    "center_sign.py": {
        T(NS, "gradCenterVec"): ("gradCenterVec has the opposite sign",),
        T(NS, "gradient"): (GRADIENT,)},
    "outside_transposed.py": {
        T(NS, "gradOutsideVecs"): ("gradOutsideVecs looks transposed: it must have one row per word "
                                   "(the shape of the outside vectors)",),
        T(NS, "gradient"): (GRADIENT,),
        T(NS, "hygiene"): (SHAPES,)},
    "outside_transposed_reshaped.py": {
        T(NS, "gradOutsideVecs"): ("gradOutsideVecs looks transposed: an outer product taken the other way round, "
                                   "then reshaped",),
        T(NS, "gradient"): (GRADIENT,)},
    "missing_y.py": {
        T(NS, "gradCenterVec"): ("the -y term (the true outside word's -u_o) is missing from gradCenterVec: "
                                 "it is U y_hat, not U (y_hat - y)",),
        T(NS, "gradOutsideVecs"): ("the -y term is missing from gradOutsideVecs: the true outside word's row "
                                   "needs -v_c (y_hat - y, not y_hat)",),
        T(NS, "gradient"): (GRADIENT,)},
    "center_twice.py": {
        T(NS, "gradCenterVec"): ("gradCenterVec is off by a factor 2 (twice the right value)",),
        T(NS, "gradient"): (GRADIENT,)},
    "y_for_y_hat.py": {
        T(NS, "gradCenterVec"): ("y used in place of y_hat: y - y is zero, so gradCenterVec vanishes",),
        T(NS, "gradOutsideVecs"): ("y used in place of y_hat: y - y is zero, so gradOutsideVecs vanishes",),
        T(NS, "gradient"): (GRADIENT,)},
    "softmax_no_max.py": {
        T(NS, "large"): ("overflow: subtract max(s) before exp (softmax is unchanged by the shift)",)},
    "neg_repeats_once.py": {
        T(NEG, "gradOutsideVecs"): (REPEATS,),
        T(NEG, "gradient"): (GRADIENT,)},
    "neg_repeats_loop_assign.py": {  # a loop, but `=`: told what the code does, not to write a loop
        T(NEG, "gradOutsideVecs"): (REPEATS,),
        T(NEG, "gradient"): (GRADIENT,)},
    "center_thrice.py": {
        T(NS, "gradCenterVec"): ("gradCenterVec is off by a factor 3 (3 times the right value)",),
        T(NS, "gradient"): (GRADIENT,)},
    "skipgram_window_scaled.py": {  # every case has a window of 5 to 7: it shows everywhere, named as itself
        **{T(SG, out): (f"{out} is scaled by the window size: each outside word counts once, whatever windowSize is",)
           for out in ("loss", "gradCenterVecs", "gradOutsideVectors")},
        T(SG, "hygiene"): ()},
    "skipgram_default_neg.py": {  # the one case that leaves the pair function out, as the handout's test does
        **{T(SG, out): ("skipgram's default word2vecLossAndGradient is negSamplingLossAndGradient: the handout's "
                        "default (used when the argument is left out) is naiveSoftmaxLossAndGradient",)
           for out in ("loss", "gradCenterVecs", "gradOutsideVectors")}},
    "neg_log_sigma_plus.py": {  # its gradient is its own loss's: the gradient test passes
        **{T(NEG, out): (f"the sampled words' terms use +log sigma(u_k.v_c) in place of -log sigma(-u_k.v_c): "
                         f"{out} is what that loss gives",) for out in ("loss", "gradCenterVec", "gradOutsideVecs")},
        # nothing comes out right on a hidden case: stability and hygiene are not credited either
        T(NEG, "gradient"): (), T(NEG, "hygiene"): (), T(NEG, "large"): ()},
    "skipgram_center_fixed_row.py": {
        T(SG, "gradCenterVecs"): ("gradCenterVecs has the right values in the wrong row: they belong in the row of the "
                                  "word they are the gradient of (for skipgram's center gradient, "
                                  "word2Ind[currentCenterWord])",)},
    "skipgram_asserts_outside_row.py": {  # it asserts which pair function it was handed: graded all the same
        T(SG, "gradCenterVecs"): ("gradCenterVecs is added to the outside words' rows: it belongs in the center "
                                  "word's row",)},
    "neg_sign_u_k.py": {
        T(NEG, "gradCenterVec"): ("the sampled words' terms have the opposite sign: d/dv_c of -log sigma(-u_k.v_c) "
                                  "is +sigma(u_k.v_c) u_k (the chain rule's -1 from -u_k.v_c is lost)",),
        T(NEG, "gradOutsideVecs"): ("the sampled words' terms have the opposite sign: d/du_k of -log sigma(-u_k.v_c) "
                                    "is +sigma(u_k.v_c) v_c (the chain rule's -1 from -u_k.v_c is lost)",),
        T(NEG, "gradient"): (GRADIENT,)},
    "neg_sigma_minus.py": {
        T(NEG, "gradCenterVec"): ("the sampled words' terms have the wrong sign: sigma(u_k.v_c) u_k belongs where "
                                  "sigma(-u_k.v_c) u_k is used",),
        T(NEG, "gradOutsideVecs"): ("the sampled words' terms have the wrong sign: sigma(u_k.v_c) v_c belongs in row k",),
        T(NEG, "gradient"): (GRADIENT,)},
    "neg_no_outside_term.py": {
        T(NEG, "gradCenterVec"): ("the true outside word's term (sigma(u_o.v_c) - 1) u_o is missing from gradCenterVec",),
        T(NEG, "gradient"): (GRADIENT,)},
    "skipgram_outside_row.py": {
        T(SG, "gradCenterVecs"): ("gradCenterVecs is added to the outside words' rows: it belongs in the center "
                                  "word's row",)},
    "skipgram_ignores_pair.py": {  # right on the cases that pass naive softmax, wrong on those that pass neg sampling
        **{T(SG, out): ("skipgram ignores its word2vecLossAndGradient argument: it always uses naive softmax",)
           for out in ("loss", "gradCenterVecs", "gradOutsideVectors")}},
    "skipgram_last_pair.py": {
        T(SG, "loss"): ("only the last outside word counts: add each pair's loss with +=",),
        T(SG, "gradCenterVecs"): ("only the last outside word counts: add each pair's gradient with +=",),
        T(SG, "gradOutsideVectors"): ("only the last outside word counts: add each pair's gradient with +=",),
        # every case has two outside words or more, so nothing comes out right: no hygiene point either
        T(SG, "hygiene"): ()},
    # negSamplingLossAndGradient calls the student's own sigmoid: its tests fail too, named as a
    # consequence of the sigmoid mistake
    "sigmoid_sign.py": {
        T(SIG, "values"): ("the exponent's sign is flipped: sigmoid(x) = 1 / (1 + exp(-x))",),
        **{T(NEG, out): (f"{out} is what sigma(-x) in place of sigma(x) gives: the exponent's sign in sigmoid is "
                         "flipped (see the sigmoid test)",) for out in ("loss", "gradCenterVec", "gradOutsideVecs")},
        # nothing of sigmoid or negative sampling comes out right, so their stability, self-consistency
        # and hygiene tests earn nothing either ("Not credited", without a diagnosis of their own)
        T(NEG, "gradient"): (), T(NEG, "hygiene"): (), T(NEG, "large"): (), T(SIG, "large"): ()},
}
MATH_MISTAKES: dict[str, dict[str, tuple[str, ...]]] = {
    "math_repeats_once.py": {
        M(MNEG, "values"): ("a word sampled more than once gets the gradient of one of its draws only, not the sum of "
                            "all of them: each draw's term must be added to its column (with +=, or np.add.at where the "
                            "columns are indexed with an array, since grad_U[:, indices] += ... adds a repeated index once)",),
        M(MNEG, "gradient"): (GRADIENT,)},
    "math_missing_y.py": {
        M(MNS, "values"): ("the -y term (the true outside word's -u_o) is missing from grad_v_c: it is U y_hat, "
                           "not U (y_hat - y)",
                           "the -y term is missing from grad_U: the true outside word's column needs -v_c "
                           "(y_hat - y, not y_hat)"),
        M(MNS, "gradient"): (GRADIENT,)},
}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(limits=RUBRIC.limits) as box:
        yield box


@pytest.fixture(scope="module")
def graded(sandbox):
    """grade(path, rubric, seed), each once per module."""
    done = {}

    def get(path: Path, rubric=RUBRIC, seed: int = SEED):
        key = (str(path), rubric.assignment, seed)
        if key not in done:
            done[key] = grade(path, rubric, sandbox, seed=seed)
        return done[key]
    return get


def _by_name(result) -> dict:
    return {t.name: t for t in result.tests}


def _changed_lines(base: Path, path: Path) -> list[int]:
    """The lines of base (after its docstring) that path changes."""
    a, b = (p.read_text().splitlines()[1:] for p in (base, path))
    return [i for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
            if tag != "equal" for i in range(i1, max(i2, i1 + 1))]


# -- one mistake, named, costing only its own tests ---------------------------------------------------


@pytest.mark.parametrize("name, base", [(n, CORRECT) for n in MISTAKES] + [(n, MATH_CORRECT) for n in MATH_MISTAKES]
                         + [("hardcoded_sanity.py", CORRECT)])
def test_each_planted_mistake_is_one_local_change_of_a_correct_solution(name, base):
    path = SUBMISSIONS / "mistakes" / name
    text = path.read_text()
    assert "derive" not in text and "verify" not in text  # hand-written NumPy, as a student writes it
    changed = _changed_lines(base, path)
    assert changed and max(changed) - min(changed) < 8, changed


@pytest.mark.parametrize("name, rubric, expected", [(n, RUBRIC, e) for n, e in MISTAKES.items()]
                         + [(n, MATH, e) for n, e in MATH_MISTAKES.items()], ids=[*MISTAKES, *MATH_MISTAKES])
def test_a_planted_mistake_fails_its_tests_with_its_diagnosis_and_nothing_else(name, rubric, expected, graded):
    result = graded(SUBMISSIONS / "mistakes" / name, rubric)
    assert result.load_error is None
    tests = _by_name(result)
    assert set(expected) <= set(tests)
    failed = {n for n, t in tests.items() if not t.passed}
    assert failed == set(expected), failed
    for test_name, diagnoses in expected.items():
        test = tests[test_name]
        assert test.score < test.max_score or test.max_score == 0
        assert set(test.diagnoses) == set(diagnoses), (test_name, test.diagnoses)
        if not diagnoses:
            assert test.output.startswith("Not credited"), test.output
            continue
        assert diagnoses[0] in test.output or GRADIENT in diagnoses  # the student reads it in the feedback
        assert all(d in result.output for d in diagnoses)
        if test.max_score and "gradient" not in test_name:
            # a mistake shows on the hidden cases, not only on the one public case
            assert re.search(r"- hidden case \d|- large scores", test.output), test.output
    for test in result.tests:
        if test.name not in failed:
            assert test.passed and test.score == test.max_score, test.name
    assert 0 < result.score < result.max_score


def test_a_shape_mistake_is_not_charged_again_by_the_large_scores_test(graded):
    """The large-scores test holds an output already wrong at ordinary scores only to being finite, 'so one
    mistake is not charged twice' (grader._score); a transposed gradOutsideVecs is finite at large scores."""
    assert _by_name(graded(SUBMISSIONS / "mistakes" / "outside_transposed.py"))[T(NS, "large")].passed


# -- hard-coded answers fail the hidden cases --------------------------------------------------------------


def test_hard_coding_the_course_sanity_check_fails_every_hidden_case(graded):
    result = graded(SUBMISSIONS / "mistakes" / "hardcoded_sanity.py")
    values = _by_name(result)[T(SIG, "values")]
    assert values.score == 0 and not values.passed
    hidden = re.findall(r"^- hidden case \d+: ", values.output, flags=re.M)
    assert len(hidden) == RUBRIC.hidden_cases
    # everything that does not call sigmoid is untouched
    for test in result.tests:
        if test.name.startswith((NS, SG)):
            assert test.score == test.max_score, test.name
    assert result.score < result.max_score - values.max_score


def _literal(a) -> str:
    return f"np.array({np.asarray(a).tolist()!r})"


def test_copying_the_public_case_from_the_feedback_passes_it_and_fails_every_hidden_case(graded, tmp_path):
    """A student who prints the public case's inputs, copies the expected numbers shown for it into a cache
    keyed by the input, and otherwise keeps a wrong gradient: the public case passes, no hidden case does."""
    function = FUNCTIONS[NS]
    public = cases(function, "public", RUBRIC.public_cases, SEED)[0]
    loss, center, outside = function.expected(public, ())
    v, U = public.arrays
    cache = (f"_SEEN = {{({_literal(v)}.tobytes(), {public.data['o']}, {_literal(U)}.tobytes()):\n"
             f"         ({float(loss)!r}, {_literal(center)}, {_literal(outside)})}}\n\n\n")
    text = (SUBMISSIONS / "mistakes" / "center_sign.py").read_text()
    text = text.replace("def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):\n",
                        cache + "def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):\n"
                        "    key = (centerWordVec.tobytes(), outsideWordIdx, outsideVectors.tobytes())\n"
                        "    if key in _SEEN:\n"
                        "        return _SEEN[key]\n")
    assert "_SEEN[key]" in text
    path = tmp_path / "cached.py"
    path.write_text(text)
    tests = _by_name(graded(path))
    center_test = tests[T(NS, "gradCenterVec")]
    hidden = RUBRIC.hidden_cases + 1  # and the one at full size
    assert not center_test.passed and f"Passed 1 of {1 + hidden} cases (1 public and {hidden} hidden)." in center_test.output
    assert "public case" not in center_test.output  # the one case it passes is the copied one
    assert len(re.findall(r"^- hidden case \d+: ", center_test.output, flags=re.M)) == RUBRIC.hidden_cases
    assert center_test.diagnoses == ("gradCenterVec has the opposite sign",)
    assert not tests[T(NS, "gradient")].passed  # the gradient check runs on yet another case


# -- fair: correct solutions, however written, get full marks -------------------------------------------


def test_the_correct_solution_scores_full_marks_on_20_seeds(graded):
    for seed in range(1000, 1020):
        result = graded(CORRECT, seed=seed)
        assert result.score == result.max_score == 42, (seed, [(t.name, t.output) for t in result.tests if not t.passed])
        assert result.diagnoses == ()


@pytest.mark.parametrize("seed", [SEED, 7, 8, 9, 10])
def test_a_correct_solution_written_with_loops_and_the_course_starter_code_scores_full_marks(graded, seed):
    """Loops over the vocabulary, a sigmoid that never overflows, the starter's indices = [o] + samples and
    getNegativeSamples exactly as handed out, np.float64 losses, np.zeros_like, non-augmented updates."""
    result = graded(SUBMISSIONS / "variants" / "loops.py", seed=seed)
    assert result.score == result.max_score, [(t.name, t.output) for t in result.tests if not t.passed]


def test_a_loss_returned_as_a_1_element_array_costs_only_the_hygiene_point(graded):
    """Decided fair: the values are right, so every value, large-scores and gradient test passes (the grader
    reads a 1-element loss as its one number); the course asks for a float and a shape-(1,) loss breaks the
    course's own '{:f}'-style printing and is deprecated as a scalar in NumPy, so the test that is about
    output types costs its 1 point, with a message saying what to return."""
    result = graded(SUBMISSIONS / "variants" / "loss_array.py")
    failed = [t for t in result.tests if not t.passed]
    assert [t.name for t in failed] == [T(NS, "hygiene")]
    assert failed[0].diagnoses == (SHAPES,)
    assert "loss should be a float, it is `ndarray float64 (1,)`" in failed[0].output
    assert result.score == result.max_score - 1


@pytest.mark.parametrize("seed", [SEED, 1, 2, 3, 4])
def test_a_correct_math_convention_solution_scores_full_marks(graded, seed):
    result = graded(MATH_CORRECT, MATH, seed)
    assert result.score == result.max_score == 19, [(t.name, t.output) for t in result.tests if not t.passed]


# -- no expected value of a hidden case reaches the feedback --------------------------------------------

NUMBER = re.compile(r"-?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _digits(token: str) -> tuple[int, float]:
    """(significant digits, half the last digit's place) of a printed decimal number."""
    mantissa, _, exponent = token.lower().lstrip("-").partition("e")
    whole, _, frac = mantissa.partition(".")
    significant = len((whole + frac).lstrip("0"))
    return significant, 0.5 * 10.0 ** (int(exponent or 0) - len(frac))


def _matches(token: str, values: np.ndarray) -> bool:
    _, half = _digits(token)
    return bool(values.size) and bool(np.any(np.abs(values - float(token)) <= half * (1 + 1e-9)))


def _numbers(*arrays) -> np.ndarray:
    flat = [np.ravel(np.asarray(a, dtype=float)) for a in arrays]
    return np.concatenate(flat) if flat else np.zeros(0)


def _expected_values(rubric, kinds: tuple[str, ...], seed: int) -> np.ndarray:
    """Every entry of every expected output of the cases of these kinds (from derive.reference)."""
    out = []
    for function in dict.fromkeys(FUNCTIONS[t.function] for t in rubric.tests):
        counts = {"public": rubric.public_cases, "hidden": rubric.hidden_cases, "large": 1, "size": int(function.sized)}
        for kind in kinds:
            for case in cases(function, kind, counts[kind], seed):
                drawn = (len(case.data["sequence"]),) if "sequence" in case.data else ()  # a correct sampler's draws
                out.append(_numbers(*function.expected(case, drawn)))
    return _numbers(*out)


def _public_outputs(path: Path, rubric, seed: int) -> np.ndarray:
    """What the (trusted, test-suite) submission itself returns on the public cases: the feedback may show it."""
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    pair = lambda v, o, U, dataset=None: ref.naiveSoftmaxLossAndGradient(v, o, U, None)  # noqa: E731
    out = []
    for function in dict.fromkeys(FUNCTIONS[t.function] for t in rubric.tests):
        for case in cases(function, "public", rubric.public_cases, seed):
            saved = {name: namespace[name] for name in case.stand_ins if name in namespace}
            namespace.update(dict.fromkeys(case.stand_ins, pair))  # as the sandbox's runner does for the call
            with np.errstate(all="ignore"):
                got = namespace[function.name](*decode(list(case.args), list(case.arrays), [],
                                                       dict.fromkeys(case.stand_ins, pair)))
            namespace.update(saved)
            out.append(_numbers(*(got if isinstance(got, tuple) else (got,))))
    return _numbers(*out)


def _leaks(texts: list[str], hidden: np.ndarray, allowed: np.ndarray, digits: int = 5) -> list[str]:
    """Printed numbers (with at least `digits` significant digits) equal to a hidden expected value, unless a
    public case explains them."""
    return [token for text in texts for token in NUMBER.findall(text)
            if _digits(token)[0] >= digits and _matches(token, hidden) and not _matches(token, allowed)]


def test_the_leak_check_finds_a_hidden_value_printed_as_the_grader_prints_numbers():
    hidden = _expected_values(RUBRIC, ("hidden",), SEED)
    value = hidden[np.argmax(np.abs(hidden) > 0.1)]
    shown = np.array2string(np.array([value, 0.25]), precision=6, separator=", ")
    assert _leaks([f"- hidden case 1: loss is `[1.5]`, expected `{shown}`"], hidden, np.zeros(0)) != []
    assert _leaks([f"expected {value:.6g}"], hidden, np.zeros(0)) != []
    assert _leaks([f"expected {value:.6g}"], hidden, np.array([value])) == []  # a public value may be shown


@pytest.mark.parametrize("rubric, names", [
    (RUBRIC, ["hardcoded_sanity.py", *MISTAKES]),
    (MATH, list(MATH_MISTAKES)),
], ids=["word2vec", "word2vec-math"])
def test_no_expected_value_of_a_hidden_or_large_case_appears_in_the_feedback(rubric, names, graded):
    hidden = _expected_values(rubric, ("hidden", "large", "size"), SEED)
    public = _expected_values(rubric, ("public",), SEED)
    for name in names:
        path = SUBMISSIONS / "mistakes" / name
        result = graded(path, rubric)
        texts = [result.output] + [t.output for t in result.tests] + [d for t in result.tests for d in t.diagnoses]
        allowed = _numbers(public, _public_outputs(path, rubric, SEED))
        assert _leaks(texts, hidden, allowed) == [], name
        # hidden cases are reported by place only: no array is printed on a hidden or large case's line
        for text in texts:
            for line in text.splitlines():
                if line.startswith(("- hidden case", "- large scores")):
                    assert "`[" not in line and not NUMBER.search(line), line
