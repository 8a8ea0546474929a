"""The grader under attack.  Each submission in submissions/robust/ does one thing a hostile (or
careless) student's word2vec.py might do; each test says what the grader must still do: finish
(grade returns, the CLI exits 0), score fairly (nothing for what the attack touches, everything
for what it does not), say why in words a student understands, lose no result, and leave no
process and no file of the submission behind.

The messages asserted are the audit hook's, which are the same whether or not the OS lets the
sandbox use namespaces (as root here, as an unprivileged user in CI); where the OS layers
differ the Grade's `confinement` says which applied.
"""
from __future__ import annotations

import dataclasses
import dis
import json
import os
import re
import shutil
import subprocess
import time
import types
import uuid
from pathlib import Path

import pytest

import gradproof.derive.reference
from gradproof.verify.cli import main
from gradproof.verify.grade import confine, gradescope, rubric as rubrics
from gradproof.verify.grade.batch import grade_directory
from gradproof.verify.grade.grader import grade
from gradproof.verify.grade.results import Grade
from gradproof.verify.grade.sandbox import Sandbox

SUBMISSIONS = Path(__file__).parent / "submissions"
ROBUST = SUBMISSIONS / "robust"
CORRECT = SUBMISSIONS / "correct.py"
RUBRIC = rubrics.load()
QUICK = dataclasses.replace(RUBRIC, timeout=1.0)  # for the attacks that make a call hang
SEED = 3
REFERENCE = os.path.realpath(gradproof.derive.reference.__file__)

SIG, NS, NEG, SG = "sigmoid", "naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient", "skipgram"


@pytest.fixture(scope="module", params=[True, False], ids=["namespaces", "no-namespaces"])
def sandbox(request):
    """Every attack twice: with the namespaces this OS allows, and without any (as under Docker's
    default seccomp profile), where the audit hook, nobody and the rlimits have to hold alone."""
    with Sandbox(limits=RUBRIC.limits, namespaces=request.param) as box:
        yield box


# -- helpers ----------------------------------------------------------------------------------------


def submission(name: str, tmp_path: Path, **fill: str) -> Path:
    """The attack's file; with fill, a copy with each placeholder replaced (a path, a unique marker)."""
    path = ROBUST / name
    if not fill:
        return path
    text = path.read_text()
    for placeholder, value in fill.items():
        assert placeholder in text, placeholder
        text = text.replace(placeholder, value)
    copy = tmp_path / name
    copy.write_text(text)
    return copy


def graded(sandbox: Sandbox, path: Path, rubric=RUBRIC) -> Grade:
    """Grade, and check the grade adds up and nothing of the submission outlived it."""
    result = grade(path, rubric, sandbox, seed=SEED)
    assert isinstance(result, Grade)
    assert len(result.tests) == len(rubric.tests)
    assert result.score == pytest.approx(sum(t.score for t in result.tests))
    assert all(0 <= t.score <= t.max_score for t in result.tests)
    if not (result.load_error or "").startswith("the submission ended the process while being imported"):
        assert result.confinement.get("audit_hook") is True, result.confinement  # else it never said
    nothing_left(sandbox)
    return result


def nothing_left(sandbox: Sandbox) -> None:
    """No process descended from the worker and no working directory may remain once grading is over
    (a killed child may take a moment to go)."""
    deadline = time.monotonic() + 5
    while True:
        alive, files = descendants(sandbox._zygote.pid), os.listdir(sandbox._base)
        if not alive and not files:
            return
        assert time.monotonic() < deadline, f"left behind: processes {alive}, working directories {files}"
        time.sleep(0.02)


def _processes() -> dict[int, int]:
    """pid -> parent pid, for every process we can see."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(pid: int) -> list[int]:
    parents = _processes()
    found, frontier = [], {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier}
        found += sorted(frontier)
    return found


def survivors(marker: str) -> list[str]:
    """Every process whose command line carries marker."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(entry + ": " + cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def of(result: Grade, function: str, rubric=RUBRIC) -> list:
    """The results of function's tests."""
    return [r for t, r in zip(rubric.tests, result.tests) if t.function == function]


def untouched(result: Grade, *functions: str) -> None:
    """Full marks for every test of these functions."""
    for function in functions:
        for r in of(result, function):
            assert r.passed and r.score == r.max_score, (r.name, r.output)


def lost(result: Grade, function: str, *words: str) -> None:
    """No point for any test of function, and the words in each test that ran its cases."""
    for r in of(result, function):
        assert r.score == 0 and not r.passed, r.name
        if "Passed 0 of" in r.output or "Not run" in r.output:
            for word in words:
                assert word in r.output, (r.name, word, r.output)


