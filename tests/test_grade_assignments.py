"""An assignment is data: a rubric's [[function]] tables name a model file for each function; the
grading engine names no assignment's function."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from gradproof.verify.cli import main
from gradproof.verify.grade import rubric as rubrics

ROOT = Path(__file__).parent.parent
GRADE = ROOT / "verify" / "grade"
SUBMISSIONS = Path(__file__).parent / "submissions"
CORRECT = SUBMISSIONS / "correct.py"
SOFTMAX = SUBMISSIONS / "softmax" / "correct.py"


def test_no_grading_module_names_a_function_of_a_shipped_assignment():
    names = {name for assignment in rubrics.shipped() for name in rubrics.load(assignment=assignment).functions}
    assert {"skipgram", "sigmoid", "softmax_loss_naive"} <= names
    for path in GRADE.glob("*.py"):  # the engine's code: its identifiers, and strings that are exactly a name
        tree = ast.parse(path.read_text())
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | \
               {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)} | \
               {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        assert not names & used, (path.name, names & used)


def test_a_copy_of_a_shipped_rubric_keeps_its_functions(tmp_path):
    copy = tmp_path / "mine.toml"
    shutil.copy(GRADE / "rubrics" / "word2vec.toml", copy)
    assert list(rubrics.load(str(copy)).functions) == list(rubrics.load().functions)


def test_a_rubric_without_functions_grades_those_of_the_assignment_it_names(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('assignment = "softmax-classifier"\n[[test]]\nname = "a"\nfunction = "softmax_loss_naive"\n')
    rubric = rubrics.load(str(path))
    assert rubric.file == "softmax.py" and set(rubric.functions) == {"softmax_loss_naive", "softmax_loss_vectorized"}


def test_a_rubric_may_grade_a_model_file_of_its_own(tmp_path):
    model = (ROOT / "derive" / "models" / "softmax-classifier.toml").read_text().replace(
        'module = "generated/softmax_classifier.py"\n', "")
    (tmp_path / "mine.toml").write_text(model)
    (tmp_path / "r.toml").write_text('file = "softmax.py"\n[[function]]\nname = "softmax_loss_vectorized"\n'
                                     'model = "mine.toml"\n[[test]]\nname = "a"\nfunction = "softmax_loss_vectorized"\n'
                                     '[[test]]\nname = "b"\nfunction = "softmax_loss_vectorized"\ncheck = "gradient"\n')
    results = tmp_path / "results.json"
    assert main(["grade", str(SOFTMAX), "--rubric", str(tmp_path / "r.toml"), "--results", str(results)]) == 0
    import json
    assert json.loads(results.read_text())["score"] == 2


BAD = [
    ('[[function]]\nname = "f"\n[[test]]\nname = "a"\nfunction = "f"\n', 1, "needs model"),
    ('[[function]]\nname = "f"\nmodel = "no-such-model.toml"\n[[test]]\nname = "a"\nfunction = "f"\n', 3, "no-such-model"),
    ('[[function]]\nname = "f"\nmodel = "softmax-classifier"\n[[test]]\nname = "a"\nfunction = "f"\n', 3,
     "declares no function 'f'"),
    ('[[function]]\nname = "softmax_loss_vectorized"\nmodel = "softmax-classifier"\nsizes = { Q = [1, 2] }\n'
     '[[test]]\nname = "a"\nfunction = "softmax_loss_vectorized"\n', 3, "no size 'Q'"),
    ('[[function]]\nname = "softmax_loss_vectorized"\nmodel = "softmax-classifier"\nsizes = { N = [5, 2] }\n'
     '[[test]]\nname = "a"\nfunction = "softmax_loss_vectorized"\n', 4, "low <= high"),
    ('[[function]]\nname = "softmax_loss_vectorized"\nmodel = "softmax-classifier"\nlarge = { "X[a]" = 1.0 }\n'
     '[[test]]\nname = "a"\nfunction = "softmax_loss_vectorized"\n', 3, "'X[a]' is not an input"),
    ('[[function]]\nname = "softmax_loss_vectorized"\nmodel = "softmax-classifier"\nlarge = { W = 1e200 }\n'
     '[[test]]\nname = "a"\nfunction = "softmax_loss_vectorized"\n', 3, "not finite"),
    ('[[function]]\nname = "f"\nmodel = "window"\nglue = "nothing.py"\n[[test]]\nname = "a"\nfunction = "f"\n', 4,
     "unknown key 'glue'"),
    ('[[function]]\nname = "f"\nmodel = "softmax-classifier"\ncolour = 1\n[[test]]\nname = "a"\nfunction = "f"\n', 4,
     "unknown key 'colour'"),
    ('[[function]]\nname = "softmax_loss_vectorized"\nmodel = "softmax-classifier"\n\n[[test]]\nname = "a"\n'
     'function = "softmax_loss_naive"\n', 5, "unknown function 'softmax_loss_naive'"),
    ('assignment = "mine"\n[[test]]\nname = "a"\nfunction = "f"\n', 1, "not a shipped assignment"),
    ('timeout = -1\n[[test]]\nname = "a"\nfunction = "sigmoid"\n', 1, "'timeout' must be a positive number"),
    # a function's own rubric keys (the sigmoid layer's model beside the shipped rubrics)
    ('[[function]]\nname = "f"\nmodel = "{layer}"\nlike = "sigmoid_backward"\narguments = ["x"]\nreturns = ["out"]\nranks = { x = [0, 2] }\n'
     '[[test]]\nname = "a"\nfunction = "f"\n', 7, "ranks must map inputs to [low, high]"),
    ('[[function]]\nname = "f"\nmodel = "{layer}"\nlike = "sigmoid_backward"\narguments = ["x"]\nreturns = ["out"]\nranks = { x = [1, 3] }\n'
     '[[test]]\nname = "a"\nfunction = "f"\n', 3, "ranks: 'x' is not a parameter or data input"),
    ('[[function]]\nname = "f"\nmodel = "{layer}"\nlike = "sigmoid_backward"\narguments = ["x"]\nreturns = ["out"]\nranks = { dout = [2, 2] }\nlarge_values = { dout = [1.0] }\n'
     '[[test]]\nname = "a"\nfunction = "f"\n', 3, "its ranks must start at 1"),
    ('[[function]]\nname = "f"\nmodel = "{layer}"\nlike = "sigmoid_backward"\narguments = ["x"]\nreturns = ["out"]\nlarge_values = { x = [] }\n'
     '[[test]]\nname = "a"\nfunction = "f"\n', 7, "large_values must map inputs to the list of values"),
    ('[[function]]\nname = "f"\nmodel = "{layer}"\nlike = "sigmoid_backward"\narguments = ["x"]\nreturns = ["out"]\nlarge_values = { y = [1.0] }\n'
     '[[test]]\nname = "a"\nfunction = "f"\n', 3, "large_values: 'y' is not a parameter or data input"),
    ('[[function]]\nname = "f"\nmodel = "{layer}"\nlike = "sigmoid_backward"\narguments = ["x"]\nreturns = ["out"]\nnames = { dx = \"sigmoid(x)\" }\n'
     '[[test]]\nname = "a"\nfunction = "f"\n', 3, "names: 'dx' is not an output of f"),
    ('[[function]]\nname = "f"\nmodel = "{layer}"\nlike = "sigmoid_backward"\narguments = ["x"]\nreturns = ["out"]\nnames = { out = 1 }\n'
     '[[test]]\nname = "a"\nfunction = "f"\n', 7, "names must map outputs to what feedback calls them"),
]
BAD += [  # the arguments a function may change in place: a list of its own arguments
    ('[[function]]\nname = "f"\nmodel = "{layer}"\nlike = "sigmoid_backward"\nmay_change = "dout"\n'
     '[[test]]\nname = "a"\nfunction = "f"\n', 5, "may_change must list the arguments"),
    ('[[function]]\nname = "f"\nmodel = "{layer}"\nlike = "sigmoid_backward"\nmay_change = ["cache"]\n'
     '[[test]]\nname = "a"\nfunction = "f"\n', 5, "may_change names 'cache', not one of its arguments"),
]
SKIPGRAM = '[[function]]\nname = "skipgram"\nmodel = "window"\n'
BAD += [  # skipgram's keys: a rubric's own (moved, suspects that call a function)
    (SKIPGRAM + 'moved = 1\n[[test]]\nname = "a"\nfunction = "skipgram"\n', 4, "moved must say where"),
    (SKIPGRAM + '[[function.suspect]]\noutput = "loss"\nmessage = "m"\nvalue = "-loss"\ncall = { outsideWords = "outsideWords" }\n'
     '[[test]]\nname = "a"\nfunction = "skipgram"\n', 1, "either value"),
    (SKIPGRAM + '[[function.suspect]]\noutput = "loss"\nmessage = "m"\ncall = { nothing = "1" }\n'
     '[[test]]\nname = "a"\nfunction = "skipgram"\n', 3, "call: 'nothing' is not an argument of skipgram"),
    (SKIPGRAM + '[[function.suspect]]\noutput = "loss"\nmessage = "m"\ncall = { word2vecLossAndGradient = "sigmoid" }\n'
     '[[test]]\nname = "a"\nfunction = "skipgram"\n', 3, "'sigmoid' is not one of its functions"),
    (SKIPGRAM + '[[function.suspect]]\noutput = "loss"\nmessage = "m"\ncall = { function = "no_such_function" }\n'
     '[[test]]\nname = "a"\nfunction = "skipgram"\n', 3, "the model's module has no function 'no_such_function'"),
    (SKIPGRAM + '[[function.suspect]]\noutput = "loss"\nmessage = "m"\ncall = { function = "gradproof.nothing.f" }\n'
     '[[test]]\nname = "a"\nfunction = "skipgram"\n', 3, "no function 'gradproof.nothing.f' can be imported"),
    (SKIPGRAM + '[[function.suspect]]\noutput = "loss"\nmessage = "m"\ncall = { function = "os.system" }\n'
     '[[test]]\nname = "a"\nfunction = "skipgram"\n', 3, "or of gradproof's own modules"),
    (SKIPGRAM + '[[function.suspect]]\noutput = "loss"\nmessage = "m"\ncall = { outsideWords = "__import__(1)" }\n'
     '[[test]]\nname = "a"\nfunction = "skipgram"\n', 3, "only the functions"),
    (SKIPGRAM + '[[function.suspect]]\noutput = "loss"\nmessage = "m"\nvalue = "-loss"\nwhen_left_out = "outsideWords"\n'
     '[[test]]\nname = "a"\nfunction = "skipgram"\n', 3, "when_left_out: 'outsideWords' is not a callback argument"),
    (SKIPGRAM.replace('"window"', '"{window}"') + '[[test]]\nname = "a"\nfunction = "skipgram"\n', 3,
     "callback word2vecLossAndGradient: the model's module has no function 'naiveSoftmaxLossAndGradient'"),
]
WINDOW = ROOT / "derive" / "models" / "window.toml"


def _window_copy() -> str:
    """A copy of the window model beside the tests' rubrics (not shipped: its callbacks must be its own)."""
    import tempfile
    path = Path(tempfile.mkdtemp()) / "window.toml"
    path.write_text(WINDOW.read_text().replace('module = "reference.py"\n', ""))
    return str(path)


