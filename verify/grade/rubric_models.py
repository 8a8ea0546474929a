"""The shipped rubrics' own models (rubrics/models/*.toml), generated once and committed: their functions
and the definitions the rubrics grade (a layer's forward output), so that grading with a shipped rubric
imports no SymPy to compute expected values.

    python -m gradproof.verify.grade.rubric_models          # rewrite verify/grade/generated/*.py
    python -m gradproof.verify.grade.rubric_models --check  # exit 1 if one is stale

Each generated module records the SHA-256 of the model file it was printed from; a model file that no
longer matches (edited in place) is generated afresh, as any other model is (verify.grade.from_model).
"""
from __future__ import annotations

import hashlib
import importlib
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


def expected_files() -> dict[Path, str]:
    graded = _graded_definitions()
    return {GENERATED / f"{module_name(p)}.py": text(p, graded.get(p.name, [])) for p in sorted(MODELS.glob("*.toml"))}


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = 0
    for path, content in expected_files().items():
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
