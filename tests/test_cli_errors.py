"""Every command, fed bad values: one line on standard error naming what is wrong, exit 2,
never a traceback, and nothing written."""
import pytest

from gradproof.verify.cli import main

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
CORRECT = str(ROOT / "tests" / "submissions" / "correct.py")


@pytest.fixture()
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "binary.toml").write_bytes(b"\x00\x01\xff\xfe")
    (tmp_path / "listed.toml").write_text('[sizes]\nW = 3\n[symbols]\nv = ["vector"]\n')
    (tmp_path / "broken.toml").write_text("[sizes]\nV = \n")
    (tmp_path / "doc.md").write_text("$$ J = v^\\top v $$\n")
    (tmp_path / "a_file").write_text("")
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "one.py").write_text((ROOT / "tests" / "submissions" / "correct.py").read_text())
    return tmp_path


BAD = [
    # derive
    (["derive", "--model", "absent.toml"], "absent.toml"),
    (["derive", "--model", "binary.toml"], "not a text file"),
    (["derive", "--model", "broken.toml"], "line 2"),
    (["derive", "--model", "a_dir"], "a_dir"),
    (["derive", "--jobs", "0"], "must be positive"),
    (["derive", "--jobs", "two"], "not a whole number"),
    (["derive", "--model", "glove", "--json", "a_file/x.json"], "not a directory"),
    # generate
    (["generate", "--output", "x.py"], "--output needs --model"),
    (["generate", "--model", "glove", "--output", "a_dir"], "a directory"),
    (["generate", "--model", "binary.toml"], "not a text file"),
    # run
    (["run", "--reports", "a_file"], "not a directory"),
    # verify
    (["verify", "--seed", "-1"], "a seed is a number from 0 up"),
    (["verify", "--seed", "x"], "whole number"),
    (["verify", "--vocab", "0"], "must be positive"),
    (["verify", "--timeout", "0"], "must be positive"),
    (["verify", "absent.py:f"], "absent.py"),
    (["verify", f"{CORRECT}:naiveSoftmaxLossAndGradient", "--inputs", "binary.toml"], "not a text file"),
    (["verify", f"{CORRECT}:naiveSoftmaxLossAndGradient", "--size", "N=3"], "give --inputs"),
    (["verify", "--model", "nope"], "unknown model"),
    (["verify", "--json", "a_dir"], "a directory"),
    # check
    (["check", "absent.md"], "absent.md"),
    (["check", "binary.toml"], "binary"),
    (["check", "doc.md", "--notation", "binary.toml"], "not a text file"),
    (["check", "doc.md", "--notation", "listed.toml"], "listed.toml"),
    (["check", "doc.md", "--notation", "broken.toml"], "line 2"),
    (["check", "doc.md", "--trials", "0"], "must be positive"),
    (["check", "doc.md", "--markdown", "a_file/r.md"], "not a directory"),
    # mutants
    (["mutants", "--sizes", "1x1"], "at least 2"),
    (["mutants", "--sizes", "abc"], "expected sizes"),
    (["mutants", "--zoo-sizes", "huge"], "expected small, large or none"),
    (["mutants", "--seeds", "0"], "must be positive"),
    (["mutants", "--report", "a_dir"], "a directory"),
    # bench
    (["bench", "--markdown", "a_file/x.md"], "not a directory"),
    (["bench", "--json", "a_dir"], "a directory"),
    # grade
    (["grade", CORRECT, "--seed", "-1"], "a seed is a number from 0 up"),
    (["grade", CORRECT, "--rubric", "binary.toml"], "not a text file"),
    (["grade", CORRECT, "--rubric", "broken.toml"], "line 2"),
    (["grade", CORRECT, "--assignment", "nope"], "unknown assignment"),
    (["grade", "absent.py"], "absent.py"),
    (["grade", "class/one.py", "--results", "class/one.py"], "overwrite"),
    (["grade", "class", "--results", "class/results.json"], "overwrite"),
    (["grade", "class", "--out", "a_file"], "not a directory"),
    (["grade", "class", "--jobs", "0", "--out", "o"], "must be positive"),
    (["grade", CORRECT, "--out", "o"], "not a directory"),
    # no command, an unknown one
    ([], "required"),
    (["prove"], "invalid choice"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a).replace(CORRECT, "correct.py") or "none"
                                                    for a, _ in BAD])
def test_bad_input_is_one_line_exit_2(files, capsys, argv, message):
    before = sorted(p.name for p in files.rglob("*"))
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradproof: error: "), captured.err
    assert message in lines[0], lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert sorted(p.name for p in files.rglob("*")) == before  # nothing written, nothing lost


def test_version_names_gradproof_and_its_dependencies(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("gradproof ") and "Python" in line and "numpy" in line and "sympy" in line


def test_dash_writes_the_file_to_standard_output(files, capsys):
    import json

    assert main(["derive", "--model", "logistic-regression", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["claims"]  # stdout is the JSON alone; the table went to stderr
    assert "logistic" in captured.err


def test_a_notation_without_the_skipgram_sizes_is_no_traceback(files, capsys):
    """A notation naming none of the skip-gram exercise's sizes (W, N) once gave KeyError: 'W'."""
    (files / "sizes.toml").write_text('[sizes]\nD = 3\n[symbols.v]\nrole = "vector"\nshape = ["D"]\n')
    code = main(["check", "doc.md", "--notation", "sizes.toml"])
    captured = capsys.readouterr()
    assert code in (0, 1, 3) and "Traceback" not in captured.err + captured.out
