"""The grader on the machines it meets: Python under a 0700 home (pyenv's under /root on a fresh
machine of the kind CI uses), packages a rubric allows, and a sandbox that cannot import what it
should - which stops grading with one line naming the path and the fix, never a student's zero."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from gradproof.verify.cli import main
from gradproof.verify.grade import imports, rubric as rubrics, sandbox as sandbox_module
from gradproof.verify.grade.batch import grade_directory
from gradproof.verify.grade.grader import GraderError, grade
from gradproof.verify.grade.sandbox import ProbeFailed, Sandbox

SUBMISSIONS = Path(__file__).parent / "submissions"
CORRECT = SUBMISSIONS / "correct.py"
RUBRIC = rubrics.load()
SEED = 5
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="a child of its own user needs a root grader")

SIGMOID_ONLY = dataclasses.replace(RUBRIC, tests=tuple(t for t in RUBRIC.tests if t.function == "sigmoid"))
USES_PACKAGE = '''import numpy as np
import {package}


def sigmoid(x):
    return {package}.sigmoid(x)
'''


def _searchable_by_others(path: str) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in [path] + [str(q) for q in Path(path).parents])


def test_the_standard_library_here_lives_where_it_lives_and_is_imported_through_descriptors():
    """On a fresh machine of this kind the standard library is under /root (0700): the child never
    searches its way there, it starts from a descriptor the worker opened."""
    found = imports.resolve()
    stdlib = os.path.realpath(os.path.dirname(os.__file__))
    assert stdlib in [r.path for r in found.stdlib]
    assert imports.Importable.via(found, stdlib + "/argparse.py").startswith("/proc/self/fd/")
    numpy_dir = dict(found.packages)["numpy"]
    assert found.root_of(numpy_dir) is not None  # numpy, too, is reached through a held descriptor
    if not _searchable_by_others(stdlib):
        assert os.stat("/root").st_mode & 0o777 == 0o700  # the case the issue met: and the tests below pass in it


@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "no-namespaces"])
def test_a_correct_solution_importing_the_handouts_modules_scores_full_marks(namespaces):
    with Sandbox(limits=RUBRIC.limits, namespaces=namespaces) as box:
        result = grade(SUBMISSIONS / "variants" / "handout_imports.py", RUBRIC, box, seed=SEED)
    assert result.score == result.max_score, [(t.name, t.output) for t in result.tests if not t.passed]


@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "no-namespaces"])
def test_an_allowed_package_is_importable_and_the_others_are_named_as_not_allowed(namespaces, tmp_path):
    pytest.importorskip("scipy")
    expit = tmp_path / "expit.py"
    expit.write_text("from scipy.special import expit\n\n\ndef sigmoid(x):\n    return expit(x)\n")
    allowed = dataclasses.replace(SIGMOID_ONLY, packages=("scipy",))
    with Sandbox(limits=RUBRIC.limits, namespaces=namespaces, packages=allowed.packages) as box:
        assert grade(expit, allowed, box, seed=SEED).score == allowed.max_score
    with Sandbox(limits=RUBRIC.limits, namespaces=namespaces) as box:  # scipy not allowed: the student is told
        result = grade(expit, SIGMOID_ONLY, box, seed=SEED)
    assert result.score == 0 and "No module named 'scipy' (while grading, a submission can import the standard " \
                                  "library, numpy, and its own files)" in result.load_error


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A package installed in a home directory no other user may enter (0700), as pyenv's Python is
    under /root; the worker finds it on its path."""
    home = tmp_path / "home"
    site = home / "site"
    (site / "courselib").mkdir(parents=True)
    (site / "courselib" / "__init__.py").write_text("import numpy as np\n\n\ndef sigmoid(x):\n"
                                                    "    return 1 / (1 + np.exp(-x))\n")
    os.chmod(home, 0o700)
    os.chmod(tmp_path, 0o755)
    env = sandbox_module._clean_env()
    monkeypatch.setattr(sandbox_module, "_clean_env", lambda: {**env, "PYTHONPATH": str(site)})
    return site


@root_only
@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "no-namespaces"])
def test_a_package_under_a_0700_home_is_imported(home, tmp_path, namespaces):
    path = tmp_path / "uses.py"
    path.write_text(USES_PACKAGE.format(package="courselib"))
    allowed = dataclasses.replace(SIGMOID_ONLY, packages=("courselib",))
    with Sandbox(limits=RUBRIC.limits, namespaces=namespaces, packages=allowed.packages) as box:
        assert grade(path, allowed, box, seed=SEED).score == allowed.max_score


