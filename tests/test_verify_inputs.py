"""gradproof verify FILE.py:FUNCTION --inputs SPEC for a function of any signature, and a child
that cannot fool the parent or outlive it (issue 10's command line; issue 9's verify findings)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def gradproof(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, "-m", "gradproof.verify.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def one_line(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


# -- any function, from a TOML spec or a Python make() ---------------------------------------------


def test_softmax_loss_vectorized_from_its_toml_spec(tmp_path):
    out = tmp_path / "r.json"
    r = gradproof("verify", "examples/softmax.py:softmax_loss_vectorized", "--inputs", "examples/softmax.toml",
                  "--size", "N=50", "--size", "D=300", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["passed"] and [c["input"] for c in data["checks"]] == ["dW"] and data["checks"][0]["coordinates"] == 3000
    assert "child_seconds" in data["timing"] and "wall_seconds" in data["timing"] and "seconds_covers" in data["timing"]


def test_a_wrong_regularisation_gradient_is_named(tmp_path):
    spec = tmp_path / "softmax.toml"
    spec.write_text((EXAMPLES / "softmax.toml").read_text().replace("value = 0.000005", "value = 0.5"))
    r = gradproof("verify", "examples/softmax.py:softmax_loss_forgot_reg", "--inputs", str(spec),
                  "--size", "N=40", "--size", "D=30")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "WRONG" in r.stdout and "dW[" in r.stdout


def test_two_layer_net_returning_a_dict_of_gradients():
    r = gradproof("verify", "examples/two_layer_net.py:loss", "--inputs", "examples/two_layer_net.toml",
                  "--size", "D=20", "--size", "H=30", "--size", "N=16")
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("grads.W1", "grads.b1", "grads.W2", "grads.b2"):
        assert name in r.stdout


def test_inputs_made_in_python_and_a_missing_mask_caught():
    r = gradproof("verify", "examples/two_layer_net.py:loss_without_mask", "--inputs", "examples/two_layer_spec.py:make",
                  "--size", "H=12", "--size", "D=8")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "grads.b1" in r.stdout and "WRONG" in r.stdout


BAD_SPECS = {
    "bad TOML": ("[sizes]\nN = = 3\n", "bad.toml:", "line 2"),
    "unknown size in a shape": ((EXAMPLES / "softmax.toml").read_text().replace('shape = ["D", "C"]', 'shape = ["D", "K"]'),
                                "bad.toml:10:", "unknown size 'K'"),
    "no gradients": ((EXAMPLES / "softmax.toml").read_text().replace('W = "dW"', ""), "bad.toml", "gradients"),
}


@pytest.mark.parametrize("name", list(BAD_SPECS))
def test_a_bad_spec_is_one_line_with_its_location(tmp_path, name):
    text, where, words = BAD_SPECS[name]
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    r = gradproof("verify", "examples/softmax.py:softmax_loss_vectorized", "--inputs", str(spec))
    assert r.returncode == 2
    line = one_line(r)
    assert where in line and words in line, line


def test_an_unknown_size_override_is_one_line():
    r = gradproof("verify", "examples/softmax.py:softmax_loss_vectorized", "--inputs", "examples/softmax.toml",
                  "--size", "Q=3")
    assert r.returncode == 2 and "no such size" in one_line(r) and "softmax.toml" in one_line(r)


def test_a_function_that_returns_other_than_the_spec_says(tmp_path):
    code = tmp_path / "f.py"
    code.write_text("import numpy as np\ndef softmax_loss_vectorized(W, X, y, reg):\n    return 1.0, W, W\n")
    r = gradproof("verify", f"{code}:softmax_loss_vectorized", "--inputs", "examples/softmax.toml", "--size", "D=5")
    assert r.returncode == 2 and "returned 3 values; the spec declares 2" in one_line(r)


def test_a_make_that_raises_is_one_line_naming_it(tmp_path):
    spec = tmp_path / "spec.py"
    spec.write_text("def make(seed):\n    raise ValueError('no data')\n")
    r = gradproof("verify", "examples/two_layer_net.py:loss", "--inputs", f"{spec}:make")
    assert r.returncode == 2 and f"{spec}:1: make() raised ValueError: no data" in one_line(r)


# -- a child that forges, leaves processes behind, or writes garbage -------------------------------


HOSTILE = textwrap.dedent('''
    import json, os, subprocess, sys
    import numpy as np

    def softmax_loss_vectorized(W, X, y, reg):
        return float(np.sum(W * W)), np.zeros_like(W)  # wrong: the gradient is 2 W

    def _forge(text):
        # a forged verdict written wherever a result might go: every open file and path handed over
        for fd in range(3, 64):
            try:
                os.lseek(fd, 0, 0); os.ftruncate(fd, 0); os.write(fd, text.encode())
            except OSError:
                pass
        for root, _, files in os.walk("/tmp"):
            for f in files:
                if root.split("/")[-1].startswith("gradproof-") and f == "result":
                    with open(os.path.join(root, f), "w") as out:
                        out.write(text)

    PASSED = json.dumps({"target": "x", "passed": True, "checks": [], "hygiene": [], "seconds": 0.0, "evaluations": 1,
                         "seed": 0, "step": 1e-4, "dtype": "float64", "versions": {}, "output": ""})

    def forges_a_pass(W, X, y, reg):
        _forge(PASSED + "\\n0000\\n")
        os._exit(0)

    def writes_garbage(W, X, y, reg):
        _forge('{"passed": true}')
        os._exit(0)

    def leaves_a_process(W, X, y, reg):
        # a grandchild in its own session: out of the process group the parent kills
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)  # gradproof-orphan-MARK"],
                         start_new_session=True)
        return softmax_loss_vectorized(W, X, y, reg)
''')


@pytest.fixture()
def hostile(tmp_path):
    path = tmp_path / "hostile.py"
    path.write_text(HOSTILE)
    return path


def _running(fragment: str) -> list[int]:
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


@pytest.mark.parametrize("function", ["forges_a_pass", "writes_garbage"])
def test_a_forged_or_malformed_result_is_refused(hostile, function):
    r = gradproof("verify", f"{hostile}:{function}", "--inputs", "examples/softmax.toml", "--size", "D=4",
                  "--size", "N=3")
    assert r.returncode == 2, r.stdout + r.stderr
    line = one_line(r)
    assert "PASSED" not in r.stdout and ("not written by the checker" in line or "died" in line), line


def test_no_process_outlives_the_check(hostile):
    marker = f"gradproof-orphan-{os.getpid()}"
    hostile.write_text(HOSTILE.replace("gradproof-orphan-MARK", marker))
    r = gradproof("verify", f"{hostile}:leaves_a_process", "--inputs", "examples/softmax.toml", "--size", "D=4",
                  "--size", "N=3")
    assert r.returncode == 1, r.stdout + r.stderr  # its gradient is wrong, and that is all it gets to say
    deadline = time.time() + 5
    while _running(marker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _running(marker), "a process started by the target outlived the check"
