"""The shipped rubrics' own models (rubrics/models/*.toml), generated once and committed: their functions
and the definitions the rubrics grade (a layer's forward output), so that grading with a shipped rubric
imports no SymPy to compute expected values.

    python -m gradproof.verify.grade.rubric_models          # rewrite verify/grade/generated/*.py
    python -m gradproof.verify.grade.rubric_models --check  # exit 1 if one is stale

Each generated module records the SHA-256 of the model file it was printed from; a model file that no
longer matches (edited in place) is generated afresh, as any other model is (verify.grade.from_model).

The same command writes the mutants of each model function the shipped rubrics grade (generated/mutants__*.py:
per output, the ordered (message, NumPy function) that verify.grade.mistakes derives with SymPy), so that
naming a wrong answer of a shipped rubric imports no SymPy either; the same SHA-256 rule holds for them.
"""
from __future__ import annotations

import hashlib
import importlib
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = HERE / "rubrics" / "models"
GENERATED = HERE / "generated"
COMMAND = "python -m gradproof.verify.grade.rubric_models"


def module_name(model: Path) -> str:
    return model.stem.replace("-", "_")


def digest(model: Path) -> str:
    return hashlib.sha256(model.read_bytes()).hexdigest()


def generated(model: str | Path):
    """The committed module of a shipped rubric's model, if model is one and the module matches it; else None."""
    path = Path(model).resolve()
    if path.parent != MODELS or not (GENERATED / f"{module_name(path)}.py").is_file():
        return None
    module = importlib.import_module(f"{__package__}.generated.{module_name(path)}")
    return module if getattr(module, "SOURCE_SHA256", None) == digest(path) else None


DERIVE_MODELS = HERE.parent.parent / "derive" / "models"  # the shipped models the rubrics name ("naive-softmax")


def mutants_module_name(model: Path, function: str) -> str:
    return f"mutants__{module_name(model)}__{re.sub(r'[^0-9A-Za-z_]', '_', function)}"


def generated_mutants(model: str | Path, function: str, loss: str, gradients: tuple):
    """The committed mutants module of a shipped model's function, if there is one and it matches the model
    file (its SHA-256) and the function's outputs; else None."""
    path = Path(model).resolve()
    if path.parent not in (MODELS, DERIVE_MODELS.resolve()) or not path.is_file():
        return None
    name = mutants_module_name(path, function)
    if not (GENERATED / f"{name}.py").is_file():
        return None
    module = importlib.import_module(f"{__package__}.generated.{name}")
    current = (getattr(module, "SOURCE_SHA256", None) == digest(path) and module.LOSS == loss
               and module.GRADIENTS == tuple(tuple(g) for g in gradients))
    return module if current else None


def definition(module, name: str, like: str):
    """The generated function computing a definition for the arguments of function `like`, or None."""
    return getattr(module, f"{name}__for__{like}", None) if module is not None else None


def _graded_definitions() -> dict[str, list[tuple[str, str]]]:
    """model file name -> [(definition, like)]: the definitions the shipped rubrics grade by name."""
    from gradproof.derive import spec as specs
    from gradproof.derive import toml

    out: dict[str, list[tuple[str, str]]] = {}
    for rubric in sorted((HERE / "rubrics").glob("*.toml")):
        data, _ = toml.read(rubric)
        for entry in data.get("function") or []:
            model = (rubric.parent / str(entry.get("model", ""))).resolve()
            if model.parent != MODELS or not model.is_file():
                continue
            spec = specs.load(model)
            defined = {d.name for d in spec.definitions}
            like = entry.get("like", entry["name"])
            for name in entry.get("returns") or ():
                if name in defined and (name, like) not in out.setdefault(model.name, []):
                    out[model.name].append((name, like))
    return out


