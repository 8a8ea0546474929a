"""The channel carries every kind of value a course's functions take and return, with no pickle and
every size bounded before anything is allocated (verify.grade.wire, the runner's and the grader's sides)."""
from __future__ import annotations

import json
import socket
import struct
from pathlib import Path

import numpy as np
import pytest

from gradproof.verify.grade import wire
from gradproof.verify.grade.sandbox import Sandbox

pytest_plugins = ["pytester"]

SUBMISSIONS = Path(__file__).parent / "submissions"
ECHO = SUBMISSIONS / "any" / "echo.py"
SOFTMAX = SUBMISSIONS / "softmax" / "correct.py"


def roundtrip(value, limit=wire.PAYLOAD_LIMIT):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        arrays: list = []
        wire.send(ours, {"value": wire.pack(value, arrays)}, tuple(arrays))
        header, got = wire.receive(theirs, limit=limit)
        return wire.unpack(header["value"], got)


def same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype.kind == b.dtype.kind and np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and (a == b or a != a and b != b)


@pytest.mark.parametrize("value", [
    np.arange(12.0).reshape(3, 4),                       # float64 array
    np.array([3, 0, 2], dtype=np.int64),                  # integer labels
    np.array([[True, False], [False, True]]),             # a boolean mask
    np.array(2.5),                                        # a 0-d array
    np.zeros((0, 3)),                                     # an empty one
    7, 2.5, True, float("nan"), None, "relu",             # scalars, None, a string
    (np.ones(2), (np.zeros(1), 3)),                       # an (out, cache) tuple, nested
    [1, [2.0, "a"]],                                      # lists
    {"W1": np.ones((2, 2)), "b1": np.zeros(2), "meta": {"reg": 0.1, "mode": "train"}},  # a grads dict
], ids=["float", "int", "bool", "0d", "empty", "int-scalar", "float-scalar", "bool-scalar", "nan", "none", "str",
        "tuple", "list", "dict"])
def test_each_wire_type_crosses_as_itself(value):
    assert same(value, roundtrip(value))


def test_narrower_numbers_cross_in_their_kind():
    got = roundtrip((np.arange(3, dtype=np.int32), np.arange(3, dtype=np.uint8), np.ones(2, dtype=np.float32),
                     np.int16(4), np.float32(0.5), np.bool_(True)))
    assert [g.dtype for g in got[:3]] == [np.int64, np.int64, np.float64]
    assert got[3:] == (4, 0.5, True) and [type(g) for g in got[3:]] == [int, float, bool]


def test_an_object_of_the_submissions_own_crosses_as_its_type_name_only():
    class Lying(dict):
        def items(self):
            raise AssertionError("never asked")
    got = roundtrip({"x": object(), "y": np.array(["a"]), "z": Lying(a=1)})
    assert got["x"] == wire.Opaque("object") and got["y"] == wire.Opaque("ndarray <U1")
    assert got["z"] == {"a": 1}  # read through dict's own items, not the subclass's


def test_packing_is_bounded():
    with pytest.raises(wire.ProtocolError):
        wire.pack([0.0] * (wire.MAX_NODES + 1), [])
    nested = 0.0
    for _ in range(wire.MAX_DEPTH):
        nested = [nested]
    with pytest.raises(wire.ProtocolError):
        wire.pack(nested, [])
    assert len(wire.pack("x" * 10**6, [])) == wire.MAX_STRING


def send_raw(header: dict) -> tuple[socket.socket, socket.socket]:
    ours, theirs = socket.socketpair()
    data = json.dumps(header).encode()
    ours.sendall(struct.pack("<I", len(data)) + data)
    return ours, theirs


@pytest.mark.parametrize("header, message", [
    ({"$arrays": [[1 << 20, 1 << 10]], "$dtypes": ["i8"]}, "the limit"),     # 8 GiB of int64: refused, not allocated
    ({"$arrays": [[4]], "$dtypes": ["O"]}, "dtype"),                       # no object arrays, no pickle
    ({"$arrays": [[4]], "$dtypes": ["i8", "f8"]}, "dtype"),                # one dtype per array
    ({"$arrays": [[4]], "$dtypes": "i8"}, "dtype"),
])
def test_a_bad_array_description_is_refused_before_allocation(header, message):
    ours, theirs = send_raw(header)
    with ours, theirs, pytest.raises(wire.ProtocolError, match=message):
        wire.receive(theirs, limit=1 << 20)


@pytest.mark.parametrize("tree", [{"$a": 3}, {"$a": "0"}, {"$t": 1}, {"$d": [1]}, {"$t": [], "$a": 0}])
def test_a_malformed_packed_value_is_refused(tree):
    with pytest.raises(wire.ProtocolError):
        wire.unpack(tree, [np.zeros(1)])


@pytest.fixture(scope="module")
def session():
    with Sandbox() as box:
        child, ready = box.open([str(ECHO)], ECHO.name, 10.0)
        assert ready.get("error") is None, ready
        yield child
        child.close()


def call(session, function, *values, returns=1):
    arrays: list = []
    args = [wire.pack(v, arrays) for v in values]
    reply = session.call(function, args, tuple(arrays), returns, 10.0)
    assert reply.ok, reply.error
    return reply


@pytest.mark.parametrize("value", [np.array([2, 0, 1]), np.array([True, False]), (np.ones(2), {"k": [1, "s", None]}),
                                   {"dW": np.eye(2)}, "text", None, 3, 1.5, False])
