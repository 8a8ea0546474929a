"""gradproof check on derivations written the way people write them (issue 12).

The documents under tests/derivations/wild_* are our own, written to reproduce each idiom met in
public derivations (CS224n-style Markdown with Jekyll front matter, an Overleaf .tex file with a
preamble and macros, a Jupyter notebook, index notation under Einstein summation).  None names a
notation: everything is read from the document.  Displays tagged ok-... are right and must hold;
displays tagged bad-... carry one planted mistake each and must fail; nothing else may fail.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradproof.verify.derivation.run import check_document

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "tests" / "derivations"
GRAMMAR_TOKENS = re.compile(r"__ANON|\b(?:BIGOP|FUNC|NAME|NUMBER|DECOR|COMPARE|RULE|CASES|OTHERWISE|LPAR|RPAR|"
                            r"LBRACE|RBRACE|\$END)\b")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradproof.verify.cli", "check", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "COLUMNS": "200"}, timeout=300)


def labelled(result) -> dict:
    out = {}
    for e in result.equations:
        if e.label is not None:
            assert e.label not in out, f"duplicate label {e.label}"
            out[e.label] = e
    return out


def describe(eq) -> str:
    return f"{eq.label!r} (line {eq.line}): " + "; ".join(
        f"{s.status}: {s.lhs[:40]} = {s.rhs[:40]} ({s.reading}) ({s.reason}) {s.counterexample[:80]}" for s in eq.steps)


def assert_planted(result, bad: set[str], ok: set[str]):
    """Every ok display holds (each step holds or defines a name), every bad one has a failing step,
    and no display outside the bad ones fails."""
    eqs = labelled(result)
    assert {label for label in eqs if label.startswith("bad")} == bad
    assert {label for label in eqs if label.startswith("ok")} == ok
    for label in ok:
        eq = eqs[label]
        assert all(s.status in ("holds", "defines") for s in eq.steps), describe(eq)
        assert any(s.status == "holds" for s in eq.steps) or label.endswith("def") or label in (
            "ok-loss", "ok-mse", "ok-ridge"), describe(eq)
    for label in bad:
        eq = eqs[label]
        assert eq.status == "fails", describe(eq)
        failing = [s for s in eq.steps if s.status == "fails"]
        assert failing and all(s.counterexample.strip() or "ill-formed" in s.reason for s in failing), describe(eq)
    for eq in result.equations:
        if eq.label is None or not eq.label.startswith("bad"):
            assert not (eq.status == "fails" and not eq.inline), describe(eq)


# -- CS224n-style Markdown --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cs224n():
    return check_document(str(DOCS / "wild_cs224n.md"))


def test_cs224n_planted_mistakes_found_and_nothing_else(cs224n):
    assert_planted(cs224n,
                   bad={"bad-shape-center", "bad-blame", "bad-sign-outside", "bad-neg-sample"},
                   ok={"ok-loss", "ok-theta-row", "ok-component", "ok-center", "ok-outside", "ok-outside-rows",
                       "ok-mathbf", "ok-sigma-prime", "ok-neg-outside", "ok-neg-sample", "ok-neg-center"})


def test_cs224n_front_matter_is_metadata_and_the_notation_comes_from_the_document(cs224n):
    # Jekyll's YAML front matter (title, layout, tags) is no notation: the check goes on without one
    # and says where everything came from
    said = "\n".join(cs224n.notation)
    assert cs224n.notation[0].startswith("notation: none named")
    assert re.search(r"^y: vector \S+, one-hot at o \(inferred from use\)$", said, re.M), said  # from the prose
    assert re.search(r"^u_w: column w of U$", said, re.M), said
    assert "theta = U^Tv_c (line" in said and "\\hat{y} = \\mathrm{softmax}(\\theta) (line" in said
    assert "J_{naivesoftmax} = " in said  # a text subscript names the loss, it is no index


def test_cs224n_wild_idioms_each_read(cs224n):
    eqs = labelled(cs224n)
    # \sum_{w \in \text{Vocab}}, \hat{y_w}, text subscripts: the loss is defined, then its value at o holds
    loss = eqs["ok-loss"].steps
    assert [s.status for s in loss] == ["defines", "holds"], describe(eqs["ok-loss"])
    # \part and \pmb: the gradient with respect to the scores written as a row holds, read in the
    # numerator layout (the reading is said)
    assert eqs["ok-theta-row"].steps[0].reading == "in the numerator layout"
    # a component written for the vector: "holds (as a component of the vector)"
    assert eqs["ok-component"].steps[0].reading == "as a component of the vector"
    # the numerator-layout chain rule dJ/dtheta dtheta/dv_c, with \\[1.6em] and U^Tv_c
    center = eqs["ok-center"].steps
    assert len(center) == 3 and all(s.status == "holds" for s in center)
    assert "numerator layout" in center[0].reading and "transpose" in center[2].reading
    # cases with equalities inside the rows: one equation per row, under the row's condition
    rows = eqs["ok-outside-rows"].steps
    assert len(rows) == 2 and "condition w ≠ o" in rows[1].reason, describe(eqs["ok-outside-rows"])
    # a dropped transpose is a product of the wrong shapes
    assert "ill-formed" in eqs["bad-shape-center"].steps[-1].reason
    # \mathbf x without braces, \sigma'
    assert eqs["ok-mathbf"].steps[0].reading.startswith("element-wise")
    assert eqs["ok-sigma-prime"].status == "holds"


def test_cs224n_blame_says_where_the_chain_went_wrong_and_recovered(cs224n):
    first, wrong, back = labelled(cs224n)["bad-blame"].steps
    assert first.status == "holds"
    assert wrong.status == "fails" and wrong.against_subject == "differs"
    assert wrong.chain.startswith("the chain goes wrong here")
    # the last link differs from its neighbour but equals the chain's subject again
    assert back.status == "fails" and back.against_subject == "agrees"
    assert back.chain.startswith("the chain recovers here")


def test_cs224n_negative_sampling_uses_the_shipped_loss_and_says_so(cs224n):
    eqs = labelled(cs224n)
    for label in ("ok-neg-outside", "ok-neg-sample", "ok-neg-center"):
        assert "the shipped notation 'negsampling'" in eqs[label].steps[0].reading, describe(eqs[label])
    wrong = eqs["bad-neg-sample"].steps[0]
    assert wrong.status == "fails" and "the shipped notation 'negsampling'" in wrong.reason
    # o is never among the samples: the sample index k is shown where it fails
    assert re.search(r"\bk=\d", wrong.counterexample)


def test_cs224n_inline_equations_are_checked_and_reported_apart(cs224n):
    inline = [e for e in cs224n.equations if e.inline]
    found = {(e.steps[0].lhs, e.steps[0].status) for e in inline}
    assert ("\\sum_{w \\in \\text{Vocab}} \\hat{y}_w", "holds") in found, found
    assert ("\\frac{\\partial \\hat{y}_o}{\\partial \\theta_o}", "fails") in found, found  # the planted slip
    assert all(not e.inline for e in cs224n.equations if e.label)


def test_cs224n_code_and_comments_are_not_checked(cs224n):
    labels = {e.label for e in cs224n.equations}
    assert "skipped-code" not in labels and "skipped-comment" not in labels
    text = (DOCS / "wild_cs224n.md").read_text()
    assert "skipped-code" in text and "skipped-comment" in text  # present, and skipped


# -- an Overleaf file -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def overleaf():
    return check_document(str(DOCS / "wild_overleaf.tex"))


def test_overleaf_planted_mistakes_found_and_nothing_else(overleaf):
    assert_planted(overleaf,
                   bad={"bad-tanh-sigmoid", "bad-relu-indicator", "bad-quotient", "bad-db"},
                   ok={"ok-sigmoid", "ok-sigmoid-prime", "ok-tanh", "ok-softplus", "ok-relu", "ok-relu-indicator",
                       "ok-quotient", "ok-loss"})


def test_overleaf_preamble_macros_and_environments(overleaf):
    eqs = labelled(overleaf)
    # \label names the display; align* rows, \nonumber and \\[1.6em] between them; \sig from \newcommand
    assert len(eqs["ok-sigmoid"].steps) == 3
    # \grad{..}{..} (\newcommand with arguments) and \softplus (\DeclareMathOperator)
    assert eqs["ok-softplus"].status == "holds"
    # \def\half: the loss is defined through it, and both of its derivatives are checked
    assert [s.status for s in eqs["ok-loss"].steps] == ["defines", "holds"], describe(eqs["ok-loss"])
    # gather*: one row each
    assert [s.status for s in eqs["ok-tanh"].steps] == ["holds", "holds"]
    # the commented-out equation is not checked; the preamble's definitions are no equations
    assert "skipped-tex-comment" not in eqs
    assert all(e.line > 10 for e in overleaf.equations)
    said = "\n".join(overleaf.notation)
    assert "scalar variables: a, b, t, w, x" in said  # free scalar variables, named as such


# -- a Jupyter notebook -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def notebook():
    return check_document(str(DOCS / "wild_notebook.ipynb"))


def test_notebook_planted_mistakes_found_and_nothing_else(notebook):
    assert_planted(notebook,
                   bad={"bad-shape-input", "bad-missing-mse", "bad-ridge-grad", "bad-hadamard", "bad-matrix"},
                   ok={"ok-loss", "ok-scores", "ok-weights", "ok-bias", "ok-input", "ok-mse", "ok-mse-grad",
                       "ok-ridge", "ok-ridge-grad", "ok-trace", "ok-hadamard", "ok-matrix"})


def test_notebook_markdown_cells_only_with_their_lines(notebook):
    raw = (DOCS / "wild_notebook.ipynb").read_text().splitlines()
    eqs = labelled(notebook)
    for label, eq in eqs.items():
        assert f"tag{{{label}}}" in raw[eq.line - 1], (label, eq.line)  # the JSON line holding it
    # the code cell's "$$ ... $$" string is no equation
    assert not any("= 0" in s.rhs for e in notebook.equations for s in e.steps)


def test_notebook_row_vectors_declared_in_the_prose(notebook):
    said = "\n".join(notebook.notation)
    assert re.search(r"^x: row vector 1x\S+", said, re.M), said
    # dL/dW = x^T (yhat - y): an outer product of rows, with the gradient shaped like W
    assert labelled(notebook)["ok-weights"].steps[0].reading == ""


# -- Einstein summation -------------------------------------------------------------------------------

def test_einstein_sums_repeated_indices_and_claims_no_failure():
    result = check_document(str(DOCS / "wild_einstein.md"))
    eqs = labelled(result)
    assert any("Einstein summation" in line for line in result.notation)
    for label in ("ok-jacobian", "ok-weights"):
        assert all(s.status == "holds" for s in eqs[label].steps), describe(eqs[label])
    # which indices an author sums is read from the letters, so a difference is not called a mistake
    swapped = eqs["einstein-swapped"].steps[0]
    assert swapped.status == "cannot_check" and "Einstein" in swapped.reason


# -- constructs one at a time ---------------------------------------------------------------------------

def _steps(tmp_path, text: str, name: str = "doc.md", notation: str | None = None):
    doc = tmp_path / name
    doc.write_text(text)
    return [s for e in check_document(str(doc), notation).equations for s in e.steps]


@pytest.mark.parametrize("latex, status", [
    (r"\frac{d}{dx} \max(0, x) = \mathbb{1}(x > 0)", "holds"),
    (r"\frac{d}{dx} \max(0, x) = \mathbb{1}(x \geq 0)", "holds"),       # equal wherever it has a value
    (r"\frac{d}{dx} \max(0, x) = \mathbb{1}(x < 0)", "fails"),
    (r"\frac{d}{dx} \mathrm{softplus}(x) = \sigma(x)", "holds"),
    (r"\frac{d\tanh(x)}{dx} = 1 - \tanh(x)^2", "holds"),
    (r"\frac{d\tanh(x)}{dx} = 1 + \tanh(x)^2", "fails"),
    (r"\frac{d}{dx} \log(1 + e^{x}) = \frac{e^x}{1 + e^x}", "holds"),
])
def test_scalar_calculus_with_free_variables(tmp_path, latex, status):
    steps = _steps(tmp_path, f"For a real $x$:\n\n$$ {latex} $$\n")
    assert [s.status for s in steps] == [status], steps


def test_a_one_hot_at_any_index_and_sizes_of_any_name(tmp_path):
    # the notation (here in the front matter) declares y one-hot at k and sizes D and C: no KeyError,
    # no size called W needed
    front = ("---\n[sizes]\nD = 3\nC = 5\n[indices]\nk = \"C\"\n[symbols.W]\nrole = \"matrix\"\n"
             "shape = [\"D\", \"C\"]\n[symbols.x]\nrole = \"vector\"\nshape = [\"D\"]\n"
             "[symbols.y]\nrole = \"onehot\"\nat = \"k\"\nsize = \"C\"\n[definitions]\n"
             "s = 'W^\\top x'\np = '\\mathrm{softmax}(s)'\nL = '-\\log p_k'\n---\n")
    steps = _steps(tmp_path, front + "$$ \\frac{\\partial L}{\\partial s} = p - y $$\n\n"
                   "$$ \\frac{\\partial L}{\\partial x} = W(p - y) $$\n\n$$ \\frac{\\partial L}{\\partial x} = W p $$\n")
    assert [s.status for s in steps] == ["holds", "holds", "fails"], steps


def test_yaml_front_matter_with_a_named_notation(tmp_path):
    doc = tmp_path / "post.md"
    doc.write_text("---\ntitle: A post\nlayout: post\n---\n\n$$ \\frac{\\partial J}{\\partial \\mathbf{s}} = "
                   "\\hat{\\mathbf{y}} - \\mathbf{y} $$\n")
    proc = run_cli(str(doc), "--notation", "skipgram")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "the shipped notation 'skipgram', as named by --notation" in proc.stdout


def test_a_shipped_notation_is_detected_and_the_reason_said(tmp_path):
    # a skip-gram document that leans on the handout's notation (yhat, e, p never defined)
    steps = None
    doc = tmp_path / "handout.md"
    doc.write_text("Word2vec skip-gram, with $u_o$ and $v_c$ as in the handout.\n\n"
                   "$$ \\frac{\\partial J}{\\partial \\mathbf{v}_c} = U(\\hat{\\mathbf{y}} - \\mathbf{y}) $$\n")
    result = check_document(str(doc))
    assert result.notation[0].startswith("notation: the shipped notation 'skipgram', detected because it mentions")
    steps = [s for e in result.equations for s in e.steps]
    assert [s.status for s in steps] == ["holds"], steps


# -- messages and exit codes ---------------------------------------------------------------------------

UNREADABLE = r"""
$$ J = \int_0^1 f(x)\, dx $$