def text(model: Path, graded: list[tuple[str, str]]) -> str:
    """The module for one model: the generator's module text, then each graded definition as a function."""
    from gradproof.derive.codegen import module_text
    from gradproof.derive.gradients import numpy_source
    from gradproof.derive.model import load

    m = load(model)
    body = module_text([m], COMMAND)
    functions = {f.name: f for f in m.spec.declared()}
    for name, like in graded:
        source = numpy_source(m, m.symbols[name], f"{name}__for__{like}", list(functions[like].arguments))
        source = source.replace("import numpy as np\n", "", 1)
        for block in [b for b in source.split("\n\n\n") if b.strip().startswith("def ")][:-1]:
            if block.strip() in body:  # a runtime helper the module already has
                source = source.replace(block, "")
        body += "\n\n" + source.strip("\n") + "\n"
    return body + f'\n\nSOURCE_SHA256 = "{digest(model)}"  # of the model file: a changed file is generated afresh\n'


def _graded_mutants() -> list[tuple]:
    """(model, function, loss, gradients) of each model function the shipped rubrics name mistakes for."""
    from .from_model import _Mutants
    from .rubric import load, shipped

    out = []
    for assignment in shipped():
        for f in load(assignment=assignment).functions.values():
            if isinstance(f.mutants, _Mutants) and f.mutants.key not in out:
                out.append(f.mutants.key)
    return out


def mutants_text(model: str, function: str, loss: str, gradients: tuple) -> str:
    """The module of one model function's mutants: each printed once as a NumPy function, then MUTANTS:
    output -> (scalar, ((message, function or None where the printer cannot print it, transposed), ...))."""
    from gradproof.derive.printer import RUNTIME, helpers

    from gradproof.derive.gradients import numpy_source

    from .mistakes import expressions

    path = Path(model).resolve()
    m, arguments, found = expressions(model, loss, tuple(tuple(g) for g in gradients))
    needed, bodies, table = [], [], []
    for role, (scalar, entries) in found.items():
        rows = []
        for message, expr, transposed in entries:
            name = f"mutant_{len(bodies)}"
            try:
                source = numpy_source(m, expr, name, arguments)
                exec(compile(source, name, "exec"), {})  # as mistakes compiles it: a mutant that fails is none
            except Exception:
                rows.append(f"        ({message!r}, None, {transposed}),")
                continue
            body = source[source.index(f"def {name}("):]
            needed += [h for h in helpers(body) if h not in needed]
            bodies.append(body.rstrip("\n"))
            rows.append(f"        ({message!r}, {name}, {transposed}),")
        table.append(f"    {role!r}: ({scalar}, (\n" + "\n".join(rows) + "\n    )),")
    lines = [f"# Generated by `{COMMAND}` from {path.name}.",
             "# Do not edit: a test fails when regenerating would change this file.",
             f'"""Mutants of {function} (model {path.name}): the mistakes verify.grade.mistakes derives, printed."""',
             "import numpy as np", "", ""]
    text = "\n".join(lines) + "".join(RUNTIME[h] for h in needed) + "\n\n" + "\n\n\n".join(bodies) + "\n\n\n"
    text += f"FUNCTION = {function!r}\nLOSS = {loss!r}\nGRADIENTS = {tuple(tuple(g) for g in gradients)!r}\n"
    text += f"ARGUMENTS = {tuple(arguments)!r}\nMUTANTS = {{\n" + "\n".join(table) + "\n}\n"
    return text + f'\nSOURCE_SHA256 = "{digest(path)}"  # of the model file: a changed file is derived afresh\n'


def expected_files() -> dict[Path, str]:
    graded = _graded_definitions()
    return {GENERATED / f"{module_name(p)}.py": text(p, graded.get(p.name, [])) for p in sorted(MODELS.glob("*.toml"))}


def expected_mutants_files() -> dict[Path, str]:
    return {GENERATED / f"{mutants_module_name(Path(key[0]).resolve(), key[1])}.py": mutants_text(*key)
            for key in _graded_mutants()}


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = 0
    expected = {**expected_files(), **expected_mutants_files()}
    for path in sorted(set(GENERATED.glob("mutants__*.py")) - set(expected)):  # a function no rubric grades now
        stale += 1
        if check:
            print(f"{path} is stale: run {COMMAND}")
        else:
            path.unlink()
            print(f"removed {path}")
    for path, content in expected.items():
        if path.is_file() and path.read_text() == content:
            continue
        stale += 1
        if check:
            print(f"{path} is stale: run {COMMAND}")
        else:
            path.write_text(content)
            print(f"wrote {path}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