BAD = [(toml.replace("{layer}", str(GRADE / "rubrics" / "models" / "sigmoid-layer.toml")), line, message)
       for toml, line, message in BAD]
BAD = [(toml.replace("{window}", _window_copy()) if "{window}" in toml else toml, line, message)
       for toml, line, message in BAD]


@pytest.mark.parametrize("toml, line, message", BAD, ids=[m for _, _, m in BAD])
def test_a_bad_rubric_is_one_line_with_its_file_and_line_and_exit_2(toml, line, message, tmp_path, capsys):
    path = tmp_path / "rubric.toml"
    path.write_text(toml)
    assert main(["grade", str(CORRECT), "--rubric", str(path), "--results", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path}:{line}:" in err and message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "r.json").exists()


def test_a_rubrics_fingerprint_is_the_same_in_every_process_and_follows_its_functions(tmp_path):
    """A class rerun (a new process) must find the rubric it started with, and a changed [[function]]
    must count as another rubric."""
    import subprocess
    import sys

    code = ("from gradproof.verify.grade.batch import rubric_fingerprint as f; from gradproof.verify.grade import "
            "rubric as r; import sys; print(f(r.load(sys.argv[1] if len(sys.argv) > 1 else None, 'softmax-classifier')))")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(runs) == 1
    changed = tmp_path / "r.toml"
    changed.write_text((GRADE / "rubrics" / "softmax-classifier.toml").read_text().replace("N = [2, 30]", "N = [2, 31]", 1))
    other = subprocess.run([sys.executable, "-c", code, str(changed)], capture_output=True, text=True, check=True).stdout
    assert other not in runs


def test_the_gradescope_zip_carries_the_model_files_a_rubric_names(tmp_path):
    import zipfile

    out = tmp_path / "layers.zip"
    assert main(["gradescope", "--assignment", "cs231n-layers", "--output", str(out)]) == 0
    names = set(zipfile.ZipFile(out).namelist())
    assert {"assignment/cs231n-layers.toml", "assignment/models/affine-layer.toml", "assignment/models/relu-layer.toml",
            "assignment/models/softmax-loss.toml"} <= names
    out = tmp_path / "w2v.zip"
    assert main(["gradescope", "--output", str(out)]) == 0
    names = set(zipfile.ZipFile(out).namelist())
    assert "assignment/models/sigmoid-layer.toml" in names and "assignment/word2vec.py" not in names  # no glue


def test_a_copy_of_a_shipped_rubric_with_local_models_finds_them(tmp_path):
    copy = tmp_path / "layers.toml"
    shutil.copy(GRADE / "rubrics" / "cs231n-layers.toml", copy)
    assert set(rubrics.load(str(copy)).functions) == set(rubrics.load(assignment="cs231n-layers").functions)


# -- word2vec's naive softmax: graded from its model file, its mistakes named by the rubric's data ------

NS = "naiveSoftmaxLossAndGradient"


def _table(rubric_path: Path, name: str) -> dict:
    from gradproof.derive import toml  # tomllib is 3.11+: the project's reader falls back to tomli on 3.10
    return next(e for e in toml.loads(rubric_path.read_text())["function"] if e["name"] == name)


def test_word2vecs_naive_softmax_is_drawn_as_its_model_file_declares_its_arguments():
    import numpy as np

    from gradproof.derive import reference as ref
    from gradproof.derive import spec as specs
    from gradproof.verify.grade.assignment import cases

    table = _table(GRADE / "rubrics" / "word2vec.toml", NS)
    assert table["model"] == "naive-softmax" and "glue" not in table
    spec = specs.load(ROOT / "derive" / "models" / "naive-softmax.toml")
    declared = {i.name: i for i in next(f for f in spec.functions() if f.name == NS).inputs}
    function = rubrics.load().functions[NS]
    public = cases(function, "public", 1, 7)[0]
    assert [a.shape for a in public.arrays] == [(3,), (5, 3)]  # the rubric's public_sizes
    for case in cases(function, "hidden", 8, 7) + [public]:
        v, U = case.arrays
        W, N = U.shape
        assert 13 <= W <= 40 and 3 <= N <= 12 or case.kind == "public"
        assert np.allclose(np.linalg.norm(U, axis=1), 1.0)  # unit rows: the model's "unit-rows"
        dataset = case.args[3]
        assert dataset == {"$dataset": [], "sampler": declared["dataset"].sampler} and case.args[1] == case.data["o"]
        got = function.expected(case, (0,))
        want = ref.naiveSoftmaxLossAndGradient(v, case.data["o"], U, None)
        assert all(np.allclose(g, w) for g, w in zip(got, want))
    (size,) = cases(function, "size", 1, 7)
    assert size.arrays[1].shape == (3000, 48)
    (large,) = cases(function, "large", 1, 7)
    scores = large.arrays[1] @ large.arrays[0]
    assert np.all(np.abs(scores - 1000) < 60) and all(np.all(np.isfinite(e)) for e in function.expected(large, ()))


SUSPECT = ('file = "softmax.py"\n[[function]]\nname = "softmax_loss_vectorized"\nmodel = "softmax-classifier"\n'
           '[[function.suspect]]\noutput = "{output}"\nmessage = "{message}"\nvalue = "{value}"\n'
           '[[test]]\nname = "a"\nfunction = "softmax_loss_vectorized"\n')


def test_a_rubrics_own_suspect_names_a_mistake_in_its_words_before_the_models_mutants(tmp_path):
    import json
    path = tmp_path / "r.toml"
    path.write_text(SUSPECT.format(output="dW", message="our words: {name} points uphill", value="-dW"))
    results = tmp_path / "results.json"
    assert main(["grade", str(SUBMISSIONS / "softmax" / "mistakes" / "vec_sign.py"), "--rubric", str(path),
                 "--results", str(results), "--seed", "5"]) == 0
    text = json.dumps(json.loads(results.read_text()))
    assert "our words: dW points uphill" in text and "dW has the opposite sign" not in text


@pytest.mark.parametrize("output, message, value, words", [
    ("dW", "m", "__import__('os').system('true')", "only the functions onehot"),
    ("dW", "m", "dW.__class__", "only .T"),
    ("dW", "m", "[x for x in dW]", "ListComp is not allowed"),
    ("dW", "m", "'text'", "only numbers"),
    ("dW", "m", "dW +", "not an expression"),
    ("dW", "m", "nothing * 2", "unknown name 'nothing'"),
    ("dW", "{secret}", "-dW", "message names {secret}"),
    ("dX", "m", "-dW", "'dX' is not an output of softmax_loss_vectorized"),
])
def test_a_bad_suspect_is_one_line_with_its_file_and_line_and_exit_2(output, message, value, words, tmp_path, capsys):
    path = tmp_path / "rubric.toml"
    path.write_text(SUSPECT.format(output=output, message=message, value=value.replace('"', '\\"')))
    assert main(["grade", str(SOFTMAX), "--rubric", str(path), "--results", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path}:" in err and words in err and len(err.splitlines()) == 1, err


NEG = "negSamplingLossAndGradient"


def test_word2vecs_negative_sampling_replays_the_draws_its_model_declares_and_follows_the_submissions():
    import numpy as np

    from gradproof.derive import reference as ref
    from gradproof.verify.grade.assignment import cases

    table = _table(GRADE / "rubrics" / "word2vec.toml", NEG)
    assert table["model"] == "neg-sampling" and "glue" not in table
    function = rubrics.load().functions[NEG]
    for case in cases(function, "public", 1, 3) + cases(function, "hidden", 6, 3):
        v, U = case.arrays
        o, K, (dataset,) = case.data["o"], case.args[4], [a for a in case.args if isinstance(a, dict) and "$dataset" in a]
        sequence = dataset["$dataset"]
        assert dataset["sampler"] == "sampleTokenIdx" and 2 <= K <= 10 and len(sequence) == 96
        # what a sampler must get right, on every case: a word drawn twice in a row, then the outside word
        assert sequence[0] == sequence[1] != o and sequence[2] == o
        # the expected values follow the draws the submission made: the samples a correct sampler keeps of them
        need = [i for i, s in enumerate(sequence) if s != o][K - 1] + 1  # what a correct sampler draws
        for drawn in (need, need + 3, 96):
            replay = type("R", (), {"it": None, "sampleTokenIdx": lambda self: next(self.it)})()
            kept = [s for s in sequence[:drawn] if s != o][:K]
            replay.it = iter(kept)
            want = ref.negSamplingLossAndGradient(v, o, U, replay, K)
            assert all(np.allclose(g, w) for g, w in zip(function.expected(case, (drawn,)), want))
        too_few = function.expected(case, (need - 1,))
        assert isinstance(too_few, str) and f"drew {need - 1} samples from dataset" in too_few


def test_a_suspects_let_is_checked_like_its_values(tmp_path, capsys):
    path = tmp_path / "rubric.toml"
    path.write_text(SUSPECT.format(output="dW", message="m", value="-w2").replace(
        'model = "softmax-classifier"\n', 'model = "softmax-classifier"\nlet = { w2 = "W @ nothing" }\n'))
    assert main(["grade", str(SOFTMAX), "--rubric", str(path), "--results", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path}:" in err and "unknown name 'nothing'" in err and len(err.splitlines()) == 1, err


def test_the_math_conventions_functions_are_drawn_as_their_model_files_declare():
    import numpy as np

    from gradproof.derive import reference as ref
    from gradproof.verify.grade.assignment import cases

    math = rubrics.load(assignment="word2vec-math")
    for name in math.functions:
        assert _table(GRADE / "rubrics" / "word2vec-math.toml", name)["model"] in ("naive-softmax", "neg-sampling")
    naive, neg = math.functions["naive_softmax_loss_and_gradients"], math.functions["neg_sampling_loss_and_gradients"]
    for case in cases(naive, "hidden", 6, 11) + cases(neg, "hidden", 6, 11):
        U = case.data["U"]
        assert np.allclose(np.linalg.norm(U, axis=0), 1.0) and U.shape[0] != U.shape[1]  # unit columns, never square
    for case in cases(neg, "public", 1, 11) + cases(neg, "hidden", 6, 11):
        w, o = case.data["w"], case.data["o"]
        assert 2 <= len(w) <= 10 and o not in w and w[0] == w[1]  # never the outside word; a repeated sample
        want = ref.neg_sampling_loss_and_gradients(case.data["v_c"], o, case.data["U"], w)
        assert all(np.allclose(g, x) for g, x in zip(neg.expected(case, ()), want))


def test_word2vecs_sigmoid_is_the_forward_pass_of_a_sigmoid_layer_model_drawn_as_the_rubric_says():
    """No glue: the rubric names the model (models/sigmoid-layer.toml) and says how x is drawn: any
    rank from 1 to 2 (hidden), exactly the listed values at large |x|, the output named sigmoid(x)."""
    import importlib.util

    import numpy as np

    from gradproof.verify.grade.assignment import cases

    table = _table(GRADE / "rubrics" / "word2vec.toml", "sigmoid")
    assert table["model"] == "models/sigmoid-layer.toml" and "glue" not in table
    assert importlib.util.find_spec("gradproof.verify.grade.rubrics.word2vec") is None  # no glue module at all
    function = rubrics.load().functions["sigmoid"]
    assert function.outputs == ("sigmoid(x)",) and function.gradients == ()

    def stable(x):
        return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))
    (public,) = cases(function, "public", 1, 5)
    x = public.arrays[public.args[0]["$a"]]
    assert x.shape == (5,) and np.allclose(function.expected(public, ())[0], stable(x))
    ranks = set()
    for case in cases(function, "hidden", 40, 5):
        x = case.arrays[case.args[0]["$a"]]
        ranks.add(x.ndim)
        assert all(1 <= n <= 6 for n in x.shape)
        assert np.allclose(function.expected(case, ())[0], stable(x), rtol=1e-12, atol=0)
    assert ranks == {1, 2}
    (large,) = cases(function, "large", 1, 5)
    x = large.arrays[large.args[0]["$a"]]
    assert list(x) == [-1000.0, -745.5, -40.0, 0.0, 40.0, 745.5, 1000.0]
    with np.errstate(over="ignore"):
        assert np.allclose(function.expected(large, ())[0], stable(x), rtol=1e-12, atol=1e-300)


def test_a_function_graded_by_a_definition_alone_loads_without_sympy(tmp_path):
    """The definition (and the model's own function) are compiled on first use, not when the rubric loads."""
    import subprocess
    import sys

    code = ("import sys; from gradproof.verify.grade import rubric as r; r.load(); "
            "print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# -- word2vec's skipgram: the course's code in the window model, drawn and called as the model declares ---


def _skipgram_reference(case):
    """skipgram's expected values, computed here from the pair functions (not through from_model)."""
    import numpy as np

    from gradproof.derive import reference as ref

    d = case.data
    chosen, samples = d["word2vecLossAndGradient"]["function"], d["word2vecLossAndGradient"]["samples"]
    V, U, c = d["centerWordVectors"], d["outsideVectors"], d["currentCenterWord"]
    loss, gc, go = 0.0, np.zeros(V.shape), np.zeros(U.shape)
    for o in d["outsideWords"]:
        o = int(o)
        if chosen == "negSamplingLossAndGradient":
            it = iter(samples[o])
            replay = type("R", (), {"sampleTokenIdx": staticmethod(lambda: next(it))})()
            pl, pc, po = ref.negSamplingLossAndGradient(V[c], o, U, replay, len(samples[o]))
        else:
            pl, pc, po = ref.naiveSoftmaxLossAndGradient(V[c], o, U, None)
        loss, gc[c], go = loss + pl, gc[c] + pc, go + po
    return loss, gc, go


def test_word2vecs_skipgram_is_graded_from_the_window_model_drawn_and_called_as_it_declares():
    """No glue: skipgram is the course's code in derive/models/window.toml ([[variants]] coded = true),
    drawn as its inputs say: words, a center word never in a fixed row, 2 to 4 outside words never the center
    word, a vocabulary, a window of 5 to 7, and a pair function the grader answers (naive softmax; negative
    sampling with samples fixed per outside word on hidden cases 2 and 4; left out on hidden case 1)."""
    import numpy as np

    from gradproof.derive import spec as specs
    from gradproof.verify.grade.assignment import cases

    table = _table(GRADE / "rubrics" / "word2vec.toml", "skipgram")
    assert table["model"] == "window" and "glue" not in table
    window = specs.load(WINDOW)
    assert "skipgram" not in [f.name for f in window.functions()]  # not generated: the code defines it
    assert "skipgram" in [f.name for f in window.declared()]
    function = rubrics.load().functions["skipgram"]
    assert function.outputs == ("loss", "gradCenterVecs", "gradOutsideVectors")
    assert function.arguments == ("centerWordVectors", "outsideVectors") and function.callback is not None
    (public,) = cases(function, "public", 1, 7)
    assert [a.shape for a in public.arrays] == [(5, 3), (5, 3)]
    pairs = ("naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient")
    assert public.args[-1] == {"$callback": pairs[0]} and set(public.stand_ins) == set(pairs)
    seen = set()
    for seed in range(6):
        hidden = cases(function, "hidden", 4, seed)
        for i, case in enumerate([public] + hidden):
            word, window_size, outside, vocabulary = case.args[:4]
            W = len(vocabulary)
            c = vocabulary[word]
            assert vocabulary == {f"w{k}": k for k in range(W)} and c not in (0, W // 2, W - 1)
            assert 2 <= len(outside) <= 4 and word not in outside and 5 <= window_size <= 7
            assert not {vocabulary[w] for w in outside} & {0, W // 2, W - 1}  # nor theirs
            assert case.args[4:6] == ({"$a": 0}, {"$a": 1}) and case.args[6]["sampler"] == "sampleTokenIdx"
            want = {0: pairs[0], 1: None, 2: pairs[1], 3: pairs[0], 4: pairs[1]}[i]
            assert (case.args[7:] or ({"$callback": None},))[0]["$callback"] == want
            assert case.data["word2vecLossAndGradient"]["function"] == want
            samples = case.data["word2vecLossAndGradient"]["samples"]
            assert all(o not in drawn and 2 <= len(drawn) <= 5 for o, drawn in samples.items())
            seen.add(W)
            got = function.expected(case, ())
            assert all(np.allclose(g, w) for g, w in zip(got, _skipgram_reference(case)))
    assert min(seen) >= 5 and max(seen) <= 40 and min(seen - {5}) >= 13  # hidden: 13 to 40


def test_skipgrams_pair_function_is_answered_only_for_the_cases_own_arguments():
    import numpy as np

    from gradproof.verify.grade.assignment import cases

    function = rubrics.load().functions["skipgram"]
    case = cases(function, "hidden", 4, 3)[1]  # negative sampling
    d = case.data
    V, U, c = d["centerWordVectors"], d["outsideVectors"], d["currentCenterWord"]
    answer = function.callback(case, None)
    o = int(d["outsideWords"][0])
    call = {"name": "negSamplingLossAndGradient", "args": [{"$a": 0}, o, {"$a": 1}, None]}
    got = answer(call, [V[c], U])
    from gradproof.derive import reference as ref
    it = iter(d["word2vecLossAndGradient"]["samples"][o])
    replay = type("R", (), {"sampleTokenIdx": staticmethod(lambda: next(it))})()
    want = ref.negSamplingLossAndGradient(V[c], o, U, replay, len(d["word2vecLossAndGradient"]["samples"][o]))
    assert all(np.allclose(g, w) for g, w in zip(got, want))
    other = next(k for k in range(len(U)) if k not in [int(x) for x in d["outsideWords"]])
    assert answer({**call, "args": [{"$a": 0}, other, {"$a": 1}, None]}, [V[c], U]) is None  # not a window word
    assert answer(call, [V[c] + 1, U]) is None            # not the center word's row
    assert answer(call, [V[c], U, U]) is None             # more arrays than the call takes
    assert answer({**call, "name": "sigmoid"}, [V[c], U]) is None  # not one of its functions
    assert answer({**call, "args": [{"$a": 0}, o]}, [V[c]]) is None  # too few arguments


def test_a_copy_of_the_window_models_callbacks_must_be_its_own_functions():
    """A model of one's own is compiled alone: a callback can be only one of its functions."""
    from gradproof.derive import spec as specs

    spec = specs.load(_window_copy())
    assert [i.functions for i in spec.coded[0].inputs if i.role == "callback"] == [
        ("naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient")]


# -- the shipped rubrics' own models: committed generated code, no SymPy to grade ------------------------


def test_the_shipped_rubrics_models_generated_code_is_up_to_date():
    """verify/grade/generated/*.py is what `python -m gradproof.verify.grade.rubric_models` writes."""
    from gradproof.verify.grade import rubric_models

    files = rubric_models.expected_files()
    assert {p.name for p in files} == {"affine_layer.py", "relu_layer.py", "sigmoid_layer.py", "softmax_loss.py"}
    for path, text in files.items():
        assert path.read_text() == text, f"{path.name} is stale: run {rubric_models.COMMAND}"
    assert "def out__for__sigmoid_backward(dout, x):" in files[rubric_models.GENERATED / "sigmoid_layer.py"]


def test_expected_values_of_the_shipped_rubrics_need_no_sympy():
    """The sigmoid (a definition of a rubric's own model), the CS231n layers and skipgram: computed from
    committed code in a process that never imports SymPy."""
    import subprocess
    import sys

    code = ("import sys\nfrom gradproof.verify.grade import rubric\nfrom gradproof.verify.grade.assignment import cases\n"
            "for a in ('word2vec', 'cs231n-layers'):\n"
            "    for f in rubric.load(assignment=a).functions.values():\n"
            "        for kind in ('public', 'hidden', 'large'):\n"
            "            for case in cases(f, kind, 2, 3):\n"
            "                assert not isinstance(f.expected(case, ()), str)\n"
            "print('sympy' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_an_edited_rubric_model_is_generated_afresh(tmp_path, monkeypatch):
    """The committed module is used only while it matches its model file."""
    from gradproof.verify.grade import rubric_models

    model = rubric_models.MODELS / "sigmoid-layer.toml"
    assert rubric_models.generated(model) is not None
    monkeypatch.setattr(rubric_models, "digest", lambda path: "changed")
    assert rubric_models.generated(model) is None
    copy = tmp_path / "sigmoid-layer.toml"
    copy.write_text(model.read_text())
    assert rubric_models.generated(copy) is None  # not a shipped rubric's model: its own path