$$ a = b + $$

$$ y = \lim_{n \to \infty} x_n $$

$$ r = (a + b $$

$$ s = a \,\#\, b $$
"""


def test_unparsed_messages_are_in_the_users_terms_and_nothing_checked_has_its_exit_code(tmp_path):
    doc = tmp_path / "unreadable.md"
    doc.write_text(UNREADABLE)
    out = tmp_path / "out.json"
    proc = run_cli(str(doc), "--json", str(out))
    assert proc.returncode == 3, proc.stdout + proc.stderr  # nothing could be checked: its own code
    assert proc.stderr.strip().count("\n") == 0 and "nothing in" in proc.stderr
    data = json.loads(out.read_text())
    steps = [s for e in data["equations"] for s in e["steps"]]
    assert len(steps) == 5 and all(s["status"] == "unparsed" for s in steps), steps
    for s in steps:
        assert re.match(r"column \d+: ", s["reason"]), s
        assert not GRAMMAR_TOKENS.search(s["reason"]), s["reason"]  # no BIGOP, no __ANON_2
    reasons = " ".join(s["reason"] for s in steps)
    assert "\\int" in reasons and "\\newcommand" in reasons  # the construct, and what to do about it
    assert "never closed" in reasons and "ends too early" in reasons


def test_bad_front_matter_in_yaml_or_toml_is_one_line_exit_2(tmp_path):
    doc = tmp_path / "front.md"
    doc.write_text("---\n[sizes]\nN = \"three\"\n---\n$$ J = J $$\n")
    proc = run_cli(str(doc))
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "front matter" in proc.stderr


def test_a_notebook_that_is_not_json_is_one_line_exit_2(tmp_path):
    doc = tmp_path / "broken.ipynb"
    doc.write_text('{"cells": [ {"cell_type": "markdown", "source": "$$ a = a $$"  ')
    proc = run_cli(str(doc))
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "not a readable notebook" in proc.stderr and "Traceback" not in proc.stderr


# -- numbered layers, out-of-order definitions, a function renamed in a chain -----------------------

def test_numbered_layers_with_row_biases_planted_mistakes_found_and_nothing_else():
    """a_1 = x M_1 + c_1: a_1, M_1, c_1 are names of their own (never entries of a, M, c), the
    bias c_1 is a row like x M_1, a_2 may be defined before the g it uses, and g = \\sigma(a_1)
    is a value even though g is a letter often used for functions."""
    result = check_document(str(DOCS / "wild_layers.md"))
    assert_planted(result, bad={"bad-weight", "bad-sign"},
                   ok={"ok-first-def", "ok-second-def", "ok-hidden-def", "ok-output-def", "ok-second-by-hidden",
                       "ok-first-by-input", "ok-hidden-by-first", "ok-loss-by-second"})
    said = "\n".join(result.notation)
    assert "c_1: row vector" in said and "c_2: row vector" in said


def test_a_value_named_by_a_function_letter_is_differentiated_as_defined(tmp_path):
    """g = \\sigma(a) with a = M x + c: dg/da is the diagonal Jacobian sigma'(a), never the
    derivative of a product g a (a false alarm before)."""
    path = tmp_path / "g.md"
    path.write_text("$$a = M x + c$$\n$$g = \\sigma(a)$$\n\n$$\\frac{\\partial{g}}{\\partial{a}} = \\sigma'(a)$$\n\n"
                    "$$\\frac{\\partial{g}}{\\partial{a}} = \\sigma(a)$$\n")
    steps = [s for e in check_document(str(path)).equations for s in e.steps if s.status != "defines"]
    assert [s.status for s in steps] == ["holds", "fails"], [(s.status, s.reason) for s in steps]


def test_a_function_named_further_along_a_chain_is_defined_by_its_neighbour():
    result = check_document(str(DOCS / "wild_alias.md"))
    assert_planted(result, bad={"bad-jacobian"}, ok={"ok-jacobian"})
    assert any(line.startswith("phi(a) = ") for line in result.notation), result.notation


def test_a_loss_named_by_a_word_a_late_function_two_cases_of_one_size_and_an_open_sum():
    """MLE = ... is one name (never M L E); q defined in the prose after the loss; n beside N over
    the same axis is one size; a term after \\sum_i that uses i belongs to the sum."""
    result = check_document(str(DOCS / "wild_logistic.md"))
    assert_planted(result, bad={"bad-sign", "bad-logistic-derivative"},
                   ok={"ok-loss-def", "ok-gradient", "ok-simplified"})
    said = "\n".join(result.notation)
    assert "MLE = " in said and " n = " not in said


def test_a_term_after_a_sum_joins_it_only_when_it_uses_the_letter_and_nothing_binds_it():
    from gradproof.derive.latex import parse
    from gradproof.verify.derivation.implicit import extend_sums, free_letters

    tree = parse(r"\sum_{i=1}^{N} a_i - b_i").tree
    assert free_letters(tree) == ["i"] and free_letters(extend_sums(tree)) == []
    assert extend_sums(tree, frozenset({"i"})) is tree  # i free on the other side: the strict reading stands
    other = parse(r"\sum_{i=1}^{N} a_i - c").tree
    assert extend_sums(other) is other


def test_a_probability_the_handout_defines_is_read_from_the_detected_notation_and_said():
    """P(O=o|C=c) used and never defined, in a skip-gram document: read over the document's own
    u_w and v_w from the detected notation's [detect.calls], said; nothing else of the notation is
    taken, and a comparison with a quantity the document ties to nothing claims no failure."""
    result = check_document(str(DOCS / "wild_borrowed_probability.md"))
    assert_planted(result, bad={"bad-wrong-word"}, ok={"ok-probability", "ok-other-word"})
    said = "\n".join(result.notation)
    assert "P(O=o|C=c) = " in said and "the shipped notation 'skipgram', detected because" in said
    assert "notation: none named" in said  # the notation itself is not applied
    tie = labelled(result)["unknown-tie"]
    assert tie.status == "cannot_check", describe(tie)


def test_a_sum_written_out_with_an_ellipsis_is_read_as_the_whole_sum_and_said():
    result = check_document(str(DOCS / "wild_elided.md"))
    assert_planted(result, bad={"bad-sign"}, ok={"ok-expansion", "ok-braced"})
    eqs = labelled(result)
    assert all("elided by \\cdots read as the whole sum" in s.reading for s in eqs["ok-expansion"].steps[:2])
    unread = eqs["unread"]
    assert unread.status == "cannot_check" and "elided" in unread.steps[0].reason, describe(unread)


def test_a_mean_cross_entropy_stated_by_the_document_is_its_definition(tmp_path):
    """CE(y, \\hat{y}) = -\\frac{1}{N} \\sum ...: the document's convention (a mean) defines CE; the
    built-in CE (a sum) is not claimed to differ from it.  Stated as the built-in sum, it is a claim."""
    path = tmp_path / "mean.md"
    path.write_text("$$\\hat{y} = \\mathrm{softmax}(z)$$\n\n"
                    "$$CE(y, \\hat{y}) = -\\frac{1}{N} \\sum_{i} y_i \\log\\hat{y}_i$$\n\n"
                    "$$\\frac{\\partial CE(y, \\hat{y})}{\\partial z} = \\frac{1}{N} (\\hat{y} - y)$$\n\n"
                    "$$\\frac{\\partial CE(y, \\hat{y})}{\\partial z} = \\frac{1}{N} (y - \\hat{y})$$\n")
    steps = [s for e in check_document(str(path), notation_path=None).equations for s in e.steps]
    assert [s.status for s in steps] == ["defines", "defines", "holds", "fails"], [(s.status, s.reason) for s in steps]


def test_a_bare_loss_name_is_the_call_the_document_writes(tmp_path):
    """CE(y, \\hat{y}) = ... then \\frac{\\partial CE}{\\partial \\theta}: the bare CE is CE(y, \\hat{y})."""
    path = tmp_path / "ce.md"
    path.write_text("$$\\hat{y} = \\mathrm{softmax}(\\theta)$$\n$$CE(y,\\hat{y}) = -\\sum_i y_i \\log(\\hat{y}_i)$$\n"
                    "$$\\frac{\\partial CE}{\\partial \\theta} = \\hat{y} - y$$\n"
                    "$$\\frac{\\partial CE}{\\partial \\theta} = y - \\hat{y}$$\n")
    steps = [s for e in check_document(str(path)).equations for s in e.steps]
    assert [s.status for s in steps] == ["defines", "holds", "holds", "fails"], [(s.status, s.reason) for s in steps]


def test_a_rule_for_any_two_vectors_beside_columns_and_a_stray_parenthesis():
    """g(a, b) = -log sigma(a^T b) differentiated for any a, b while a_o, b_c are columns elsewhere:
    a and b are read as vectors of their own (said); a stray ) does not stop the chain."""
    result = check_document(str(DOCS / "wild_vector_rule.md"))
    assert_planted(result, bad={"bad-rule"}, ok={"ok-rule", "ok-columns"})
    rule = labelled(result)["ok-rule"]
    assert len(rule.steps) == 2 and "any vectors (a rule" in rule.steps[0].reading, describe(rule)
    assert "too many at the end of this side ignored" in rule.steps[0].reason


def test_words_named_through_their_index_and_a_probability_named_first():
    """p(w_j|w_I) = y_j = ...: y_j is defined (p stays a name the document never defines); s_j is
    introduced by substitution in the same chain; v_{w_j} is the vector of word j; I, the input
    word, is a fixed index."""
    result = check_document(str(DOCS / "wild_word_indices.md"))
    assert_planted(result, bad={"bad-score"}, ok={"ok-same-word", "ok-two-words", "ok-score"})
    said = "\n".join(result.notation)
    assert "fixed indices (random values, different from each other): I" in said
    assert "y_j = " in said and "s_j = " in said


def test_losses_named_by_their_tags_are_the_handouts_and_said():
    """J_{naive-softmax}(v_c, o, U) and J_{neg-sample}(v_c, o, U) differentiated, never defined, in a
    document naming both: each tag reads the shipped loss it names (said at the step); the plain J
    is never taken for the naive-softmax loss.  y_w = 1 if w = o: y's length is the vocabulary's."""
    result = check_document(str(DOCS / "wild_tagged_loss.md"))
    assert_planted(result, bad={"bad-missing-term", "bad-shape"}, ok={"ok-center", "ok-other", "ok-neg"})
    eqs = labelled(result)
    assert "the shipped notation 'naivesoftmax'" in eqs["ok-center"].steps[0].reading, describe(eqs["ok-center"])
    assert "the shipped notation 'negsampling'" in eqs["ok-neg"].steps[0].reading, describe(eqs["ok-neg"])
    assert "ill-formed" in eqs["bad-shape"].steps[0].reason, describe(eqs["bad-shape"])


def test_a_loss_in_the_vectors_differentiated_through_a_score_named_later():
    """J written in u_w and v_c, then theta = U^T v_c and dJ/dtheta: J is re-expressed in theta
    (each entry of theta occurs in J, nothing of U and v_c is left outside them); the chain rule
    through the 3-tensor dtheta/dU contracts dJ/dtheta as a value, never differentiating it."""
    result = check_document(str(DOCS / "wild_intermediate.md"))
    assert_planted(result, bad={"bad-sign", "bad-no-transpose"}, ok={"ok-scores", "ok-chain", "ok-matrix"})


def test_a_score_written_with_the_samples_letter_is_one_score_per_sample():
    """b = -u_k^T v_c inside J = g(a) + \\sum_k g(b): dJ/db db/dv_c, with no k of its own, is the chain
    rule through every b_k (summed over k, said); with the step's own k (dJ/du_k) it is dJ/db_k, and
    that k is one of the K samples."""
    result = check_document(str(DOCS / "wild_sample_family.md"))
    assert_planted(result, bad={"bad-sign", "bad-center"}, ok={"ok-center", "ok-sample"})
    center = labelled(result)["ok-center"]
    assert "the chain rule through every b_k" in center.steps[0].reading, describe(center)


def test_a_derivative_with_respect_to_a_score_written_out():
    """dE / d(s_o^T h): each occurrence of the expression in E taken as the variable, the rest held
    fixed (said); one that E does not write as such, or one ill-formed as read, is not differentiated by."""
    result = check_document(str(DOCS / "wild_by_expression.md"))
    assert_planted(result, bad={"bad-extra-factor", "bad-sample-sign"}, ok={"ok-score", "ok-chain"})
    eqs = labelled(result)
    assert "its every occurrence taken as the variable" in eqs["ok-score"].steps[0].reading, describe(eqs["ok-score"])
    assert eqs["unwritten"].status == "cannot_check", describe(eqs["unwritten"])


def test_a_derivative_by_an_expression_ill_formed_as_read_claims_nothing(tmp_path):
    path = tmp_path / "rowcol.md"
    path.write_text("$$\\hat{y} = \\mathrm{softmax}(U^\\top v_c)$$\n\n"
                    "$$\\frac{\\partial CE(y, \\hat{y})}{\\partial v_c} = \\frac{\\partial CE(y, \\hat{y})}{\\partial v_cU} "
                    "\\frac{\\partial v_cU}{\\partial v_c} = (\\hat{y} - y) U^\\top$$\n")
    steps = [s for e in check_document(str(path)).equations for s in e.steps]
    assert "fails" not in [s.status for s in steps], [(s.status, s.reason) for s in steps]


def test_a_loss_defined_again_with_colon_equals_and_a_probability_of_particular_words():
    """... := L for an L the document defined before: a := is a definition in the author's words and
    takes over from where it stands (the softmax loss's gradient is wrong for the new L);
    p(w_o|w_c) = ... stated once defines that call as written, for the steps that use it."""
    result = check_document(str(DOCS / "wild_redefined.md"))
    assert_planted(result, bad={"bad-old-loss", "bad-sign"},
                   ok={"ok-softmax", "ok-probability-def", "ok-log", "ok-sampled"})
    eqs = labelled(result)
    assert eqs["ok-probability-def"].steps[0].reason.startswith("defines p(w_o|w_c)"), describe(eqs["ok-probability-def"])


def test_a_sampled_words_gradient_constrains_only_the_indices_that_matter():
    """dJ/du_w for w among the K samples, with o and c free letters (a notation fixing only sizes):
    the step holds for w among the samples and o not, whatever c is (constraining c too left some
    instantiations without index values: a false failure on a public derivation)."""
    result = check_document(str(DOCS / "wild_sampled_word.md"), notation_path=str(DOCS / "wild_sampled_word.toml"))
    assert_planted(result, bad={"bad-sign"}, ok={"ok-sampled-word"})
    reading = labelled(result)["ok-sampled-word"].steps[0].reading
    assert "w among them" in reading and "o not among" in reading and "c " not in reading, reading


def test_a_total_the_prose_calls_a_sum_of_the_per_example_losses(tmp_path):
    """L_i = ... per example, and the prose: "the total loss $\\mathcal{L}$ is the sum of the losses":
    the bare L is their sum (said); without such a sentence, which quantity it is stays unsaid."""
    result = check_document(str(DOCS / "wild_total.md"))
    assert_planted(result, bad={"bad-one-example"}, ok={"ok-total"})
    assert any("the sum of its entries L_i" in line for line in result.notation), result.notation
    untold = tmp_path / "untold.md"
    untold.write_text((DOCS / "wild_total.md").read_text().replace(
        "The total loss $\\mathcal{L}$ is the sum of the losses over all $N$ examples, so", "Then"))
    steps = [s for e in check_document(str(untold)).equations for s in e.steps]
    assert [s.status for s in steps][-2:] == ["cannot_check", "cannot_check"], [(s.status, s.reason) for s in steps]
    assert "their sum?" in steps[-1].reason


def test_a_name_used_before_its_one_definition_is_read_so_only_when_the_step_holds():
    """\\hat{y}_x written in one part, \\hat{y} = softmax(theta) defined in the next: the step is checked
    with that one definition, reported only when it holds (said); a difference there claims nothing."""
    result = check_document(str(DOCS / "wild_defined_later.md"))
    assert_planted(result, bad={"bad-missing-one"}, ok={"ok-early"})
    eqs = labelled(result)
    assert "as defined further on (line" in eqs["ok-early"].steps[0].reading, describe(eqs["ok-early"])
    assert eqs["unclaimed-early"].status == "cannot_check", describe(eqs["unclaimed-early"])


def test_a_side_ill_formed_in_every_reading_fails_beside_an_elided_side():
    """[block, \\cdots, block] = (p - q)^T h: the elided matrix has no value, but a row times a column
    of another length equals nothing in any reading, so the step fails on its right side alone; the
    outer products h p^T - h q^T beside the same elided matrix claim nothing (no value to compare)."""
    result = check_document(str(DOCS / "wild_block_elided.md"))
    assert_planted(result, bad={"bad-row-times-column"}, ok={"ok-outer"})
    eqs = labelled(result)
    failing = [s for s in eqs["bad-row-times-column"].steps if s.status == "fails"]
    assert len(failing) == 1 and "the right side alone, in every reading" in failing[0].reason, \
        describe(eqs["bad-row-times-column"])
    assert eqs["unclaimed-block"].status == "cannot_check", describe(eqs["unclaimed-block"])


def test_a_loss_summed_over_a_window_of_offsets_with_one_excluded():
    """J_{window} = \\sum_{-m <= j <= m, j != 0} J(v_c, w_{t+j}, U): the sum runs over the offsets -m..m
    but 0, w is a sequence of word indices with the center at position t, and J(v_c, w_{t+j}, U) is
    the document's J with its outside word o at w_{t+j}.  The gradients are the sums of the terms'
    (the other center vectors' is 0 for x != c); every term counted twice, or the center position
    counted, fails."""
    result = check_document(str(DOCS / "wild_window.md"))
    assert_planted(result, bad={"bad-twice", "bad-center-counted"},
                   ok={"ok-window-def", "ok-window-U", "ok-window-v", "ok-other-center"})
    assert any(line.startswith("fixed indices") and "t" in line.split(": ")[1] for line in result.notation), \
        result.notation


def test_a_window_loss_named_by_its_tag_and_never_defined():
    """\\partial J_{skip-gram}(v_c, w_{t-m}, ..., w_{t+m}, U) / \\partial U = \\sum_j \\partial J(v_c, w_{t+j}, U) / \\partial U,
    J_{skip-gram} never written out: the shipped window notation's sum of the per-word J, that J being
    the loss the plain J falls back to (negative sampling here), said at each step; the other center
    vectors' gradient 0 (a zero vector written 0) holds for x != c; the center word counted fails."""
    result = check_document(str(DOCS / "wild_window_named.md"))
    assert_planted(result, bad={"bad-named-center"}, ok={"ok-neg", "ok-named-U", "ok-named-v", "ok-named-other"})
    eqs = labelled(result)
    reading = eqs["ok-named-U"].steps[0].reading
    assert "J_{skipgram} read as the loss of the shipped notation 'skipgramwindow'" in reading, reading
    assert "as that of 'negsampling'" in reading, reading
    assert "x ≠ c" in eqs["ok-named-other"].steps[0].reason, describe(eqs["ok-named-other"])


def test_a_window_sum_whose_terms_do_not_write_the_offset_claims_nothing():
    """\\sum_{-m <= j <= m, j != 0} \\partial J / \\partial v_c with the bare J: the terms do not say which word
    each adds (the author means J(v_c, w_{t+j}, U)), so nothing is claimed, never a failure."""
    eqs = labelled(check_document(str(DOCS / "wild_window.md")))
    step = eqs["unclaimed-bare"].steps[0]
    assert step.status == "cannot_check" and "do not write j" in step.reason, describe(eqs["unclaimed-bare"])


def test_a_number_without_a_value_beside_a_vector_in_every_reading_fails():
    """dL/da'_{ik} = dL/dz_k dz_k/da'_{ik} = e_k c_i: how L depends on the weight a'_{ik} is never
    written (no value), but a derivative of a number by a number is a number whatever it is, and
    e_k c_i is a vector in every reading with no index of the left side left for an entry of it:
    the step fails.  The same left side beside a number (e_k h_i) claims nothing, and beside a
    vector that leaves the left side's i unwritten (e_k h: the entry i of h may be meant) neither.
    e_k is named after a := (p_k - q_k := e_k: an entry, never Euler's number), and the where-clause
    of that line (q_k = 1(k = r)) says what q is for the line's own step."""
    result = check_document(str(DOCS / "wild_entry_by_vector.md"))
    assert_planted(result, bad={"bad-vector"}, ok={"ok-error"})
    eqs = labelled(result)
    failing = [s for s in eqs["bad-vector"].steps if s.status == "fails"]
    assert len(failing) == 1 and "the left side is a number" in failing[0].reason, describe(eqs["bad-vector"])
    assert "3x1 in every reading" in failing[0].reason, describe(eqs["bad-vector"])
    assert eqs["ok-error"].steps[1].status == "defines" and "defines e" in eqs["ok-error"].steps[1].reason, \
        describe(eqs["ok-error"])
    for label in ("unclaimed-entry", "unclaimed-implied"):
        assert eqs[label].status == "cannot_check", describe(eqs[label])


def test_the_chain_rules_terms_stacked_instead_of_added_fail():
    """dL/dh = [dL/ds_1 ds_1/dh; ...; dL/ds_K ds_K/dh]: the terms of one chain rule (the same L, the
    same h, through each score) stacked where their sum belongs; each block has the shape of dL/dh,
    so the stack has another shape in every reading, elided blocks or not.  Their sum holds; a row
    of blocks each by another column w_1 ... w_K (that family's gradients laid out) and a Jacobian
    whose blocks differentiate other quantities (s_1 ... s_K) are not failed."""
    result = check_document(str(DOCS / "wild_chain_stacked.md"))
    assert_planted(result, bad={"bad-stacked"}, ok={"ok-score", "ok-summed"})
    eqs = labelled(result)
    step = eqs["bad-stacked"].steps[0]
    assert step.status == "fails" and "their sum, not their stack" in step.reason, describe(eqs["bad-stacked"])
    for label in ("unclaimed-row", "unclaimed-jacobian"):
        assert eqs[label].status == "cannot_check", describe(eqs[label])


def test_a_function_never_defined_is_read_as_the_one_known_function_its_first_step_fits():
    """\\delta(w^T x) typed for \\sigma(w^T x), \\delta never defined: the first step that uses it holds with
    \\delta read as the sigmoid and with no other known function (tanh, exp, log), so the steps after it
    read it so, said at each; that first step gets no verdict (it is no evidence for itself); the
    sign flipped inside it, so read, fails."""
    result = check_document(str(DOCS / "wild_typed_function.md"),
                            notation_path=str(DOCS / "wild_typed_function.toml"))
    assert_planted(result, bad={"bad-sign"}, ok={"ok-input"})
    eqs = labelled(result)
    first = eqs["unclaimed-first"].steps[0]
    assert first.status == "cannot_check" and "no evidence for itself" in first.reason, describe(eqs["unclaimed-first"])
    for label in ("ok-input", "bad-sign"):
        assert "delta, never defined, read as sigma" in eqs[label].steps[0].reading, describe(eqs[label])


def test_a_definitions_lonely_parenthesis_is_read_the_one_way_its_first_use_fits():
    """L = -\\log(\\delta(w^T x) + \\lambda/2 w^T w, its ( never closed and \\delta never defined: of the
    places a ) can close it, the first claim that uses L (dL/dw) holds with one only (after the
    sigmoid's term), jointly with \\delta read as the sigmoid; L is read so from there on, said on
    the definition and on every step that uses it; that claim gets no verdict (it chose the
    reading); the planted mistake after it, so read, fails."""
    result = check_document(str(DOCS / "wild_unclosed_loss.md"))
    assert_planted(result, bad={"bad-vector"}, ok={"ok-input"})
    eqs = labelled(result)
    first = eqs["unclaimed-first"].steps[0]
    assert first.status == "cannot_check" and "no evidence for itself" in first.reason, describe(eqs["unclaimed-first"])
    assert "a ) inserted after \\delta(w^\\top x) to close -\\log(" in first.reason, describe(eqs["unclaimed-first"])
    definition = next(s for e in result.equations for s in e.steps if s.lhs == "L")
    assert definition.status == "defines" and "a ) inserted after \\delta(w^\\top x)" in definition.reason, definition
    assert definition.rhs.count("(") == definition.rhs.count(")") + 1  # shown as written
    assert "\\delta read as \\sigma" in definition.reason, definition
    for label in ("ok-input", "bad-vector"):
        assert "read with a ) inserted after" in eqs[label].steps[0].reading, describe(eqs[label])
    assert any("read with a ) inserted after" in line for line in result.notation), result.notation


def test_a_lonely_parenthesis_no_single_place_fits_stays_unparsed():
    """s = 2(w^T x + b: closed after w^T x or at the end, ds/dw = 2x holds with both, so neither is
    read; E = ... + \\mu(b^2 + b, whose first use is wrong wherever the ) goes: none is read.  Both stay
    unparsed with the message they had, and the claims that use them stay uncheckable."""
    from gradproof.verify.derivation.repair import readings

    for text in ("2(w^\\top x + b", "\\frac{1}{2}(w^\\top x - t)^2 + \\mu(b^2 + b"):
        assert len(readings(text, {}, frozenset())) >= 2, text  # several places parse: the rule did run
    result = check_document(str(DOCS / "wild_unclosed_ambiguous.md"))
    unparsed = [s for e in result.equations for s in e.steps if s.status == "unparsed"]
    assert [s.lhs for s in unparsed] == ["s", "E"], unparsed
    assert all("the expression ends with a ( never closed; add the missing )" in s.reason for s in unparsed), unparsed
    eqs = labelled(result)
    for label in ("unclaimed-either", "unclaimed-none"):
        assert eqs[label].status == "cannot_check" and "is not defined" in eqs[label].steps[0].reason, \
            describe(eqs[label])
    assert not any("inserted" in line for line in result.notation), result.notation