def unique() -> str:
    return f"gradproof-robust-{uuid.uuid4().hex[:12]}"


# -- the file cannot be used -------------------------------------------------------------------------


def test_a_syntax_error_scores_0_and_names_the_line(sandbox):
    result = graded(sandbox, ROBUST / "syntax_error.py")
    assert result.score == 0
    assert result.load_error == "syntax_error.py, line 5: syntax error: expected ':'"
    assert all("could not be imported" in t.output and "line 5" in t.output for t in result.tests)
    assert "could not be imported" in result.output


def test_importing_a_missing_module_scores_0_and_names_the_module(sandbox):
    result = graded(sandbox, ROBUST / "import_missing.py")
    assert result.score == 0
    assert "ModuleNotFoundError: No module named 'utils'" in result.load_error
    assert "import_missing.py, line 4" in result.load_error


def test_a_missing_function_costs_only_its_own_tests(sandbox):
    result = graded(sandbox, ROBUST / "missing_function.py")
    lost(result, NEG, "no function named 'negSamplingLossAndGradient'")
    untouched(result, SIG, NS, SG)
    assert "function missing" in result.diagnoses


def test_a_wrong_signature_costs_only_that_function_and_says_so(sandbox):
    result = graded(sandbox, ROBUST / "wrong_signature.py")
    lost(result, NS, "naiveSoftmaxLossAndGradient() takes 3 positional arguments but 4 were given")
    untouched(result, SIG, NEG, SG)


# -- resources ------------------------------------------------------------------------------------------


def test_an_infinite_loop_costs_only_that_function_and_one_timeout(sandbox):
    result = graded(sandbox, ROBUST / "infinite_loop.py", QUICK)
    lost(result, NEG, "no answer within 1 s")
    untouched(result, SIG, NS, SG)
    gradient = next(r for r in of(result, NEG) if "gradient agrees" in r.name)
    assert gradient.output.startswith("Not run")  # not one more timeout per finite difference
    assert result.seconds < 8  # one timeout waited for, not one per case


def test_a_memory_bomb_costs_only_that_function(sandbox):
    result = graded(sandbox, ROBUST / "memory_bomb.py")
    untouched(result, SIG, NEG, SG)
    for r in of(result, NS):
        assert r.score == 0
    values = of(result, NS)[0]
    assert "MemoryError" in values.output or "resource limit such as memory" in values.output, values.output


def test_starting_processes_is_refused_and_nothing_survives(sandbox, tmp_path):
    marker = unique()
    result = graded(sandbox, submission("fork_flood.py", tmp_path, GRADPROOF_MARKER=marker))
    for function in (SIG, NS, NEG):  # os.fork, subprocess, multiprocessing
        lost(result, function, "starting processes is not allowed while grading")
    untouched(result, SG)
    assert survivors(marker) == []


# -- output ---------------------------------------------------------------------------------------------


def test_huge_output_is_truncated_and_costs_nothing(sandbox):
    result = graded(sandbox, ROBUST / "huge_output.py")
    assert result.score == result.max_score == 42  # the values are right: printing costs nothing
    assert "```text\n" + "x" * 500 in result.output  # what it printed at import, fenced and cut short
    assert len(result.output) < 3000
    data = gradescope.results_json(result, RUBRIC.assignment)
    assert len(json.dumps(data)) < 50_000 and gradescope.problems(data) == []


def test_sys_exit_at_import_scores_0_and_says_so(sandbox):
    result = graded(sandbox, ROBUST / "sys_exit_import.py")
    assert result.score == 0
    assert result.load_error == "sys_exit_import.py: the module called sys.exit(0) while being imported"


def test_os_exit_at_import_scores_0_and_says_so(sandbox):
    result = graded(sandbox, ROBUST / "os_exit_import.py")
    assert result.score == 0
    assert "ended the process while being imported (os._exit" in result.load_error


def test_exiting_inside_a_function_costs_only_that_function(sandbox):
    result = graded(sandbox, ROBUST / "exit_in_function.py")
    lost(result, NS, "the submission's process ended during the call (os._exit")
    lost(result, NEG, "the function called sys.exit(0)")
    untouched(result, SIG, SG)  # a fresh process took the calls after each exit


def test_a_process_that_kills_itself_still_gets_a_results_file(tmp_path, capsys):
    results = tmp_path / "results.json"
    assert main(["grade", str(ROBUST / "os_exit_import.py"), "--results", str(results), "--seed", str(SEED)]) == 0
    data = json.loads(results.read_text())
    assert gradescope.problems(data) == [] and data["score"] == 0
    assert "os._exit" in data["extra_data"]["gradproof"]["load_error"]


