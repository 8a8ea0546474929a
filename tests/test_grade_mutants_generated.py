"""The mutants of the shipped rubrics' model functions are committed generated code
(verify/grade/generated/mutants__*.py, written by `python -m gradproof.verify.grade.rubric_models`): the same
mistakes, in the same order, with the same messages and values as verify.grade.mistakes derives with SymPy."""
import subprocess
import sys

import numpy as np
import pytest

from gradproof.verify.grade import mistakes, rubric_models
from gradproof.verify.grade.assignment import cases
from gradproof.verify.grade.from_model import _Mutants
from gradproof.verify.grade.rubric import load, shipped


def _graded():
    """(key, a rubric function with those mutants) for each model function the shipped rubrics name mistakes for."""
    out = {}
    for assignment in shipped():
        for f in load(assignment=assignment).functions.values():
            if isinstance(f.mutants, _Mutants):
                out.setdefault(f.mutants.key, f)
    return out


GRADED = _graded()


def test_the_shipped_rubrics_name_mistakes_for_these_model_functions():
    names = {(rubric_models.Path(k[0]).name, k[1]) for k in GRADED}
    assert ("sigmoid-layer.toml", "sigmoid_backward") in names  # the default word2vec rubric's
    assert ("two-layer-net.toml", "two_layer_net") in names and len(names) == len(GRADED) >= 7


def test_the_generated_mutants_modules_are_up_to_date():
    """generated/mutants__*.py is exactly what the command writes, and no other such file is there."""
    files = rubric_models.expected_mutants_files()
    assert set(rubric_models.GENERATED.glob("mutants__*.py")) == set(files)
    for path, text in files.items():
        assert path.read_text() == text, f"{path.name} is stale: run {rubric_models.COMMAND}"
    assert rubric_models.main(["--check"]) == 0


@pytest.mark.parametrize("key", list(GRADED), ids=lambda k: k[1])
def test_generated_mutants_are_the_sympy_built_ones(key, monkeypatch):
    """For each output: the same messages in the same order, and the same values on random cases (1e-12)."""
    function = GRADED[key]
    assert rubric_models.generated_mutants(*key) is not None
    generated = mistakes.mutants.__wrapped__(*key)
    monkeypatch.setattr(rubric_models, "generated_mutants", lambda *a: None)
    derived = mistakes.mutants.__wrapped__(*key)
    assert list(generated) == list(derived)
    compared = 0
    for role in derived:
        assert [m.message for m in generated[role]] == [m.message for m in derived[role]]
        for case in cases(function, "hidden", 3, 7) + cases(function, "public", 1, 11):
            data = case.data.get("__base__", case.data) if isinstance(case.data.get("__base__"), dict) else case.data
            for g, d in zip(generated[role], derived[role]):
                outcome = []
                for mutant in (g, d):
                    try:
                        with np.errstate(all="ignore"):
                            outcome.append(mutant.value(data))
                    except Exception as e:  # the same failure on both sides
                        outcome.append(type(e))
                a, b = outcome
                if isinstance(a, type) or a is None or b is None or isinstance(b, type):
                    assert a == b if isinstance(a, type) or isinstance(b, type) else (a is None and b is None)
                    continue
                assert np.shape(a) == np.shape(b)
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"{key[1]} {role}: {g.message}")
                compared += 1
    assert compared > 0


def test_a_changed_model_file_has_its_mutants_derived_afresh(tmp_path, monkeypatch):
    model = rubric_models.MODELS / "sigmoid-layer.toml"
    key = (str(model), "sigmoid_backward", "dx", (("x", "dx"),))
    assert rubric_models.generated_mutants(*key) is not None
    assert rubric_models.generated_mutants(str(model), "sigmoid_backward", "loss", (("x", "dx"),)) is None
    copy = tmp_path / "sigmoid-layer.toml"
    copy.write_text(model.read_text())
    assert rubric_models.generated_mutants(str(copy), *key[1:]) is None  # not a shipped model: its own path
    monkeypatch.setattr(rubric_models, "digest", lambda path: "changed")
    assert rubric_models.generated_mutants(*key) is None


def test_naming_a_wrong_answer_of_a_shipped_rubric_needs_no_sympy():
    """A grading process with a shipped rubric: the mutants of every model function it grades, and a wrong
    sigmoid graded with the default rubric, diagnosed from committed code without importing SymPy."""
    code = """
import sys
import numpy as np
from gradproof.verify.grade import rubric
from gradproof.verify.grade.assignment import cases
from gradproof.verify.grade.diagnose import diagnose
named = 0
for a in rubric.shipped():
    for f in rubric.load(assignment=a).functions.values():
        if f.mutants is None:
            continue
        for case in cases(f, "hidden", 2, 5):
            for i in range(len(f.outputs)):
                named += len(f.mutants(case, f.role(i)))
messages = []
for a, name in (("word2vec", "sigmoid"), ("cs231n-layers", "affine_backward")):  # a wrong answer: its sign flipped
    f = rubric.load(assignment=a).functions[name]
    case = cases(f, "hidden", 1, 3)[0]
    expected = dict(zip([f.role(i) for i in range(len(f.outputs))], f.expected(case, ())))
    i = len(f.outputs) - 1
    got = -np.asarray(expected[f.role(i)], dtype=float)
    messages.append(diagnose(f, case, expected, (), i, f.outputs[i], got, 1e-7, 1e-9))
print(named > 0, messages[-1], 'sympy' in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False"), out
    assert out.startswith("True ") and "opposite sign" in out, out
