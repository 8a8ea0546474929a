"""gradproof verify on files: exit codes, JSON, isolation from crashing and hanging code; report freshness."""
import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

STUDENT = textwrap.dedent('''
    import numpy as np

    def _softmax(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
        y_hat = _softmax(outsideVectors @ centerWordVec)
        delta = y_hat.copy()
        delta[outsideWordIdx] -= 1
        print("student output")
        return -np.log(y_hat[outsideWordIdx]), outsideVectors.T @ delta, np.outer(delta, centerWordVec)

    def off_by_one_entry(centerWordVec, outsideWordIdx, outsideVectors, dataset):
        loss, g_center, g_outside = naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset)
        g_outside[17, 3] += 0.01
        return loss, g_center, g_outside

    def loops_forever(centerWordVec, outsideWordIdx, outsideVectors, dataset):
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)  # TOKEN"])  # a child that must not survive
        while True:
            pass

    def exits(centerWordVec, outsideWordIdx, outsideVectors, dataset):
        import os
        os._exit(3)
''')


@pytest.fixture()
def student(tmp_path):
    """The student file; its sleeping grandchild carries a token of this test run, so that no other
    run on the machine (CI runs two suites at once) is mistaken for it."""
    path = tmp_path / "student.py"
    path.write_text(STUDENT.replace("TOKEN", f"gradproof-hang-{uuid.uuid4().hex[:12]}"))
    return path