# -- the score --------------------------------------------------------------------------------------------


def test_forged_results_files_do_not_change_the_score(tmp_path, capsys):
    results = tmp_path / "out" / "grade.json"  # the forger also tries results.json beside it
    results.parent.mkdir()
    results.write_text('{"score": 999}')  # a stale file from an earlier run: the grader replaces it
    autograder = Path("/autograder/results/results.json")
    before = autograder.read_bytes() if autograder.exists() else None
    path = submission("forge_results.py", tmp_path, RESULTS_PATH=str(results))
    assert main(["grade", str(path), "--results", str(results), "--seed", str(SEED)]) == 0
    data = json.loads(results.read_text())
    assert gradescope.problems(data) == []
    assert data["score"] == 42 and all(t["status"] == "passed" for t in data["tests"])
    assert "999" not in results.read_text()
    assert sorted(p.name for p in results.parent.iterdir()) == ["grade.json"]
    assert (autograder.read_bytes() if autograder.exists() else None) == before


def test_json_printed_on_stdout_is_ignored(sandbox, tmp_path, capsys):
    results = tmp_path / "results.json"
    path = ROBUST / "fake_stdout_json.py"
    assert main(["grade", str(path), "--results", str(results), "--seed", str(SEED)]) == 0
    data = json.loads(results.read_text())
    assert [t["name"] for t in data["tests"]] == [t.name for t in RUBRIC.tests]
    assert data["stdout_visibility"] == "hidden" and data["output"].startswith(f"**Score: {data['score']:g} / 42**")
    quiet = tmp_path / "quiet.py"  # the same code without the prints scores the same
    quiet.write_text("\n".join(line for line in path.read_text().splitlines() if "print(" not in line) + "\n")
    assert data["score"] == graded(sandbox, quiet).score < 42
    for test, written in zip(RUBRIC.tests, data["tests"]):
        if test.function == NS and test.check == "values":  # it returns zeros, whatever it prints
            assert written["score"] == 0, written["name"]
    printed = next(t for t in data["tests"] if t["name"] == f"{NS}: loss")["output"]
    assert '```text\n{"score": 42' in printed  # shown to the student as text, never read as results


def test_monkeypatched_numpy_scores_0_on_every_value(sandbox):
    result = graded(sandbox, ROBUST / "monkeypatch_numpy.py")
    for test, r in zip(RUBRIC.tests, result.tests):
        if test.check == "values":
            assert r.score == 0, r.name
            # the zeros it returned, shown as they are (or, for negative sampling, the draws it never made)
            assert re.search(r"public case 1: \S+ is `\[*0\.", r.output) or "drew 0 samples" in r.output, r.output
    assert result.score < 42 - sum(t.points for t in RUBRIC.tests if t.check == "values")


def test_spoofed_arrays_are_judged_on_their_numbers(sandbox):
    result = graded(sandbox, ROBUST / "spoofed_arrays.py")
    values = of(result, SIG)[0]
    assert values.score == 0 and "sigmoid(x) is all zeros" in values.output  # whatever its __eq__ said
    for r in of(result, NS):
        assert r.score == 0, r.name
    assert "loss is `Anything`, not an array of numbers" in of(result, NS)[0].output
    untouched(result, NEG, SG)  # the right numbers count, whatever class they come in


def test_mutated_inputs_fail_hygiene_only_and_are_named(sandbox):
    result = graded(sandbox, ROBUST / "mutates_inputs.py")
    hygiene = [r for r in of(result, NS) if "inputs left unchanged" in r.name]
    assert len(hygiene) == 1 and hygiene[0].score == 0
    assert "the function changed its input centerWordVec, outsideVectors in place" in hygiene[0].output
    assert "inputs changed in place" in result.diagnoses
    assert result.score == result.max_score - hygiene[0].max_score  # values judged on the grader's own copies
    untouched(result, SIG, NEG, SG)


# -- the grader's own code --------------------------------------------------------------------------------


def test_the_reference_cannot_be_imported(sandbox, tmp_path):
    path = submission("reference_import.py", tmp_path, REFERENCE_PATH=REFERENCE)
    result = graded(sandbox, path)
    assert result.score == 0
    lines = path.read_text().splitlines()

    def line(code: str) -> str:  # where the feedback should point
        return f"line {lines.index('    ' + code) + 1}: {code}"
    own = "importing the grader's own package"
    lost(result, SIG, f"{own} 'gradproof.derive' is not allowed", line("from gradproof.derive import reference"))
    lost(result, NS, f"{own} 'gradproof.derive.reference' is not allowed", line("import gradproof.derive.reference"))
    lost(result, NEG, "reading the grader's files is not allowed while grading")  # found from numpy's location
    lost(result, SG, "reading the grader's files is not allowed while grading")   # the path written in
    assert "frozen" not in of(result, NEG)[0].output  # the submission's line is named, not importlib's


