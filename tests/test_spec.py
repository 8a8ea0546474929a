"""The shared reading of a function's interface (sizes, inputs, function): derive/spec.py."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradproof.derive.spec import SpecError, load, parse

TWO_LAYER = """
[sizes]
N = 4
D = 3
H = 5
C = 2

[inputs.X]
role = "data"
shape = ["N", "D"]

[inputs.y]
role = "index"
shape = ["N"]
range = "C"

[inputs.W1]
shape = ["D", "H"]
scale = 0.1

[inputs.b1]
shape = ["H"]

[inputs.reg]
role = "scalar"
value = 0.05

[function]
name = "two_layer_net"
arguments = ["X", "y", "W1", "b1", "reg"]
returns = ["loss", "grads"]
[function.gradients]
W1 = "grads.W1"
b1 = "grads.b1"
"""


def test_a_spec_reads_sizes_inputs_and_the_function():
    spec = parse(TWO_LAYER, "net.toml")
    assert spec.sizes == {"N": 4, "D": 3, "H": 5, "C": 2}
    assert list(spec.inputs) == ["X", "y", "W1", "b1", "reg"]
    assert spec.inputs["y"].role == "index" and spec.inputs["y"].dtype == "int64" and spec.inputs["y"].range == "C"
    assert spec.inputs["W1"].role == "parameter" and spec.inputs["W1"].scale == 0.1
    assert spec.inputs["reg"].value == 0.05 and not spec.inputs["reg"].differentiable
    assert spec.differentiable() == ("X", "W1", "b1")
    assert spec.shape("W1") == (3, 5) and spec.shape("W1", {"H": 50}) == (3, 50)
    f = spec.function
    assert f.name == "two_layer_net" and f.arguments == ("X", "y", "W1", "b1", "reg")
    assert f.returns.is_tuple and f.returns.loss == "loss"
    assert f.returns.gradient_of("W1") == "grads.W1" and f.returns.gradient_of("X") is None


@pytest.mark.parametrize("change, line, words", [
    (("shape = [\"D\", \"H\"]", "shape = [\"D\", \"Q\"]"), 18, "unknown size 'Q'"),
    (("range = \"C\"", "range = \"K\""), 15, "range must be a declared size"),
    (("role = \"data\"", "role = \"weights\""), 9, "role must be one of"),
    (("W1 = \"grads.W1\"", "W1 = \"dW1\""), 33, "must be a returned value"),
    (("arguments = [\"X\", \"y\", \"W1\", \"b1\", \"reg\"]", "arguments = [\"X\", \"Z\"]"), 30, "'Z' is not declared"),
    (("N = 4", "N = 0"), 3, "size N must be a whole number of at least 1"),
    (("scale = 0.1", "scale = \"big\""), 19, "scale must be a number"),
    (("scale = 0.1", "sclae = 0.1"), 19, "unknown key 'sclae'"),
])
def test_a_bad_spec_is_one_line_naming_the_file_and_line(change, line, words):
    text = TWO_LAYER.replace(*change)
    with pytest.raises(SpecError) as e:
        parse(text, "net.toml")
    message = str(e.value)
    assert message.startswith(f"net.toml:{line}: ") and words in message and "\n" not in message


def test_bad_toml_names_its_line_and_column(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[sizes]\nN = = 3\n")
    with pytest.raises(SpecError, match=r"bad.toml: line 2, column \d+: "):
        load(path)


def test_a_binary_or_missing_file_is_one_line(tmp_path):
    binary = tmp_path / "model.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(SpecError, match="not a text file"):
        load(binary)
    with pytest.raises(SpecError, match="No such file"):
        load(tmp_path / "absent.toml")


MODEL = TWO_LAYER + r"""
[model]
name = "net"
objective = "L"

[definitions]
Z = 'X W_1 + b_1'
L = '\mathrm{sum}(Z \odot Z)'

[[claims]]
name = "dL/dZ"
label = "3"
latex = '\frac{\partial L}{\partial Z} = 2 Z'

[[claims]]
name = "second"
latex = 'L = \mathrm{sum}(Z \odot Z)'
where = 'i \neq j'