def test_each_wire_type_crosses_the_sandbox_both_ways(session, value):
    reply = call(session, "same", value)
    assert same(value, reply.values[0])


def test_a_label_array_arrives_as_integers_in_the_child(session):
    reply = call(session, "labels_shape", np.array([3, 1, 4, 1]), returns=3)
    assert reply.values == (4, "i", 4)


def test_structured_returns_keep_their_kinds_and_only_numbers_have_a_float_view(session):
    reply = call(session, "kinds", returns=10)
    ints, mask, f32, two, true, none, text, listed, grads, thing = reply.values
    assert ints.dtype == np.int64 and mask.dtype == bool and isinstance(f32, float) and (two, true, none, text) == (2, True, None, "text")
    assert same(listed, [1.0, np.zeros((2, 2))]) and same(grads, {"W1": np.ones(2), "nested": {"b": (4, "x")}})
    assert thing == wire.Opaque("Thing")
    assert reply.valid == (True, True, True, True, True, False, False, False, False, False)
    assert reply.kinds[0] == "ndarray int64 (3,)" and reply.kinds[2] == "float32"


def test_a_return_too_deep_or_too_big_to_grade_is_the_functions_error_not_a_crash(session):
    for function in ("deep", "many"):
        reply = session.call(function, [], (), 1, 10.0)
        assert not reply.ok and "too big to grade" in reply.error, reply.error
        assert session.alive


def test_a_cs231n_solution_reading_y_shape_passes_every_staff_test_through_the_plugin(pytester):
    pytester.makepyfile(test_staff='''
import numpy as np
from gradproof.derive.generated.softmax_classifier import softmax_loss_vectorized as reference

def inputs(seed):
    rng = np.random.default_rng(seed)
    return 0.01 * rng.normal(size=(5, 4)), rng.normal(size=(7, 5)), rng.integers(4, size=7), 0.1

def test_naive(submission):
    W, X, y, reg = inputs(0)
    loss, dW = submission.softmax_loss_naive(W, X, y, reg)
    assert np.isclose(loss, reference(W, X, y, reg)[0]) and np.allclose(dW, reference(W, X, y, reg)[1])

def test_vectorized(submission):
    W, X, y, reg = inputs(1)
    loss, dW = submission.softmax_loss_vectorized(W, X, y, reg)
    assert isinstance(loss, float) and dW.dtype == np.float64
    assert np.isclose(loss, reference(W, X, y, reg)[0]) and np.allclose(dW, reference(W, X, y, reg)[1])
    assert submission.last.mutated == ()
''')
    result = pytester.runpytest_subprocess("--submission", str(SOFTMAX), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_staff_tests_become_gradescope_results_with_points_and_visibility_from_markers(pytester, tmp_path):
    import json

    from gradproof.verify.grade import gradescope

    pytester.makepyfile(test_staff='''
import numpy as np
import pytest
from gradproof.derive.generated.softmax_classifier import softmax_loss_vectorized as reference

W, X, y = 0.01 * np.ones((4, 3)), np.arange(20.0).reshape(5, 4) / 10, np.array([0, 1, 2, 1, 0])

@pytest.mark.points(3)
def test_loss(submission):
    assert np.isclose(submission.softmax_loss_vectorized(W, X, y, 0.1)[0], reference(W, X, y, 0.1)[0])

@pytest.mark.points(2)
@pytest.mark.visibility("after_published")
def test_gradient(submission):
    assert np.allclose(submission.softmax_loss_vectorized(W, X, y, 0.1)[1], reference(W, X, y, 0.1)[1])

def test_naive_exists(submission):
    submission.softmax_loss_naive(W, X, y, 0.1)
''')
    results = tmp_path / "results.json"
    wrong = SUBMISSIONS / "softmax" / "mistakes" / "vec_sign.py"
    out = pytester.runpytest_subprocess("--submission", str(wrong), "--gradescope-results", str(results),
                                        "-p", "no:cacheprovider")
    out.assert_outcomes(passed=2, failed=1)
    data = json.loads(results.read_text())
    assert gradescope.problems(data) == []
    tests = {t["name"]: t for t in data["tests"]}
    assert data["score"] == 4 and data["extra_data"]["gradproof"]["max_score"] == 6
    assert tests["test_gradient"]["score"] == 0 and tests["test_gradient"]["visibility"] == "after_published"
    assert "assert" in tests["test_gradient"]["output"] and tests["test_loss"]["score"] == 3
    pytester.makepyfile(test_bad='''
import pytest

@pytest.mark.points(-1)
def test_x(submission):
    pass
''')
    bad = pytester.runpytest_subprocess("test_bad.py", "--submission", str(SOFTMAX), "--gradescope-results",
                                        str(tmp_path / "r.json"), "-p", "no:cacheprovider")
    said = str(bad.stderr) + str(bad.stdout)
    assert bad.ret != 0 and "test_bad.py:3: test_x: @pytest.mark.points takes a non-negative number" in said, said


@pytest.mark.parametrize("text, deepest", [
    (b'{}', 1), (b'', 0), (b'{"a": [1, [2, {"b": "[[[["}]]}', 4),
    (b'{"s": "a \\" [[[ still a string"}', 1), (b'{"s": "ends in a backslash \\\\", "t": [[]]}', 3),
    (b'[[["unterminated [[', 5),  # an unterminated string's brackets count: an over-estimate, never under
])
def test_header_depth_counts_brackets_outside_strings(text, deepest):
    assert wire._depth(text) == deepest