@root_only
def test_a_sandbox_that_cannot_import_an_allowed_package_does_not_start_and_says_where_and_how(home):
    os.chmod(home / "courselib", 0o700)  # the package itself is unreadable to any other user
    with pytest.raises(ProbeFailed) as failed:
        with Sandbox(limits=RUBRIC.limits, packages=("courselib",)):
            pass
    message = str(failed.value)
    assert "\n" not in message and "cannot import courselib" in message
    assert f"{home / 'courselib'} is not readable" in message and "(mode 700)" in message
    assert f"chmod -R o+rX {home / 'courselib'}" in message


@root_only
def test_the_cli_stops_with_one_line_and_exit_1_when_the_probe_fails(home, tmp_path, capsys):
    os.chmod(home / "courselib", 0o700)
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('packages = ["courselib"]\n[[test]]\nname = "sigmoid"\nfunction = "sigmoid"\n')
    submission = tmp_path / "uses.py"
    submission.write_text(USES_PACKAGE.format(package="courselib"))
    results = tmp_path / "results.json"
    assert main(["grade", str(submission), "--rubric", str(rubric), "--results", str(results)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("gradproof: grader failure: a confined child cannot import courselib") and "\n" not in err
    assert "Traceback" not in err and not results.exists()  # no zero for the student: no results at all


@root_only
def test_an_import_failure_of_the_environment_during_grading_is_a_grader_error_and_a_rerun_regrades_it(home, tmp_path):
    directory = tmp_path / "class"
    directory.mkdir()
    (directory / "alice.py").write_text(USES_PACKAGE.format(package="courselib"))
    shutil.copy(CORRECT, directory / "bob.py")
    allowed = dataclasses.replace(SIGMOID_ONLY, packages=("courselib",), hidden_seed=SEED)
    out = tmp_path / "out"
    with Sandbox(limits=RUBRIC.limits, packages=allowed.packages) as box:
        os.chmod(home / "courselib", 0o700)  # the machine breaks after the probe
        batch = grade_directory(directory, out, allowed, box)
        rows = {r.submission: r for r in batch.rows}
        assert rows["alice.py"].score is None and "grader error" in rows["alice.py"].error
        assert not (out / "alice.json").exists() and rows["bob.py"].score == allowed.max_score
        with pytest.raises(GraderError, match="cannot import"):
            grade(directory / "alice.py", allowed, box, seed=SEED)
    os.chmod(home / "courselib", 0o755)  # fixed: the rerun grades what the environment failed
    with Sandbox(limits=RUBRIC.limits, packages=allowed.packages) as box:
        again = grade_directory(directory, out, allowed, box)
    assert {r.submission: r.score for r in again.rows} == {"alice.py": allowed.max_score, "bob.py": allowed.max_score}
    assert again.graded == 1 and json.loads((out / "alice.json").read_text())["score"] == allowed.max_score


def test_a_submission_that_breaks_its_own_imports_is_not_a_grader_error(tmp_path):
    """Its ImportError names a standard module, but a fresh confined child imports that module: the
    submission broke it (here by emptying sys.path), and it is graded as it is."""
    path = tmp_path / "breaks.py"
    path.write_text("import sys\nsys.path.clear()\nsys.meta_path[:] = sys.meta_path[:3]\nimport fractions\n")
    with Sandbox(limits=RUBRIC.limits) as box:
        result = grade(path, SIGMOID_ONLY, box, seed=SEED)
    assert result.score == 0 and "fractions" in result.load_error


def test_an_allowed_package_that_is_not_installed_is_a_one_line_grader_failure():
    with pytest.raises(sandbox_module.SandboxError, match=r"the rubric allows no_such_package_x, which .* cannot import"):
        with Sandbox(limits=RUBRIC.limits, packages=("no_such_package_x",)):
            pass
    assert "\n" not in str(sys.exc_info()[1] or "")


def test_results_name_the_gradproof_that_graded_them(tmp_path):
    import importlib.metadata

    results = tmp_path / "results.json"
    assert main(["grade", str(CORRECT), "--results", str(results)]) == 0
    assert json.loads(results.read_text())["extra_data"]["gradproof"]["version"] == importlib.metadata.version("gradproof")
