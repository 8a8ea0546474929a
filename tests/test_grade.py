"""gradproof grade: Gradescope output, the CLI, class batches (resumable), rubrics, the pytest plugin."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from gradproof.verify.cli import main
from gradproof.verify.grade import gradescope, rubric as rubrics
from gradproof.verify.grade.batch import grade_directory
from gradproof.verify.grade.grader import grade
from gradproof.verify.grade.sandbox import Sandbox

pytest_plugins = ["pytester"]

SUBMISSIONS = Path(__file__).parent / "submissions"
CORRECT = SUBMISSIONS / "correct.py"
RUBRIC = rubrics.load()


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(limits=RUBRIC.limits) as box:
        yield box


def _wrong_sign(tmp_path: Path, name: str = "wrong.py") -> Path:
    text = CORRECT.read_text().replace("gradCenterVec = outsideVectors.T @ delta", "gradCenterVec = -outsideVectors.T @ delta")
    assert text != CORRECT.read_text()
    path = tmp_path / name
    path.write_text(text)
    return path


# -- the Gradescope format ------------------------------------------------------------------------


def test_correct_solution_scores_full_marks_in_valid_gradescope_results(sandbox):
    result = grade(CORRECT, RUBRIC, sandbox, seed=3)
    data = gradescope.results_json(result, RUBRIC.assignment)
    assert gradescope.problems(data) == []
    assert data["score"] == RUBRIC.max_score == 42
    assert len(data["tests"]) == len(RUBRIC.tests)
    for test in data["tests"]:
        assert test["status"] == "passed" and test["score"] == test["max_score"]
        assert test["output_format"] == "md" and test["visibility"] in gradescope.VISIBILITY
        assert set(test) <= set(gradescope.TEST)
    assert json.loads(json.dumps(data)) == data  # plain JSON all the way down


def test_a_planted_mistake_costs_only_its_tests_and_is_named(sandbox, tmp_path):
    result = grade(_wrong_sign(tmp_path), RUBRIC, sandbox, seed=3)
    failed = {t.name for t in result.tests if not t.passed}
    assert "naiveSoftmaxLossAndGradient: gradCenterVec" in failed
    assert "naiveSoftmaxLossAndGradient: loss" not in failed
    assert not any(name.startswith(("negSampling", "sigmoid")) for name in failed)
    center = next(t for t in result.tests if t.name == "naiveSoftmaxLossAndGradient: gradCenterVec")
    assert center.score == 0 and "gradCenterVec has the opposite sign" in center.output
    assert 0 < result.score < result.max_score


@pytest.mark.parametrize("bad, problem", [
    ({"tests": [{"name": "t", "score": 1, "max_score": 1, "status": "ok"}]}, "status must be passed or failed"),
    ({"score": "10"}, "results.score has the wrong type"),
    ({"score": 1, "tests": [{"name": "t", "score": 2, "max_score": 1}]}, "between 0 and max_score"),
    ({"score": 1, "output_format": "pdf"}, "output_format must be one of"),
    ({"score": 1, "tests": [{"name": "t", "visibility": "secret"}]}, "visibility must be one of"),
    ({"score": 1, "leaderbord": []}, "unknown field 'leaderbord'"),
    ([], "must be a JSON object"),
])
def test_the_format_check_rejects_what_gradescope_would(bad, problem):
    assert any(problem in p for p in gradescope.problems(bad)), gradescope.problems(bad)


def test_hidden_cases_differ_between_seeds_and_repeat_with_one(sandbox):
    from gradproof.verify.grade.assignment import FUNCTIONS, cases

    naive = FUNCTIONS["naiveSoftmaxLossAndGradient"]
    a, b, again = (cases(naive, "hidden", 4, seed) for seed in (1, 2, 1))
    assert all((x.arrays[1] == y.arrays[1]).all() for x, y in zip(a, again) if x.arrays[1].shape == y.arrays[1].shape)
    assert any(x.arrays[1].shape != y.arrays[1].shape or not (x.arrays[1] == y.arrays[1]).all() for x, y in zip(a, b))
    public = [cases(naive, "public", 1, seed)[0].arrays[1] for seed in (1, 2)]
    assert public[0].shape == public[1].shape == (5, 3)


# -- the command line ------------------------------------------------------------------------------


def test_cli_grades_one_submission_and_writes_results(tmp_path, capsys):
    results = tmp_path / "out" / "results.json"
    assert main(["grade", str(CORRECT), "--results", str(results), "--seed", "5"]) == 0
    data = json.loads(results.read_text())
    assert gradescope.problems(data) == [] and data["score"] == 42
    assert "score 42 / 42" in capsys.readouterr().out


def test_cli_exits_0_when_the_submission_fails(tmp_path, capsys):
    results = tmp_path / "results.json"
    assert main(["grade", str(_wrong_sign(tmp_path)), "--results", str(results)]) == 0
    assert json.loads(results.read_text())["score"] < 42


@pytest.mark.parametrize("args, message", [
    (["grade", "no/such/file.py"], "no/such/file.py: no such file or directory"),
    (["grade", "README.md"], "not a Python file"),
    (["grade", str(CORRECT), "--assignment", "word3vec"], "unknown assignment 'word3vec'"),
    (["grade", str(CORRECT), "--out", "x"], "not a directory"),
    (["grade", str(CORRECT), "--jobs", "0"], "must be positive"),
])
def test_cli_bad_input_is_one_line_with_exit_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent.parent)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("toml, message", [
    ("assignment = 'x'\n", "no [[test]] entries"),
    ("[[test]]\nname = 'a'\nfunction = 'softmax'\n", "test 1 ('a'): unknown function 'softmax'"),
    ("[[test]]\nname = 'a'\nfunction = 'sigmoid'\ncheck = 'vibes'\n", "unknown check 'vibes'"),
    ("[[test]]\nname = 'a'\nfunction = 'sigmoid'\npoints = -1\n", "points must be a non-negative number"),
    ("[[test]]\nname = 'a'\nfunction = 'skipgram'\noutputs = ['gradCenterVec']\n", "skipgram has no output 'gradCenterVec'"),
    ("[[test]\n", "rubric.toml: line 1, column 7"),
    ("timeout = 'soon'\n[[test]]\nname = 'a'\nfunction = 'sigmoid'\n", "'timeout' must be a positive number"),
    ("timeout = 0\n[[test]]\nname = 'a'\nfunction = 'sigmoid'\n", "'timeout' must be a positive number"),
    ("hidden_cases = -1\n[[test]]\nname = 'a'\nfunction = 'sigmoid'\n", "'hidden_cases' must be a non-negative number"),
])
def test_a_bad_rubric_is_named_with_its_entry(toml, message, tmp_path, capsys):
    path = tmp_path / "rubric.toml"
    path.write_text(toml)
    assert main(["grade", str(CORRECT), "--rubric", str(path), "--results", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and message in err
    assert not (tmp_path / "r.json").exists()


def test_a_custom_rubric_sets_points_and_visibility(tmp_path, sandbox):
    path = tmp_path / "rubric.toml"
    path.write_text("hidden_cases = 2\n[[test]]\nname = 'sig'\nfunction = 'sigmoid'\npoints = 5\n"
                    "visibility = 'after_published'\n")
    rubric = rubrics.load(str(path))
    result = grade(CORRECT, rubric, sandbox, seed=1)
    assert result.max_score == 5 and result.score == 5 and result.tests[0].visibility == "after_published"
    assert "all 3 cases (1 public and 2 hidden)" in result.tests[0].output


# -- a class -----------------------------------------------------------------------------------------


def _class(tmp_path: Path) -> Path:
    directory = tmp_path / "class"
    directory.mkdir()
    shutil.copy(CORRECT, directory / "alice.py")
    _wrong_sign(directory, "bob.py")
    (directory / "carol").mkdir()
    shutil.copy(CORRECT, directory / "carol" / "word2vec.py")
    (directory / "dave.py").write_text("def sigmoid(x:\n")
    (directory / "notes.txt").write_text("not a submission")
    return directory


def test_a_class_gets_one_results_file_each_and_a_summary(tmp_path, sandbox):
    directory, out = _class(tmp_path), tmp_path / "out"
    batch = grade_directory(directory, out, RUBRIC, sandbox, jobs=2)
    assert sorted(p.name for p in out.glob("*.json")) == ["alice.json", "batch.json", "bob.json", "carol.json", "dave.json"]
    for name in ("alice", "bob", "carol", "dave"):
        assert gradescope.problems(json.loads((out / f"{name}.json").read_text())) == []
    rows = {r["submission"]: r for r in csv.DictReader((out / "summary.csv").open())}
    assert set(rows) == {"alice.py", "bob.py", "carol", "dave.py"}
    assert rows["alice.py"]["score"] == "42" and rows["carol"]["score"] == "42"
    assert rows["dave.py"]["score"] == "0" and "syntax error" in rows["dave.py"]["import_error"]
    assert "gradCenterVec has the opposite sign" in rows["bob.py"]["diagnoses"]
    assert batch.graded == 4 and batch.skipped == 0
    # one column per rubric test, in the rubric's order, holding the points earned
    header = next(csv.reader((out / "summary.csv").open()))
    assert header[3:3 + len(RUBRIC.tests)] == [t.name for t in RUBRIC.tests]
    for name in ("alice.py", "bob.py"):
        points = [float(rows[name][t.name]) for t in RUBRIC.tests]
        assert sum(points) == float(rows[name]["score"])
    assert any(float(rows["bob.py"][t.name]) < t.points for t in RUBRIC.tests)
    assert all(float(rows["alice.py"][t.name]) == t.points for t in RUBRIC.tests)


def test_a_rerun_grades_only_what_is_missing_on_the_same_hidden_cases(tmp_path, sandbox):
    directory, out = _class(tmp_path), tmp_path / "out"
    first = grade_directory(directory, out, RUBRIC, sandbox, jobs=2)
    (out / "bob.json").unlink()                   # interrupted before bob finished
    (out / "carol.json").write_text('{"score": ')  # or while carol's file was being written
    before = (out / "alice.json").read_text()
    second = grade_directory(directory, out, RUBRIC, sandbox, jobs=2)
    assert (second.graded, second.skipped) == (2, 2)
    assert (out / "alice.json").read_text() == before
    assert second.hidden_seed == first.hidden_seed
    assert [r.score for r in second.rows] == [r.score for r in first.rows]


def test_cli_class_run_prints_a_summary(tmp_path, capsys):
    directory, out = _class(tmp_path), tmp_path / "out"
    assert main(["grade", str(directory), "--out", str(out), "--jobs", "2"]) == 0
    text = capsys.readouterr().out
    assert "score distribution" in text and "most common diagnoses" in text
    assert "gradCenterVec has the opposite sign" in text and "4 submissions" in text


# -- the pytest plugin ------------------------------------------------------------------------------------


STAFF_TESTS = '''
import numpy as np
import pytest
from gradproof.verify.grade.plugin import SubmissionFailed, sandbox_dataset

def test_center_gradient(submission, reference):
    rng = np.random.default_rng(0)
    v, U = rng.normal(size=3), rng.normal(size=(6, 3))
    loss, g_center, g_outside = submission.naiveSoftmaxLossAndGradient(v, 2, U, sandbox_dataset([1]))
    assert np.allclose(g_center, reference.naiveSoftmaxLossAndGradient(v, 2, U, None)[1])

def test_negative_sampling_draws(submission):
    rng = np.random.default_rng(1)
    v, U = rng.normal(size=3), rng.normal(size=(6, 3))
    submission.negSamplingLossAndGradient(v, 2, U, sandbox_dataset([2, 1, 3, 4, 5], vocab=6), 3)
    assert submission.last.drawn == (4,)
    assert submission.last.mutated == ()

def test_skipgram_with_its_own_pair_function(submission, reference):
    rng = np.random.default_rng(2)
    V, U = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    words = {w: i for i, w in enumerate("abcde")}
    ours = submission.skipgram("c", 1, ["a", "b"], words, V, U, sandbox_dataset([0]), submission.naiveSoftmaxLossAndGradient)
    assert np.allclose(ours[1], reference.skipgram("c", 1, ["a", "b"], words, V, U, None)[1])

def test_a_missing_function_raises(submission):
    with pytest.raises(SubmissionFailed, match="no function named 'softmax2'"):
        submission.softmax2(np.zeros(3))
'''


def test_plugin_runs_staff_tests_against_the_sandboxed_submission(pytester):
    pytester.makepyfile(test_staff=STAFF_TESTS)
    result = pytester.runpytest_subprocess("--submission", str(CORRECT), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_plugin_reports_a_wrong_submission_as_failures(pytester, tmp_path):
    pytester.makepyfile(test_staff=STAFF_TESTS)
    result = pytester.runpytest_subprocess("--submission", str(_wrong_sign(tmp_path)), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)  # the center gradient, and skipgram built on it


def test_plugin_datasets_take_their_sampler_from_the_rubric_or_are_told_it(pytester):
    """No word2vec name in the plugin: a sandbox_dataset's sampler is the one the rubric's functions
    declare (word2vec's models: sampleTokenIdx), or named; a rubric with no dataset asks for the name."""
    pytester.makepyfile(test_staff='''
import numpy as np
import pytest
from gradproof.verify.grade.plugin import SubmissionFailed, sandbox_dataset

def test_a_rubric_without_datasets_asks_for_the_sampler(submission):
    X, y = np.ones((2, 3)), np.array([0, 1])
    with pytest.raises(TypeError, match="needs sampler=NAME .*declare none"):
        submission.softmax_loss_vectorized(sandbox_dataset([1]), X, y, 0.1)
    with pytest.raises(SubmissionFailed):  # named: it crosses (and softmax fails on it, in the sandbox)
        submission.softmax_loss_vectorized(sandbox_dataset([1], sampler="draw"), X, y, 0.1)
''')
    rubric = Path(__file__).parent.parent / "verify" / "grade" / "rubrics" / "softmax-classifier.toml"
    result = pytester.runpytest_subprocess("--submission", str(SUBMISSIONS / "softmax" / "correct.py"),
                                           "--submission-rubric", str(rubric), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_without_a_submission_is_an_error_not_a_green_run(pytester):
    pytester.makepyfile(test_staff=STAFF_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines(["*needs --submission PATH*"])


def test_plugin_takes_keyword_arguments_and_support_files_from_a_rubric(pytester, tmp_path):
    """The course's starter imports helpers from utils/: a rubric's support files go beside it."""
    submission = tmp_path / "sub"
    submission.mkdir()
    (submission / "word2vec.py").write_text("from utils.helpers import double\n" + CORRECT.read_text())
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "__init__.py").write_text("")
    (tmp_path / "utils" / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('support = ["utils"]\n[[test]]\nname = "s"\nfunction = "sigmoid"\n')
    pytester.makepyfile(test_staff='''
import numpy as np
from gradproof.verify.grade.plugin import sandbox_dataset

def test_keyword(submission):
    v, U = np.ones(3), np.eye(6, 3)
    loss, g, G = submission.negSamplingLossAndGradient(v, 2, U, sandbox_dataset([1, 3, 4, 5], vocab=6), K=3)
    assert submission.last.drawn == (3,)
''')
    result = pytester.runpytest_subprocess("--submission", str(submission), "--submission-rubric", str(rubric),
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


ZEROS = '''
import numpy as np

def sigmoid(x):
    return np.zeros(np.shape(x))

def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    return 0.0, np.zeros(centerWordVec.shape), np.zeros(outsideVectors.shape)

def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    return 0.0, np.zeros(centerWordVec.shape), np.zeros(outsideVectors.shape)

def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors, outsideVectors, dataset,
             word2vecLossAndGradient=None):
    return 0.0, np.zeros(centerWordVectors.shape), np.zeros(outsideVectors.shape)
'''


def test_a_submission_that_computes_nothing_scores_nothing(sandbox, tmp_path):
    """Zeros are finite, well shaped and the exact derivative of a zero loss: stability, hygiene and
    self-consistency earn points only for a function with some output right."""
    path = tmp_path / "zeros.py"
    path.write_text(ZEROS)
    result = grade(path, RUBRIC, sandbox, seed=2)
    assert result.score == 0, [(t.name, t.score) for t in result.tests if t.score]
    assert any(t.output.startswith("Not credited") for t in result.tests)


def test_a_worker_killed_from_outside_is_replaced_and_nothing_is_lost(tmp_path):
    import os
    import signal

    with Sandbox(limits=RUBRIC.limits) as box:
        first = grade(CORRECT, RUBRIC, box, seed=1)
        os.killpg(box._zygote.pid, signal.SIGKILL)
        box._zygote.wait()
        again = grade(CORRECT, RUBRIC, box, seed=1)
    assert first.score == again.score == 42


def test_a_worker_that_cannot_start_is_a_grader_failure_not_a_traceback(tmp_path, capsys, monkeypatch):
    from gradproof.verify.grade import sandbox as sandbox_module

    monkeypatch.setattr(sandbox_module, "_clean_env", lambda: {"PATH": "", "PYTHONPATH": str(tmp_path),
                                                                "PYTHONNOUSERSITE": "1", "PYTHONSAFEPATH": "1"})
    (tmp_path / "gradproof").mkdir()  # shadows the real package: `-m gradproof.verify.grade.zygote` fails to start
    (tmp_path / "gradproof" / "__init__.py").write_text("raise SystemExit(3)\n")
    assert main(["grade", str(CORRECT), "--results", str(tmp_path / "r.json")]) == 1
    err = capsys.readouterr().err
    assert "grader failure" in err and "did not start" in err and "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


def test_a_folder_uploaded_whole_is_found_one_level_down(sandbox, tmp_path):
    (tmp_path / "a2").mkdir()
    shutil.copy(CORRECT, tmp_path / "a2" / "word2vec.py")
    (tmp_path / "README.txt").write_text("my submission")
    assert grade(tmp_path, RUBRIC, sandbox, seed=1).score == 42


@pytest.mark.parametrize("files, found", [
    ({}, "it has no Python file"),
    ({"w2v.py": "", "helpers.py": ""}, "found: helpers.py, w2v.py"),
])
def test_a_submission_without_the_file_still_gets_results_that_say_why(files, found, tmp_path, capsys):
    submission = tmp_path / "submission"
    submission.mkdir()
    for name, text in files.items():
        (submission / name).write_text(text)
    results = tmp_path / "results.json"
    assert main(["grade", str(submission), "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    assert gradescope.problems(data) == [] and data["score"] == 0
    assert "no word2vec.py in the submission" in data["output"] and found in data["output"]
    assert all("no word2vec.py in the submission" in t["output"] for t in data["tests"])


def test_a_rerun_regrades_a_changed_submission(tmp_path, sandbox):
    directory, out = _class(tmp_path), tmp_path / "out"
    grade_directory(directory, out, RUBRIC, sandbox)
    _wrong_sign(directory, "alice.py")  # alice resubmits, with a mistake
    again = grade_directory(directory, out, RUBRIC, sandbox)
    assert (again.graded, again.skipped) == (1, 3)
    assert next(r for r in again.rows if r.submission == "alice.py").score < 42


def test_a_rerun_with_another_rubric_or_seed_is_refused_not_mixed(tmp_path, capsys):
    directory, out = _class(tmp_path), tmp_path / "out"
    assert main(["grade", str(directory), "--out", str(out), "--seed", "4"]) == 0
    before = {p.name: p.read_text() for p in out.glob("*.json")}
    capsys.readouterr()
    assert main(["grade", str(directory), "--out", str(out), "--assignment", "word2vec-math"]) == 2
    assert "was graded with another rubric" in capsys.readouterr().err
    assert main(["grade", str(directory), "--out", str(out), "--seed", "5"]) == 2
    assert "was graded with hidden seed 4, not 5" in capsys.readouterr().err
    assert {p.name: p.read_text() for p in out.glob("*.json")} == before
    assert main(["grade", str(directory), "--out", str(out)]) == 0  # resuming needs no --seed


@pytest.mark.parametrize("make, args, message", [
    (lambda t: (t / "out").write_text(""), ["--out", "{t}/out"], "exists and is not a directory"),
    (lambda t: None, ["--out", "{t}/out", "--json"], "--json prints one submission's results"),
])
def test_cli_class_mode_bad_arguments(make, args, message, tmp_path, capsys):
    directory = _class(tmp_path)
    make(tmp_path)
    assert main(["grade", str(directory), *[a.format(t=tmp_path) for a in args]]) == 2
    assert message in capsys.readouterr().err


def test_cli_an_empty_class_is_an_input_error(tmp_path, capsys):
    (tmp_path / "class").mkdir()
    assert main(["grade", str(tmp_path / "class"), "--out", str(tmp_path / "out")]) == 2
    assert "no submissions in it" in capsys.readouterr().err


LOOP = '''
import numpy as np
MARKER = "{marker}"

def sigmoid(x):
    while True:
        pass
'''


def test_interrupting_a_class_run_stops_it_and_leaves_no_process_or_unfair_result(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    import uuid

    def started(pid: str) -> str | None:  # a process's start time: a pid reused later is another process
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[19]
        except (OSError, IndexError):
            return None

    def sandboxed(root: int) -> set[tuple[str, str]]:
        """The worker and every child it forked (they carry its command line), among root's
        descendants only: CI runs two suites at once on one machine."""
        parent = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    parent[pid] = f.read().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                pass
        mine, grown = {str(root)}, True
        while grown:
            more = {pid for pid, up in parent.items() if up in mine} - mine
            mine |= more
            grown = bool(more)
        found = set()
        for pid in mine:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"gradproof.verify.grade.zygote" in f.read() and started(pid):
                        found.add((pid, started(pid)))
            except OSError:
                pass
        return found

    marker = f"gradproof-interrupt-{uuid.uuid4().hex[:10]}"
    directory = tmp_path / "class"
    directory.mkdir()
    for i in range(6):
        (directory / f"s{i}.py").write_text(LOOP.format(marker=marker))
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("timeout = 30\n[[test]]\nname = 'sig'\nfunction = 'sigmoid'\n")
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "gradproof.verify.cli", "grade", str(directory), "--out", str(out),
                                "--rubric", str(rubric)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ready = time.monotonic() + 60  # the worker, the import probe, then two submissions in their 30 s loops
    seen: set[tuple[str, str]] = set()
    while not ((out / "batch.json").is_file() and len(seen) >= 3) and time.monotonic() < ready:
        seen |= sandboxed(process.pid)
        time.sleep(0.1)
    time.sleep(1)
    seen |= sandboxed(process.pid)
    start = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 130 and b"interrupted" in err
    assert time.monotonic() - start < 10  # not after every remaining submission's timeout
    assert not list(out.glob("s*.json"))  # a child killed by the interrupt is not a result
    assert (out / "summary.csv").is_file()
    def alive() -> set[tuple[str, str]]:
        return {(pid, start) for pid, start in seen if started(pid) == start}

    assert len(seen) >= 3  # the worker and two looping children were running when it was interrupted
    deadline = time.monotonic() + 5
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive()  # neither the worker nor a looping child outlives the run


@pytest.mark.parametrize("path", sorted(p for p in (SUBMISSIONS / "mistakes").glob("*.py") if not p.name.startswith("math_")),
                         ids=lambda p: p.name)
def test_the_same_code_gets_the_same_score_on_any_hidden_cases(path, sandbox):
    """Every case has what each mistake needs to show (a repeated sample, two outside words, ...), so
    partial credit does not depend on which cases were drawn: two students with one bug score alike."""
    scores = {grade(path, RUBRIC, sandbox, seed=seed).score for seed in (11, 12, 13, 14)}
    assert len(scores) == 1, scores


def test_plugin_calls_end_at_their_deadline_however_the_reply_trickles(pytester):
    """A submission writing its reply to the channel one byte at a time: the staff test's call fails
    after --submission-timeout, not after a byte's wait each."""
    trickle = pytester.path / "trickle.py"
    trickle.write_text((SUBMISSIONS / "robust" / "trickle.py").read_text().replace("TRICKLE_WHERE", "sigmoid"))
    pytester.makepyfile(test_staff='''
import time
import numpy as np
import pytest
from gradproof.verify.grade.plugin import SubmissionFailed

def test_sigmoid(submission):
    start = time.monotonic()
    with pytest.raises(SubmissionFailed, match="no answer within 1 s"):
        submission.sigmoid(np.zeros(3))
    assert time.monotonic() - start < 5
    assert submission.softmax(np.zeros(2)) == pytest.approx([0.5, 0.5])  # a fresh process takes the next call
''')
    result = pytester.runpytest_subprocess("--submission", str(trickle), "--submission-timeout", "1", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