[[variants]]
name = "net_rows"
arguments = ["inputs", "y", "W1", "b1", "reg", "extra_arg"]
bind = { inputs = 'X' }
extra = ["extra_arg"]
prelude = ["pass"]
returns = ["loss", "dW1"]
[variants.gradients]
W1 = "dW1"
"""


def test_a_model_file_reads_its_definitions_claims_and_variants():
    spec = parse(MODEL, "net.toml")
    assert spec.is_model and spec.model.name == "net" and spec.model.objective == "L"
    assert [d.name for d in spec.definitions] == ["Z", "L"]
    lines = MODEL.splitlines()
    assert lines[spec.definitions[0].line - 1].startswith("Z = ")
    first, second = spec.claims
    assert first.name == "dL/dZ" and first.label == "3" and lines[first.line - 1].startswith("latex = '\\frac")
    assert second.where == r"i \neq j" and lines[second.line - 1].startswith("latex = 'L = ")
    (variant,) = spec.variants
    assert variant.bound("inputs") == "X" and variant.extra == ("extra_arg",) and variant.prelude == ("pass",)
    assert [f.name for f in spec.functions()] == ["two_layer_net", "net_rows"]


@pytest.mark.parametrize("change, words", [
    (("latex = '\\frac{\\partial L}{\\partial Z} = 2 Z'\n", ""), "a claim needs latex"),
    (("label = \"3\"", "lable = \"3\""), "unknown key 'lable'"),
    (("extra = [\"extra_arg\"]", "extra = []"), "argument 'extra_arg' is not declared"),
    (("Z = 'X W_1 + b_1'", "Z = 3"), "definition Z must be a LaTeX string"),
    (("objective = \"L\"", "objectiv = \"L\""), "unknown key 'objectiv'"),
    (("Z = 'X W_1 + b_1'", "X = 'X W_1 + b_1'"), "'X' is an input and cannot also be defined"),
])
def test_a_bad_model_part_is_one_line_naming_its_line(change, words):
    assert change[0] in MODEL
    text = MODEL.replace(change[0], change[1], 1)
    with pytest.raises(SpecError) as e:
        parse(text, "net.toml")
    message = str(e.value)
    assert message.startswith("net.toml:") and words in message and "\n" not in message
    line = int(message.split(":")[1])
    assert 1 <= line <= len(text.splitlines())


# -- a function's own arguments: how a caller draws what is not an input of the model ----------------

OWN = MODEL + r"""
[variants.inputs.inputs]
role = "data"
shape = ["N", "D"]
distribution = "unit-rows"