def test_the_reference_cannot_be_read(sandbox, tmp_path):
    result = graded(sandbox, submission("reference_read.py", tmp_path, REFERENCE_PATH=REFERENCE))
    assert result.score == 0
    lost(result, SIG, "reading the grader's files is not allowed while grading")
    lost(result, NS, "reading the grader's files is not allowed while grading")
    lost(result, NEG, "opening a file by a path object (pass the path as a str) is not allowed")
    lost(result, SG, "loading native code (ctypes) is not allowed while grading")
    if "mount" in result.confinement["namespaces"]:  # and under the hook, the OS has it hidden too
        assert os.path.dirname(REFERENCE) in result.confinement["hidden"]


def test_the_network_is_refused_with_a_clear_message(sandbox):
    result = graded(sandbox, ROBUST / "network.py")
    lost(result, SIG, "network access is not allowed while grading")  # socket.create_connection
    lost(result, NS, "URLError", "network access is not allowed while grading")  # urllib
    lost(result, NEG, "network access is not allowed while grading")  # DNS
    untouched(result, SG)


def test_writing_outside_the_working_directory_is_refused(sandbox, tmp_path):
    marker = unique()
    result = graded(sandbox, submission("outside_files.py", tmp_path, MARKER=marker.removeprefix("gradproof-robust-")))
    lost(result, SIG, "writing outside the working directory is not allowed")
    lost(result, NS, "opening a directory outside the working directory is not allowed")  # then dir_fd=
    lost(result, NEG, "opening a file by a path object")
    untouched(result, SG)  # its own directory is its to write
    assert list(Path("/tmp").glob(f"{marker}*")) == []


def test_paths_that_only_look_local_are_refused(sandbox, tmp_path):
    marker = unique()
    result = graded(sandbox, submission("path_tricks.py", tmp_path, MARKER=marker.removeprefix("gradproof-robust-")))
    lost(result, SIG, "changing the working directory is not allowed")  # then ../.. with dir_fd=
    lost(result, NS, "creating symbolic links is not allowed")
    lost(result, NEG, "opening a directory outside the working directory is not allowed")  # /proc/self/root
    untouched(result, SG)
    assert list(Path("/tmp").glob(f"{marker}*")) == []


def test_symbolic_links_in_a_submission_are_not_followed(sandbox, tmp_path):
    secret, solution = unique(), unique()
    (tmp_path / "secret.txt").write_text(secret)
    (tmp_path / "secret.txt").chmod(0o600)  # only the grader's user may read it
    (tmp_path / "instructor").mkdir()
    (tmp_path / "instructor" / "solution.txt").write_text(solution)
    directory = tmp_path / "student"
    directory.mkdir()
    shutil.copy(ROBUST / "symlinks.py", directory / "word2vec.py")
    (directory / "secret.txt").symlink_to(tmp_path / "secret.txt")
    (directory / "source").symlink_to(tmp_path / "instructor", target_is_directory=True)
    result = graded(sandbox, directory)
    assert result.score == 42, result.load_error  # it found nothing to read
    text = json.dumps(gradescope.results_json(result, RUBRIC.assignment))
    assert secret not in text and solution not in text
    assert (tmp_path / "secret.txt").stat().st_uid == os.getuid()  # not handed to the sandbox's user


def test_a_submission_file_that_is_a_symbolic_link_is_not_graded(sandbox, tmp_path):
    link = tmp_path / "word2vec.py"
    link.symlink_to(CORRECT)  # a student's "submission" pointing at someone else's solution
    result = graded(sandbox, link)
    assert result.score == 0
    assert result.load_error == "word2vec.py: not in the submission (a symbolic link is not followed)"


def test_the_audit_hook_cannot_be_switched_off(sandbox, tmp_path):
    marker = unique()
    result = graded(sandbox, submission("hook_tamper.py", tmp_path, MARKER=marker.removeprefix("gradproof-robust-")))
    lost(result, SIG, "writing outside the working directory is not allowed")  # builtins, os.path patched
    lost(result, NS, "inspecting the interpreter's objects is not allowed")   # gc, to reach the hook
    lost(result, NEG, "writing outside the working directory is not allowed")  # a str subclass as the path
    untouched(result, SG)
    assert list(Path("/tmp").glob(f"{marker}*")) == []


