"""A rubric's compat: the names NumPy 2 removed (numpy1) and Python 2's builtins (python2), provided in
the sandbox so that the grading machine's versions never cost a student a point; off by default, on in
the shipped CS231n rubrics; only in the child (the grader's numpy is untouched)."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradproof.verify.grade import rubric as rubrics
from gradproof.verify.grade.grader import grade
from gradproof.verify.grade.sandbox import Sandbox

pytest_plugins = ["pytester"]
SUBMISSIONS = Path(__file__).parent / "submissions"
SOFTMAX = rubrics.load(assignment="softmax-classifier")
LAYERS = rubrics.load(assignment="cs231n-layers")


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(limits=SOFTMAX.limits, packages=SOFTMAX.packages) as box:
        yield box


def test_on_in_the_shipped_cs231n_rubrics_and_off_by_default():
    for name in ("softmax-classifier", "two-layer-net", "two-layer-net-class", "cs231n-layers"):
        assert rubrics.load(assignment=name).compat == ("numpy1", "python2"), name
    assert rubrics.load(assignment="word2vec").compat == ()


def test_without_compat_numpy_1_code_fails_on_numpy_2_and_with_it_scores_full_marks(sandbox):
    softmax = SUBMISSIONS / "softmax" / "idioms" / "numpy1_python2.py"
    plain = grade(softmax, dataclasses.replace(SOFTMAX, compat=()), sandbox, seed=1)
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        assert plain.score == 0 and "savez_compressed" in plain.load_error
    assert grade(softmax, SOFTMAX, sandbox, seed=1).score == 22
    layers = SUBMISSIONS / "layers" / "idioms" / "numpy1_reshape.py"
    plain = grade(layers, dataclasses.replace(LAYERS, compat=()), sandbox, seed=1)
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        lost = {t.name for t in plain.tests if not t.passed}
        assert lost and all(t.startswith(("affine_", "softmax_loss")) for t in lost), lost
    assert grade(layers, LAYERS, sandbox, seed=1).score == 15


def test_the_graders_own_numpy_is_left_as_it_is(sandbox):
    grade(SUBMISSIONS / "softmax" / "idioms" / "numpy1_python2.py", SOFTMAX, sandbox, seed=2)
    assert not hasattr(np.reshape, "_gradproof_compat")
    assert "xrange" not in dir(__builtins__ if isinstance(__builtins__, dict) else __builtins__)


def test_the_old_names_are_the_objects_and_computations_they_were():
    code = """
import builtins, numpy as np
from gradproof.verify.grade import compat
compat.apply(("numpy1", "python2"))
from numpy.lib.npyio import savez_compressed
import numpy.lib.function_base as fb
a = np.arange(6.0)
assert np.float is float and np.int is int and np.object is object and np.bool8 is np.bool_
assert np.float_ is np.float64 and np.complex_ is np.complex128 and np.NaN != np.NaN and np.Inf == np.inf
assert np.product([2, 3]) == 6 and list(np.cumproduct([2, 3])) == [2, 6] and np.alltrue([1, 1]) and np.sometrue([0, 1])
assert np.reshape(a, newshape=(2, 3)).shape == (2, 3) and np.reshape(a, (3, 2)).shape == (3, 2)
assert savez_compressed is np.savez_compressed and fb.vectorize is np.vectorize
assert list(np.in1d([1, 2, 3], [2])) == [False, True, False] and np.asfarray([1, 2]).dtype == np.float64
assert list(builtins.xrange(3)) == [0, 1, 2] and builtins.unicode is str and builtins.reduce(max, [1, 3, 2]) == 3
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
    assert "Warning" not in done.stderr, done.stderr  # providing np.object must not warn into the submission's output


def test_an_unknown_kind_is_one_line_with_the_rubrics_line(tmp_path):
    rubric = tmp_path / "r.toml"
    rubric.write_text('assignment = "softmax-classifier"\ncompat = ["numpy3"]\n[[test]]\nname = "t"\n'
                      'function = "softmax_loss_naive"\n')
    with pytest.raises(rubrics.RubricError) as e:
        rubrics.load(str(rubric))
    assert str(e.value).startswith(f"{rubric}:2: 'compat' must be a list of numpy1, python2")
    assert len(str(e.value).splitlines()) == 1


def test_staff_tests_see_the_old_names_where_the_rubric_provides_them(pytester):
    """The pytest plugin opens its sandbox with the rubric's compat too."""
    pytester.makepyfile(test_staff='''
import numpy as np
from gradproof.derive.generated.softmax_classifier import softmax_loss_vectorized as reference

def test_both(submission):
    rng = np.random.default_rng(0)
    W, X, y = 0.01 * rng.normal(size=(5, 4)), rng.normal(size=(7, 5)), rng.integers(4, size=7)
    for name in ("softmax_loss_naive", "softmax_loss_vectorized"):
        loss, dW = getattr(submission, name)(W, X, y, 0.1)
        assert np.isclose(loss, reference(W, X, y, 0.1)[0]) and np.allclose(dW, reference(W, X, y, 0.1)[1])
''')
    submission = str(SUBMISSIONS / "softmax" / "idioms" / "numpy1_python2.py")
    shipped = str(rubrics.SHIPPED / "softmax-classifier.toml")
    result = pytester.runpytest_subprocess("--submission", submission, "--submission-rubric", shipped,
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":  # the default rubric (word2vec's) provides none of them
        plain = pytester.runpytest_subprocess("--submission", submission, "-p", "no:cacheprovider")
        plain.assert_outcomes(failed=1)
        assert "savez_compressed" in plain.stdout.str()