[variants.inputs.extra_arg]
role = "dataset"
sampler = "draw_one"
range = "C"
draws = 7
"""


def test_a_variant_declares_how_its_own_arguments_are_drawn():
    spec = parse(OWN, "net.toml")
    (variant,) = spec.variants
    data, dataset = variant.inputs
    assert (data.name, data.role, data.shape, data.distribution) == ("inputs", "data", ("N", "D"), "unit-rows")
    assert (dataset.name, dataset.role, dataset.sampler, dataset.range, dataset.draws) == \
        ("extra_arg", "dataset", "draw_one", "C", 7)
    assert spec.function.inputs == ()


@pytest.mark.parametrize("change, words", [
    (("sampler = \"draw_one\"\n", ""), "a dataset needs sampler"),
    (("draws = 7", "draws = -1"), "draws must be a whole number"),
    (("[variants.inputs.inputs]", "[variants.inputs.nothing]"), "'nothing' is not an argument of net_rows"),
])
def test_a_bad_own_argument_is_one_line(change, words):
    with pytest.raises(SpecError) as e:
        parse(OWN.replace(*change), "net.toml")
    assert str(e.value).startswith("net.toml:") and words in str(e.value) and "\n" not in str(e.value)


def test_a_function_may_declare_again_how_an_input_of_the_model_is_drawn_for_it():
    spec = parse(OWN.replace("[variants.inputs.inputs]", "[variants.inputs.W1]").replace(
        'shape = ["N", "D"]\ndistribution = "unit-rows"', 'shape = ["D", "H"]\ndistribution = "unit-columns"'), "net.toml")
    (w1, _) = spec.variants[0].inputs
    assert (w1.name, w1.distribution) == ("W1", "unit-columns") and spec.inputs["W1"].distribution == "normal"


def test_a_dataset_is_an_argument_role_only():
    """The model's own inputs are the mathematics: an object with a sampler is only a function's argument."""
    with pytest.raises(SpecError, match="role must be one of parameter, data, index, scalar,"):
        parse(TWO_LAYER.replace('role = "data"', 'role = "dataset"'), "net.toml")


def test_a_dataset_may_hold_a_repeat_and_a_value_to_skip():
    text = OWN.replace("draws = 7", 'draws = 7\nrepeat = true\nskip = "y"')
    (_, dataset) = parse(text, "net.toml").variants[0].inputs
    assert dataset.repeat is True and dataset.skip == "y"
    for change, words in [(('skip = "y"', 'skip = "nothing"'), "skip = 'nothing' is not another argument"),
                          (("draws = 7", "draws = 2"), "2 draws cannot hold the repeated and skipped values"),
                          (("repeat = true", 'repeat = "yes"'), "repeat must be true or false")]:
        with pytest.raises(SpecError, match=re.escape(words)):
            parse(text.replace(*change), "net.toml")


def test_an_index_argument_may_exclude_another_and_hold_a_repeat():
    text = OWN + '\n[variants.inputs.y]\nrole = "index"\nshape = ["N"]\nrange = "C"\nexclude = "extra_arg"\nrepeat = true\n'
    y = next(i for i in parse(text, "net.toml").variants[0].inputs if i.name == "y")
    assert y.exclude == "extra_arg" and y.repeat
    with pytest.raises(SpecError, match="skip is for a dataset, exclude for an index"):
        parse(text.replace('exclude = "extra_arg"', 'skip = "extra_arg"'), "net.toml")
    with pytest.raises(SpecError, match="exclude = 'nothing' is not another argument"):
        parse(text.replace('exclude = "extra_arg"', 'exclude = "nothing"'), "net.toml")


# -- a function its model's code defines (coded = true), and the argument roles of a course's window -------

WINDOW = (Path(__file__).parent.parent / "derive" / "models" / "window.toml").read_text()


def test_a_coded_function_is_declared_but_not_generated():
    spec = parse(WINDOW, "window.toml")
    (skipgram,) = spec.coded
    assert skipgram.name == "skipgram" and skipgram not in spec.functions() and skipgram in spec.declared()
    roles = {i.name: i.role for i in skipgram.inputs}
    assert roles["currentCenterWord"] == "word" and roles["word2Ind"] == "vocabulary"
    assert roles["word2vecLossAndGradient"] == "callback" and roles["dataset"] == "dataset"
    (center,) = [i for i in skipgram.inputs if i.name == "currentCenterWord"]
    assert center.avoid == ("first", "middle", "last")


@pytest.mark.parametrize("change, words", [
    (('name = "skipgram"\ncoded = true', 'name = "skipgrams"\ncoded = true'), "defines no function 'skipgrams'"),
    (('coded = true', 'coded = "yes"'), "coded must be true or false"),
    (('avoid = ["first", "middle", "last"]', 'avoid = ["centre"]'), "avoid is for an index or a word"),
    (('functions = ["naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient"]\n', ''), "a callback needs functions"),
    (('"centerWordVectors[currentCenterWord]"', '"centerWordVectors[nothing]"'), "call names 'centerWordVectors[nothing]'"),
    (('"outsideVectors", "dataset"]', '"outsideVectors", "dataset()"]'), "call must list what each argument"),
    (('samples = "K"', 'samples = "Q"'), "samples must be a declared size"),
    (('left_out = [1]', 'left_out = [0]'), "left_out must list hidden cases"),
    (('draws = 0 ', 'draws = 0\nfunctions = ["f"]\n'), "functions is for a callback"),
    (('[variants.inputs.word2Ind]\nrole = "vocabulary"\nrange = "W"', '[variants.inputs.word2Ind]\nrole = "vocabulary"'),
     "needs range"),
])
def test_a_bad_coded_function_or_argument_is_one_line(change, words):
    assert change[0] in WINDOW
    with pytest.raises(SpecError) as e:
        parse(WINDOW.replace(*change), "window.toml")
    assert str(e.value).startswith("window.toml:") and words in str(e.value) and "\n" not in str(e.value)


def test_only_a_variant_may_be_coded():
    with pytest.raises(SpecError, match="only a \\[\\[variants\\]\\] entry may be coded"):
        parse(WINDOW.replace('name = "window_naive_softmax_loss_and_gradients"',
                             'name = "window_naive_softmax_loss_and_gradients"\ncoded = true'), "window.toml")