def gradproof(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, "-m", "gradproof.verify.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def test_correct_function_passes_with_json(student, tmp_path):
    out = tmp_path / "r.json"
    r = gradproof("verify", f"{student}:naiveSoftmaxLossAndGradient", "--vocab", "800", "--dim", "12", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["passed"] is True and data["target"].endswith(":naiveSoftmaxLossAndGradient")
    assert {c["input"] for c in data["checks"]} == {"gradCenterVec", "gradOutsideVecs"}
    for c in data["checks"]:
        assert {"input", "passed", "method", "max_abs_error", "max_rel_error", "worst"} <= set(c)
    assert {"hygiene", "seconds", "seed", "step", "dtype", "versions"} <= set(data)
    assert "student output" in data["output"]  # captured, not mixed into the report


def test_wrong_entry_exits_1_and_is_named(student):
    r = gradproof("verify", f"{student}:off_by_one_entry", "--signature", "naiveSoftmaxLossAndGradient",
                  "--vocab", "3000", "--dim", "20")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "gradOutsideVecs[17, 3]" in r.stdout


def test_a_hang_is_killed_with_its_children(student):
    r = gradproof("verify", f"{student}:loops_forever", "--signature", "naiveSoftmaxLossAndGradient",
                  "--vocab", "50", "--dim", "4", "--timeout", "3")
    assert r.returncode == 2
    assert "no result after 3 s" in r.stderr and "Traceback" not in r.stderr
    token = re.search(r"gradproof-hang-\w+", student.read_text()).group(0)
    assert not _processes_running(token), "a process started by the target outlived the check"


def _processes_running(fragment: str) -> list[int]:
    """Processes whose command line contains fragment (read from /proc: no pgrep needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if fragment in command and "pytest" not in command:
                found.append(int(entry.name))
    return found


def test_hard_exit_in_the_target_is_reported(student):
    r = gradproof("verify", f"{student}:exits", "--signature", "naiveSoftmaxLossAndGradient", "--vocab", "50", "--dim", "4")
    assert r.returncode == 2 and "exit code 3" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("target, message", [
    ("{student}:nope", "no function named 'nope'"),
    ("{student}", "is not FILE.py:FUNCTION"),
    ("{missing}:f", "no such file"),
    ("{syntax}:f", "syntax error"),
    ("{student}:_softmax", "unknown signature '_softmax'"),
])
def test_targets_that_cannot_be_loaded_exit_2(student, tmp_path, target, message):
    syntax = tmp_path / "broken.py"
    syntax.write_text("def f(:\n")
    spec = target.format(student=student, missing=tmp_path / "missing.py", syntax=syntax)
    r = gradproof("verify", spec)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr
    if "syntax" in message:
        assert "broken.py:1:" in lines[0]  # the location of the error


def test_verify_without_target_checks_every_built_in(tmp_path):
    out = tmp_path / "all.json"
    r = gradproof("verify", "--vocab", "400", "--dim", "8", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    results = json.loads(out.read_text())["results"]
    assert len(results) >= 6 and all(x["passed"] for x in results)


def test_verify_report_is_fresh():
    from gradproof.verify.cli import run_checks
    from gradproof.verify.render import check_markdown

    checks, sizes = run_checks(seed=0)
    fresh = check_markdown(checks, "gradproof run", sizes)
    assert (ROOT / "reports" / "verify.md").read_text() == fresh, "reports/verify.md is stale: run `gradproof run`"


def test_mutation_report_is_fresh():
    from gradproof.verify.mutants import MUTANTS
    from gradproof.verify.mutation import source_hash

    text = (ROOT / "reports" / "mutation.md").read_text()
    assert f"verifier source {source_hash()}" in text, "reports/mutation.md is stale: run `gradproof mutants`"
    sizes = text.count("\n## |V| = ")
    assert sizes == 2, "the report covers both sizes of the issue"
    for m in MUTANTS:  # every mutant caught at every size
        assert sum(line.startswith(f"| {m.name} | **caught** |") for line in text.splitlines()) == sizes, m.name
    for line in text.splitlines():
        if line.startswith("| ") and "x" in line and "seeds" not in line and line.count("|") >= 8 and "function" not in line:
            cells = [c.strip() for c in line.split("|")]
            if cells[1].startswith(("naive", "neg", "skip")):
                assert cells[4] == "0", f"false alarms: {line}"
    # beyond word2vec: a row for every planted bug at both sizes; at the small size every one caught, no
    # false alarm over the seeds and every kink reported (at about 10^6 parameters the report states its
    # own counts: see the closing note for what is still missed there)
    from gradproof.verify.zoo import CASES

    beyond = text.split("\n## Beyond word2vec", 1)[1]
    small, large = beyond.split("### about 10^6 parameters", 1)
    large, seeds_text = large.split("### The correct versions", 1)
    for case in CASES:
        for bug, _ in case.bugs:
            assert f"| {case.name} | " in small and f" | {bug} | **caught** |" in small, (case.name, bug)
            assert any(line.startswith(f"| {case.name} | ") and f" | {bug} | " in line for line in large.splitlines())
    seeds = [line.split("|") for line in seeds_text.splitlines() if "| small |" in line or "| large |" in line]
    assert len(seeds) == 2 * len(CASES)
    for cells in seeds:
        assert int(cells[4]) >= 20, cells
        if cells[2].strip() == "small":
            assert cells[5].strip() == "0", f"false alarms: {cells}"
            assert int(cells[6]) == (int(cells[4]) if "exact kinks" in cells[1] else 0), f"kinks: {cells}"


SEED = "../shared/seed/000_3f2dd21e68b13a25.txt"


def test_seed_check_report_is_fresh(monkeypatch):
    from gradproof.verify.derivation.run import check_document
    from gradproof.verify.render import derivation_markdown

    if not (ROOT / SEED).is_file():
        pytest.skip("the seed derivation is not beside the project")
    monkeypatch.chdir(ROOT)
    fresh = derivation_markdown(check_document(SEED), f"gradproof check {SEED}")
    assert (ROOT / "reports" / "seed-check.md").read_text() == fresh, \
        f"reports/seed-check.md is stale: run `gradproof check {SEED} --markdown reports/seed-check.md`"


# -- verify --model: the inputs a model file declares ------------------------------------------------

CLASSIFIER = textwrap.dedent('''
    import numpy as np

    def softmax_loss_vectorized(W, X, y, reg):
        s = X @ W
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        n = X.shape[0]
        loss = -np.log(p[np.arange(n), y]).mean() + reg * np.sum(W * W)
        p[np.arange(n), y] -= 1
        return loss, X.T @ p / n + 2 * reg * W

    def forgot_factor_two(W, X, y, reg):
        loss, dW = softmax_loss_vectorized(W, X, y, reg)
        return loss, dW - reg * W
''')


def test_verify_with_a_model_draws_its_inputs(tmp_path):
    path = tmp_path / "classifier.py"
    path.write_text(CLASSIFIER)
    good = gradproof("verify", f"{path}:softmax_loss_vectorized", "--model", "softmax-classifier", "--size", "N=30")
    assert good.returncode == 0, good.stdout + good.stderr
    # a function of another name has the model's [function] interface
    bad = gradproof("verify", f"{path}:forgot_factor_two", "--model", "softmax-classifier")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "dW" in bad.stdout and "FAILED" in bad.stdout


def test_verify_a_model_checks_its_generated_functions(tmp_path):
    out = tmp_path / "r.json"
    r = gradproof("verify", "--model", "glove", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert [(x["target"], x["passed"]) for x in json.loads(out.read_text())["results"]] == [("glove", True)]


@pytest.mark.parametrize("args, message", [
    (["derive/reference.py:negSamplingLossAndGradient", "--model", "neg-sampling"], "is not an input of the file"),
    (["--model", "no-such-model"], "unknown model 'no-such-model'"),
    (["x.py:f", "--model", "glove", "--inputs", "a.toml"], "give one"),
    (["--model", "glove", "--size", "Q=3"], "no such size"),
])
def test_verify_model_usage_errors(args, message):
    r = gradproof("verify", *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_command_runs_with_fewer_collections_and_the_thresholds_come_back(monkeypatch):
    """main raises the cyclic collector's thresholds while a command runs (SymPy's many small
    objects) and gives the caller's back afterwards, when the command fails too."""
    import gc

    from gradproof.verify import cli

    seen = []

    def command(args, out):
        seen.append(gc.get_threshold())
        raise cli.UsageError("stop here")

    before = gc.get_threshold()
    monkeypatch.setitem(cli.COMMANDS, "check", command)
    assert cli.main(["check", "whatever.md"]) == cli.EXIT_USAGE
    assert seen == [cli.COLLECT_EVERY] and gc.get_threshold() == before != cli.COLLECT_EVERY


def test_the_command_raises_the_thresholds_before_its_imports(tmp_path):
    """The installed `gradproof` starts at entry.main, which raises the collector's thresholds
    before the toolkit (and SymPy) is imported; they stay raised for the command."""
    from gradproof.derive import toml

    scripts = toml.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["gradproof"] == "gradproof.verify.entry:main"
    probe = textwrap.dedent(f"""
        import gc, sys
        from gradproof.verify import entry
        assert "sympy" not in sys.modules and gc.get_threshold() == (700, 10, 10)
        seen = []
        class Watch:
            def find_spec(self, name, path=None, target=None):
                if name == "sympy":
                    seen.append(gc.get_threshold())
        sys.meta_path.insert(0, Watch())
        sys.argv = ["gradproof", "check", {str(tmp_path / "missing.md")!r}]
        code = entry.main()
        print(code, seen[:1], gc.get_threshold())
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "2 [(50000, 20, 20)] (50000, 20, 20)"
