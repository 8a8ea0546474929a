"""The mistakes derived from a model (verify.grade.mistakes), kind by kind: every kind the issue lists is
built for the models that have what it mutates, and a planted mistake of the two kinds added last (a
plain sum over the wrong axis, indices swapped) is named in the derivation's terms."""
from __future__ import annotations

from pathlib import Path

import pytest

from gradproof.verify.grade import rubric as rubrics
from gradproof.verify.grade.grader import grade
from gradproof.verify.grade.mistakes import mutants
from gradproof.verify.grade.sandbox import Sandbox

SUBMISSIONS = Path(__file__).parent / "submissions"
INDICES = SUBMISSIONS / "indices"
PAIR = rubrics.load(str(INDICES / "skipgram-pair.toml"))
NET = rubrics.load(assignment="two-layer-net")
GRADS = (("W1", "grads.W1"), ("b1", "grads.b1"), ("W2", "grads.W2"), ("b2", "grads.b2"))


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(limits=NET.limits, packages=NET.packages) as box:
        yield box


def test_every_kind_of_mutant_is_built_where_the_model_has_what_it_mutates():
    net = mutants("two-layer-net", "two_layer_net", "loss", GRADS)
    w1 = [m.message for m in net["grads.W1"]]
    kinds = {"sign flipped": "{name} has the opposite sign", "transposed": "{name} looks transposed",
             "term dropped (regularisation missing)": "{name} lacks the term reg W1",
             "regularisation doubled": "{name} has an extra factor 2 on its term reg W1",
             "1/N extra": "{name} has an extra factor 1/N on its term", "mask missing": "{name} lacks the ReLU mask",
             "mask [z >= 0]": "{name} uses the mask [Z >= 0]", "softmax's wrong axis": "{name} takes softmax(S) over each column"}
    for kind, start in kinds.items():
        assert any(m.startswith(start) for m in w1), (kind, w1)
    assert any(m.startswith("{name} lacks the factor 1/N") for m in (m.message for m in net["grads.W2"]))
    b1 = [m.message for m in net["grads.b1"]]
    assert "{name} has a regularisation term reg b1, but the loss regularises only W1, W2" in b1  # biases too
    assert not any("regularisation term" in m.message for m in net["grads.W1"])
    assert "{name} regularises b1, b2 too, but the model regularises only W1, W2" in [m.message for m in net["loss"]]
    assert "{name} adds reg sum(W1) to every entry where its term reg W1 belongs (the sum of W1's entries, not W1 " \
           "itself)" in w1
    for role in net:  # the network without its ReLU: every output has it
        assert "{name} is what the model gives without its ReLU (A = relu(Z) taken as A = Z)" in \
               [m.message for m in net[role]], role
    assert any(m.startswith("{name} sums ") and "over axis 1 (along each row), not over axis 0" in m for m in b1), b1
    pair = mutants("naive-softmax", "skipgram_pair_loss_and_gradients", "loss", (("V", "grad_V"), ("U", "grad_U")))
    for role in ("loss", "grad_V", "grad_U"):
        messages = [m.message for m in pair[role]]
        assert "{name} has the indices c and o swapped (o where c belongs, c where o belongs)" in messages, messages
        assert "{name} uses the index o where c belongs" in messages and "{name} uses the index c where o belongs" in messages
    # one index input (y): nothing to swap it with
    assert not any("index" in m.message or "indices" in m.message for ms in net.values() for m in ms)


def test_a_correct_solution_of_a_model_with_two_indices_scores_full_marks_on_20_seeds(sandbox):
    for seed in range(20):
        result = grade(INDICES / "correct.py", PAIR, sandbox, seed=seed)
        assert result.score == result.max_score == 4, (seed, [(t.name, t.output) for t in result.tests if not t.passed])


@pytest.mark.parametrize("name, named", [
    ("swapped.py", {"loss": "loss has the indices c and o swapped (o where c belongs, c where o belongs)",
                    "grad_V": "grad_V has the indices c and o swapped (o where c belongs, c where o belongs)",
                    "grad_U": "grad_U has the indices c and o swapped (o where c belongs, c where o belongs)"}),
    ("o_for_c.py", {"grad_V": "grad_V uses the index o where c belongs"})])
def test_indices_swapped_or_one_used_for_the_other_are_named(sandbox, name, named):
    result = grade(INDICES / name, PAIR, sandbox, seed=1)
    for test in result.tests:
        if test.name in named:
            assert test.score == 0 and test.diagnoses == (named[test.name],), (test.name, test.diagnoses)
        elif test.name == "gradient check":
            assert test.score == 0
        else:
            assert test.score == test.max_score, (test.name, test.output)


def test_a_bias_gradient_summed_over_the_wrong_axis_is_named(sandbox):
    result = grade(SUBMISSIONS / "two_layer_net" / "mistakes" / "b1_wrong_axis.py", NET, sandbox, seed=20240611)
    lost = {t.name: t.diagnoses for t in result.tests if t.score < t.max_score}
    b1 = next(t.name for t in NET.tests if t.outputs == ("grads.b1",) and t.check == "values")
    assert lost[b1] == ("grads.b1 sums ((1/N (- onehot(y) + softmax(S))) W2^T) ⊙ [Z > 0] over axis 1 (along each row), "
                        "not over axis 0 (down each column) (the wrong axis)",)
    # the gradient check and the shapes lose too (b1 has N entries, not H); nothing else does
    assert set(lost) == {b1} | {t.name for t in NET.tests if t.check in ("gradient", "hygiene")}, lost