def test_the_audit_hook_looks_up_no_name_when_it_runs():
    """Why patching builtins or os.path cannot blind it: every function the hook calls was bound when
    it was made (a name looked up at call time would be one the submission can replace)."""
    hook = confine.audit_hook(str(Path.cwd()), [os.path.dirname(REFERENCE)])
    names, seen, todo = set(), set(), [hook]
    while todo:
        function = todo.pop()
        codes = [function.__code__]
        while codes:
            code = codes.pop()
            names |= {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
            codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
        for cell in function.__closure__ or ():
            value = cell.cell_contents
            if isinstance(value, types.FunctionType) and value not in seen:
                seen.add(value)
                todo.append(value)
    assert names == set()


def test_a_submission_cannot_read_the_one_graded_before_it(sandbox, tmp_path):
    victim = tmp_path / f"victim_{uuid.uuid4().hex[:12]}.py"
    shutil.copy(CORRECT, victim)
    assert graded(sandbox, victim).score == 42
    result = graded(sandbox, submission("snoop.py", tmp_path, VICTIM_NAME=victim.name))
    assert result.score == 42, of(result, SIG)[0].output  # it found nothing to copy


def test_a_submission_cannot_find_where_the_class_is(sandbox, tmp_path):
    result = graded(sandbox, submission("class_finder.py", tmp_path, ORIGIN_DIR=str(tmp_path)))
    untouched(result, SIG, NEG, SG)  # no frame above it, nor sys.argv, holds the grader's paths
    if "/proc" in result.confinement["hidden"]:  # its own PID namespace and /proc: no other process to see
        untouched(result, NS)


# -- a class ------------------------------------------------------------------------------------------------


def test_a_class_of_attacks_loses_no_result(sandbox, tmp_path):
    directory, out = tmp_path / "class", tmp_path / "out"
    directory.mkdir()
    marker = unique()
    shutil.copy(CORRECT, directory / "alice.py")
    for name in ("syntax_error.py", "os_exit_import.py", "infinite_loop.py", "memory_bomb.py", "huge_output.py"):
        shutil.copy(ROBUST / name, directory / name)
    (directory / "fork_flood.py").write_text((ROBUST / "fork_flood.py").read_text().replace("GRADPROOF_MARKER", marker))
    # the forger goes for a classmate's results file
    (directory / "forge_results.py").write_text(
        (ROBUST / "forge_results.py").read_text().replace("RESULTS_PATH", str(out / "alice.json")))
    batch = grade_directory(directory, out, dataclasses.replace(QUICK, hidden_seed=SEED), sandbox, jobs=2)
    names = sorted(p.name for p in directory.iterdir())
    assert sorted(r.submission for r in batch.rows) == names and all(r.error is None for r in batch.rows)
    scores = {}
    for name in names:
        data = json.loads((out / f"{Path(name).stem}.json").read_text())
        assert gradescope.problems(data) == [], name
        scores[name] = data["score"]
    assert scores["alice.py"] == scores["forge_results.py"] == scores["huge_output.py"] == 42
    assert scores["syntax_error.py"] == scores["os_exit_import.py"] == 0
    assert 0 < scores["infinite_loop.py"] < 42 and 0 < scores["memory_bomb.py"] < 42
    assert (out / "summary.csv").read_text().count("\n") == len(names) + 1
    assert survivors(marker) == []
    nothing_left(sandbox)


# -- found by a security review: the channel, the grader's memory, the disk ---------------------------


def test_a_handmade_reply_with_an_overflowing_shape_is_garbage_not_a_crash(sandbox):
    result = graded(sandbox, ROBUST / "wire_crash.py")  # it defines sigmoid only
    lost(result, SIG, "sent garbage")


def test_a_deeply_nested_header_written_at_import_is_garbage_not_a_crash(sandbox):
    result = graded(sandbox, ROBUST / "wire_recursion.py")
    assert result.score == 0 and result.load_error


def test_replies_far_bigger_than_the_inputs_are_refused_before_they_are_read(sandbox):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = graded(sandbox, ROBUST / "parent_memory.py")
    assert result.score == 0
    assert any("the limit for this reply is" in t.output for t in result.tests)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 300_000  # KiB: never 24 x 256 MiB


def test_thousands_of_nested_directories_are_still_removed(sandbox):
    result = graded(sandbox, ROBUST / "deep_dirs.py")  # it defines sigmoid only, correctly
    untouched(result, SIG)  # graded normally; and graded() checked that the directory is gone


def test_a_fifo_in_a_submission_is_skipped_and_the_class_run_goes_on(sandbox, tmp_path):
    from gradproof.verify.grade.batch import grade_directory

    directory = tmp_path / "class"
    (directory / "alice").mkdir(parents=True)
    shutil.copy(CORRECT, directory / "alice" / "word2vec.py")
    os.mkfifo(directory / "alice" / "pipe")
    shutil.copy(CORRECT, directory / "bob.py")
    batch = grade_directory(directory, tmp_path / "out", RUBRIC, sandbox)
    assert [(r.submission, r.score) for r in batch.rows] == [("alice", 42), ("bob.py", 42)]


def test_with_the_audit_hook_rewritten_in_memory_the_kernel_still_refuses(sandbox, tmp_path):
    """numpy's __array_interface__ reaches any address: the submission rewrites the strings the hook
    checks against.  Landlock and seccomp, which no write to the process reaches, still refuse."""
    derive_dir = os.path.dirname(REFERENCE)
    written = "/tmp/" + unique()[-4:]  # as long as "/dev/null", so it can be patched in place
    assert len(written) == len("/dev/null")
    result = graded(sandbox, submission("hook_bypass_memory.py", tmp_path, DERIVE_DIR=derive_dir, WRITTEN_FILE=written))
    if not (result.confinement.get("landlock") and result.confinement.get("seccomp")):
        pytest.skip("this kernel offers no Landlock or seccomp: the namespaces alone hold (see the README)")
    printed = result.output
    assert "patched" in printed
    assert "reference.py: PermissionError" in printed
    assert "network: PermissionError" in printed
    assert "write: PermissionError" in printed and not os.path.exists(written)
    assert "fork: PermissionError" in printed


def test_a_stray_copy_of_the_reference_elsewhere_cannot_be_read(sandbox, tmp_path):
    """Only the standard library, numpy and system directories are readable: a copy of the toolkit in
    a build directory or another virtual environment is not."""
    stray = tmp_path / "build" / "lib" / "derive"
    stray.mkdir(parents=True)
    shutil.copy(REFERENCE, stray / "reference.py")
    os.chmod(tmp_path, 0o755)
    code = f"""
import numpy as np
try:
    exec(open({str(stray / 'reference.py')!r}).read())
except Exception as e:
    print("refused:", type(e).__name__)
"""
    path = tmp_path / "word2vec.py"
    path.write_text(code)
    result = graded(sandbox, path)
    if not result.confinement.get("landlock"):
        pytest.skip("this kernel offers no Landlock")
    assert result.score == 0 and "refused: PermissionError" in result.output


def test_filling_the_disk_stops_at_the_childs_own_small_disk(sandbox):
    result = graded(sandbox, ROBUST / "disk_fill.py")
    untouched(result, SIG)  # its sigmoid is right: the attack costs the grading nothing
    if not result.confinement.get("disk_mb"):
        pytest.skip("no mount namespace here: RLIMIT_FSIZE caps each file, not their number (see the README)")
    found = re.search(r"stopped after (\d+) MiB: OSError: \[Errno 28\] No space left on device", result.output)
    assert found and int(found.group(1)) <= result.confinement["disk_mb"], result.output


# -- found on ordinary machines and by a second review ----------------------------------------------


@pytest.fixture(scope="module", params=[True, False], ids=["namespaces-no-landlock", "no-namespaces-no-landlock"])
def unfenced(request):
    """As on a kernel without Landlock (before 5.13, or the LSM off; before 6.12 it has no signal scoping
    either): what seccomp, the users of their own and the namespaces hold alone."""
    with Sandbox(limits=RUBRIC.limits, namespaces=request.param, landlock=False) as box:
        yield box


CHILD_USERS = f"65534-{confine.FIRST_UID + 4096}"  # nobody (every child, once) and the children's own users


def _class(directory: Path, attacker: Path, classmates: int) -> None:
    directory.mkdir()
    shutil.copy(attacker, directory / "0_attacker.py")
    for i in range(classmates):
        shutil.copy(CORRECT, directory / f"classmate_{i}.py")


@pytest.mark.parametrize("namespaces, fenced", [(False, True), (False, False)], ids=["landlock", "no-landlock"])
def test_a_submission_cannot_limit_renice_or_pin_a_classmates_process(tmp_path, namespaces, fenced):
    """Without a PID namespace every process is in view: prlimit, setpriority (PRIO_USER too) and
    sched_set* on a classmate's child must fail, so every correct classmate graded meanwhile keeps 42."""
    attacker = submission("classmates.py", tmp_path, TARGET_UIDS=CHILD_USERS)
    _class(tmp_path / "class", attacker, 8)
    with Sandbox(limits=RUBRIC.limits, namespaces=namespaces, landlock=fenced) as box:
        batch = grade_directory(tmp_path / "class", tmp_path / "out", dataclasses.replace(QUICK, timeout=10.0, hidden_seed=SEED),
                                box, jobs=2)
    scores = {r.submission: r.score for r in batch.rows}
    assert all(score == 42 for name, score in scores.items() if name.startswith("classmate")), scores
    assert scores["0_attacker.py"] > 0  # its own functions are right: it is graded, not broken


def test_signals_ipc_and_native_calls_past_the_hook_reach_no_classmate_and_leave_nothing(unfenced, tmp_path):
    """With the hook switched off (its memory rewritten), ctypes reaches the kernel directly: tgkill,
    rt_sigqueueinfo and rt_tgsigqueueinfo on classmates, and a 512 MiB System V segment left behind.
    seccomp refuses each (or the IPC namespace takes the segment with it); classmates keep 42."""
    attacker = submission("native_calls.py", tmp_path, TARGET_UIDS=CHILD_USERS)
    _class(tmp_path / "class", attacker, 6)
    batch = grade_directory(tmp_path / "class", tmp_path / "out", dataclasses.replace(QUICK, timeout=10.0, hidden_seed=SEED),
                            unfenced, jobs=2)
    scores = {r.submission: r.score for r in batch.rows}
    assert all(score == 42 for name, score in scores.items() if name.startswith("classmate")), scores
    key = f"{0x67726164:10d}"
    with open("/proc/sysvipc/shm") as shm, open("/proc/sysvipc/msg") as msg:
        assert key not in shm.read() and key not in msg.read()  # nothing of it outlives its grading


def test_a_submission_cannot_copy_a_classmate_graded_at_the_same_time(unfenced, tmp_path):
    """Through /proc/<pid>/cwd of a concurrent child: each child is a user of its own, in a 0700 directory."""
    attacker = submission("copy_classmate.py", tmp_path)
    _class(tmp_path / "class", attacker, 4)
    batch = grade_directory(tmp_path / "class", tmp_path / "out", dataclasses.replace(QUICK, timeout=10.0, hidden_seed=SEED),
                            unfenced, jobs=2)
    result = json.loads((tmp_path / "out" / "0_attacker.json").read_text())
    copied = [t for t in result["tests"] if t["name"].startswith(NS) and t["score"] > 0]
    assert copied == [], copied
    assert all(r.score == 42 for r in batch.rows if r.submission.startswith("classmate"))


def test_the_hooks_state_reached_through_a_traceback_cannot_be_changed(unfenced, tmp_path):
    marker = Path("/tmp") / unique()
    result = graded(unfenced, submission("hook_traceback.py", tmp_path, WRITTEN_FILE=str(marker)))
    untouched(result, SIG)
    lost(result, NS, "loading native code (ctypes) is not allowed")
    lost(result, NEG, "writing outside the working directory is not allowed")
    assert not marker.exists()


def test_the_hooks_state_is_immutable_and_bound_as_defaults():
    """What a traceback reaches (the frames' locals: the hook's defaults) holds nothing mutable and no
    closure cell; its functions' code cannot be swapped (the hook refuses that audited event)."""
    hook = confine.audit_hook(str(Path.cwd()), [os.path.dirname(REFERENCE)])
    functions, mutable = [hook], []
    for function in functions:
        assert function.__closure__ is None, function
        for value in function.__defaults__ or ():
            if isinstance(value, types.FunctionType):
                functions.append(value)
            elif isinstance(value, (dict, list, set, bytearray)):
                mutable.append((function.__name__, value))
    assert len(functions) >= 2 and mutable == []
    with pytest.raises(PermissionError, match="changing the grader's functions"):
        hook("object.__setattr__", (functions[1], "__code__", (lambda: None).__code__))
    with pytest.raises(PermissionError, match="changing the grader's functions"):
        hook("object.__delattr__", (functions[1], "__defaults__"))
    hook("object.__setattr__", ((lambda: None), "__code__", (lambda: None).__code__))  # anyone else's: allowed


def test_a_child_inherits_nothing_of_the_submissions_graded_before_it(sandbox, tmp_path):
    marker = f"victim{uuid.uuid4().hex}"
    victim = tmp_path / "victims" / f"{marker}.py"
    victim.parent.mkdir()
    shutil.copy(CORRECT, victim)
    assert graded(sandbox, victim).score == 42
    result = graded(sandbox, submission("heap_snoop.py", tmp_path, VICTIM_FIRST_HALF=marker[:20],
                                        VICTIM_SECOND_HALF=marker[20:]))
    untouched(result, SIG)


@pytest.mark.parametrize("where", ["sigmoid", "import"])
def test_a_reply_trickled_byte_by_byte_ends_at_the_deadline(sandbox, tmp_path, where):
    start = time.monotonic()
    result = graded(sandbox, submission("trickle.py", tmp_path, TRICKLE_WHERE=where), QUICK)
    assert time.monotonic() - start < 20  # 1 s per call, not a byte's wait each
    if where == "import":  # it waits between bytes, as an import on a busy machine does: a second chance, 3 s
        assert result.load_error == "importing the submission took longer than 3 s"
    else:  # as a call does: the same second chance
        lost(result, SIG, "no answer within 3 s")
        untouched(result, NS)


def test_two_tricklers_do_not_stall_a_class(sandbox, tmp_path):
    directory = tmp_path / "class"
    directory.mkdir()
    for name in ("a", "b"):
        (directory / f"{name}.py").write_text((ROBUST / "trickle.py").read_text().replace("TRICKLE_WHERE", "sigmoid"))
    shutil.copy(CORRECT, directory / "c.py")
    start = time.monotonic()
    batch = grade_directory(directory, tmp_path / "out", dataclasses.replace(QUICK, hidden_seed=SEED), sandbox, jobs=2)
    assert time.monotonic() - start < 30
    assert {r.submission: r.score for r in batch.rows}["c.py"] == 42


def test_a_time_budget_ends_a_slow_submission_and_says_so(sandbox, tmp_path):
    slow = tmp_path / "slow.py"
    slow.write_text(CORRECT.read_text() + "\n\nimport time\n_sigmoid = sigmoid\n\n\ndef sigmoid(x):\n"
                    "    time.sleep(0.6)\n    return _sigmoid(x)\n")
    rubric = dataclasses.replace(RUBRIC, timeout=1.0, budget=2.0)
    start = time.monotonic()
    result = graded(sandbox, slow, rubric)
    assert time.monotonic() - start < 15
    sig = of(result, SIG, rubric)
    assert sig[0].score < sig[0].max_score and "time budget" in sig[0].output
    assert all("time budget" in r.output for r in of(result, SG, rubric)), [r.output for r in of(result, SG, rubric)]


def test_a_reply_header_bigger_than_a_call_can_give_is_garbage(sandbox):
    start = time.monotonic()
    result = graded(sandbox, ROBUST / "header_bomb.py")
    assert time.monotonic() - start < 30
    lost(result, SIG, "sent garbage")
    lost(result, NS, "sent garbage")


@pytest.mark.parametrize("kind", ["setup_error", "confinement"])
def test_a_forged_setup_error_or_confinement_still_gets_a_strict_results_file(tmp_path, kind):
    path = submission("forge_setup.py", tmp_path, FORGE_KIND=kind)
    results = tmp_path / "results.json"
    assert main(["grade", str(path), "--results", str(results)]) == 0
    data = json.loads(results.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in results.json"))
    assert data["score"] == 0 and gradescope.problems(data) == []
    confinement = data["extra_data"]["gradproof"]["confinement"]
    assert confinement["audit_hook"] is True and confinement["user"] != "root"


def test_an_upload_of_nested_directories_gets_a_results_file(tmp_path):
    upload = tmp_path / "upload"
    upload.mkdir()
    shutil.copy(CORRECT, upload / "word2vec.py")
    deep = upload
    for _ in range(1500):  # os.makedirs would recurse once a level
        deep = deep / "d"
        deep.mkdir()
    results = tmp_path / "results.json"
    try:
        assert main(["grade", str(upload), "--results", str(results)]) == 0
    finally:
        subprocess.run(["rm", "-rf", str(upload / "d")], check=True)  # shutil.rmtree recurses too
    data = json.loads(results.read_text())
    assert data["score"] == 42
    assert data["extra_data"]["gradproof"]["confinement"]["skipped_files"] > 0  # the deep end was left out


def test_text_chosen_by_a_submission_is_escaped_for_every_format(tmp_path, capsys):
    directory = tmp_path / "class"
    directory.mkdir()
    shutil.copy(ROBUST / "markup_names.py", directory / "=cmd|' calc'!A1.py")
    shutil.copy(CORRECT, directory / "bob.py")
    out = tmp_path / "out"
    assert main(["grade", str(directory), "--out", str(out)]) == 0  # the class summary is printed, not a crash
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err + printed.out
    import csv
    with open(out / "summary.csv", newline="") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    data = json.loads((out / "=cmd|' calc'!A1.json").read_text())
    for text in [data["output"]] + [t["output"] for t in data["tests"]] + [d for t in data["tests"] for d in t["tags"]]:
        outside = re.sub(r"`[^`]*`", "", text)  # code spans show text as it is
        for raw in ("HYPERLINK", "<img", "[/]", "**bold**", "[link="):
            assert raw not in outside, (raw, text)
