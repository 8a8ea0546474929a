"""`gradproof gradescope`: the zip Gradescope takes, unpacked into a fake /autograder layout,
grades a submission: the wheel it carries is installed (without its dependencies, which the
test environment has) and run_autograder writes results/results.json."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gradproof.verify.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    where = tmp_path_factory.mktemp("gradescope")
    zip_path = where / "autograder.zip"
    assert main(["gradescope", "--output", str(zip_path)]) == 0
    root = where / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root / "source")
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
    for name in ("setup.sh", "run_autograder"):
        os.chmod(root / "source" / name, modes[name])  # extractall drops modes; unzip (Gradescope's) keeps them
    (root / "run_autograder").write_bytes((root / "source" / "run_autograder").read_bytes())
    os.chmod(root / "run_autograder", 0o755)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root, modes


def test_zip_has_the_scripts_executable_the_wheel_and_the_rubric(autograder):
    root, modes = autograder
    wheels = [n for n in modes if n.endswith(".whl")]
    assert len(wheels) == 1 and wheels[0].startswith("gradproof-")
    assert modes["setup.sh"] == 0o755 and modes["run_autograder"] == 0o755
    assert "assignment/word2vec.toml" in modes
    for script in ("setup.sh", "run_autograder"):
        text = (root / "source" / script).read_text()
        assert text.startswith("#!/usr/bin/env bash\n")  # without it Gradescope fails with Exec format error
        assert subprocess.run(["bash", "-n", str(root / "source" / script)]).returncode == 0
    assert wheels[0] in (root / "source" / "setup.sh").read_text()


@pytest.mark.parametrize("submission, score", [("correct.py", 42.0), ("mistakes/center_sign.py", None)])
def test_run_autograder_grades_a_submission_in_the_fake_layout(autograder, tmp_path, submission, score):
    root, modes = autograder
    source = ROOT / "tests" / "submissions" / submission
    if not source.exists():
        pytest.skip(f"{submission} is not among the planted mistakes")
    site = tmp_path / "site"
    wheel = next(root.joinpath("source").glob("gradproof-*.whl"))
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--target", str(site), str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for old in (root / "submission").iterdir():
        old.unlink()
    (root / "submission" / "word2vec.py").write_text(source.read_text())
    results = root / "results" / "results.json"
    results.unlink(missing_ok=True)
    env = {**os.environ, "GRADPROOF_PYTHON": sys.executable, "PYTHONPATH": str(site)}
    run = subprocess.run([str(root / "run_autograder")], capture_output=True, text=True, env=env, timeout=600,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(results.read_text())
    graded_by = data["extra_data"]["gradproof"]
    assert graded_by["version"] and graded_by["rubric"] == "word2vec"
    if score is not None:
        assert data["score"] == score
    else:
        assert data["score"] < 42.0


def test_a_support_file_outside_the_rubric_folder_is_refused(tmp_path, capsys):
    (tmp_path / "course").mkdir()
    (tmp_path / "utils.py").write_text("")
    rubric = (ROOT / "verify" / "grade" / "rubrics" / "word2vec.toml").read_text()
    rubric = rubric.replace("support = []", 'support = ["../utils.py"]')
    (tmp_path / "course" / "rubric.toml").write_text(rubric)
    assert main(["gradescope", "--rubric", str(tmp_path / "course" / "rubric.toml"),
                 "--output", str(tmp_path / "a.zip")]) == 2
    assert "outside the rubric's folder" in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()


def test_setup_installs_the_distributions_of_the_allowed_modules_pinned(tmp_path):
    from gradproof.verify.grade.autograder import AutograderError, distributions
    import importlib.metadata

    assert distributions(("numpy",)) == (f"numpy=={importlib.metadata.version('numpy')}",)
    with pytest.raises(AutograderError, match="not installed here"):
        distributions(("no_such_module_here",))
