"""The gradproof command line: derive, generate, run, bench.

Exit codes: 0 success, 1 a claim failed (or generated code is stale with --check),
2 usage or input errors, 3 (check) nothing in the document could be checked.  Errors are one
line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import sys
import time
from pathlib import Path

from rich.console import Console

from gradproof.derive import about, cache, catalog
from gradproof.derive.results import ClaimResult

from .entry import COLLECT_EVERY
from .progress import bar as progress_bar

from .render import derive_json, derive_markdown, derive_table

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_UNCHECKED = 3  # check: nothing in the document could be checked


class UsageError(Exception):
    """A bad argument or input: reported on one line, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser() -> Parser:
    parser = Parser(prog="gradproof", description="Prove, generate and verify gradient derivations.")
    parser.add_argument("--version", action="version", version=about.versions())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    d = sub.add_parser("derive", help="derive every gradient of the models and prove it and every claim")
    d.add_argument("--model", action="append", metavar="NAME|FILE",
                   help=f"a shipped model or a model file (repeatable; default all shipped: {', '.join(catalog.names())})")
    d.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    d.add_argument("--no-cache", action="store_true", help="prove again even if nothing changed")
    d.add_argument("--jobs", type=_positive, default=2, metavar="N", help="worker processes (default 2)")

    g = sub.add_parser("generate", help="write the NumPy module generated from a model's proved forms")
    g.add_argument("--model", metavar="NAME|FILE", help="one model (default: every shipped model's module)")
    g.add_argument("--check", action="store_true", help="only report whether the module is stale (exit 1)")
    g.add_argument("--output", metavar="PATH", help="where to write (default: the shipped module, or NAME.py here)")

    r = sub.add_parser("run", help="the main job: derive and prove, generate the reference code, verify it, write the reports")
    r.add_argument("--reports", metavar="DIR", default="reports", help="directory for the reports (default ./reports)")
    r.add_argument("--json", metavar="PATH", help="also write the derive results as JSON")

    v = sub.add_parser("verify", help="check gradient code against finite differences")
    v.add_argument("target", nargs="?", metavar="FILE.py:FUNCTION",
                   help="a function with a known signature (default: the generated reference of every model)")
    v.add_argument("--vocab", type=_positive, default=5000, metavar="N", help="vocabulary size |V| (default 5000)")
    v.add_argument("--dim", type=_positive, default=100, metavar="D", help="embedding size N (default 100)")
    v.add_argument("--seed", type=_seed, default=0, metavar="S", help="seed for inputs and probes (default 0)")
    v.add_argument("--signature", metavar="NAME", help="the known signature FUNCTION has, when its name differs")
    v.add_argument("--model", metavar="NAME|FILE", help="draw the inputs a model file declares (its function of the "
                   "target's name, else its [function]); with no target, check the model's generated functions")
    v.add_argument("--inputs", metavar="SPEC", help="the function's interface: a TOML file (sizes, inputs, returns, "
                   "gradients) or SPEC.py:FUNCTION returning the arguments; for a function of any signature")
    v.add_argument("--size", action="append", default=[], metavar="NAME=VALUE", type=_size,
                   help="override a size of the --inputs spec (repeatable)")
    v.add_argument("--json", metavar="PATH", help="also write the result as JSON")
    v.add_argument("--timeout", type=_positive, default=600, metavar="SECONDS",
                   help="give up on the target after this long (default 600)")

    m = sub.add_parser("mutants", help="the mutation table: planted gradient bugs, caught or not, beside torch")
    m.add_argument("--sizes", default="5000x100,50000x300", metavar="VxN,...", help="sizes (default 5000x100,50000x300)")
    m.add_argument("--seeds", type=_positive, default=100, metavar="K", help="seeds for the correct code (default 100)")
    m.add_argument("--no-torch", action="store_true", help="skip torch.autograd.gradcheck even if installed")
    m.add_argument("--no-jax", action="store_true", help="skip jax.test_util.check_grads even if installed")
    m.add_argument("--zoo-sizes", default="small,large", metavar="SIZES",
                   help="sizes of the functions beyond word2vec: small, large (about 10^6 parameters), or none")
    m.add_argument("--zoo-seeds", type=_positive, default=20, metavar="K",
                   help="seeds for their correct versions (default 20)")
    m.add_argument("--report", default="reports/mutation.md", metavar="PATH", help="Markdown report (default reports/mutation.md)")
    m.add_argument("--json", metavar="PATH", help="also write the table as JSON ('-': standard output)")

    k = sub.add_parser("check", help="check every equation of a derivation, step by step")
    k.add_argument("document", metavar="DOC", help="a Markdown (.md), LaTeX (.tex) or notebook (.ipynb) document")
    k.add_argument("--notation", metavar="FILE|NAME", help="a TOML notation or model file, or a shipped notation by "
                   "name (skipgram); default: the document's front matter, a shipped notation gradproof detects, "
                   "and the document's own definitions")
    k.add_argument("--json", metavar="PATH", help="also write the verdicts as JSON")
    k.add_argument("--markdown", metavar="PATH", help="also write the verdicts as Markdown")
    k.add_argument("--trials", type=_positive, default=3, metavar="K", help="random instantiations (default 3)")

    a = sub.add_parser("grade", help="grade a submission (or a class with --out) in a sandbox, for Gradescope")
    a.add_argument("submission", metavar="SUBMISSION", help="a .py file or a submission directory; with --out, a directory of them")
    a.add_argument("--assignment", default="word2vec", metavar="NAME", help="a shipped assignment's rubric (word2vec, word2vec-math, softmax-classifier, two-layer-net)")
    a.add_argument("--rubric", metavar="FILE", help="a TOML rubric (instead of --assignment)")
    a.add_argument("--results", default="results.json", metavar="PATH",
                   help="where to write the results file for one submission (default ./results.json)")
    a.add_argument("--out", metavar="OUTDIR", help="grade every submission in SUBMISSION/ and write OUTDIR/<name>.json and summary.csv")
    a.add_argument("--jobs", type=_positive, default=2, metavar="N", help="submissions graded at once (default 2)")
    a.add_argument("--seed", type=_seed, metavar="S", help="the hidden cases' seed (default: the rubric's, else fresh)")
    a.add_argument("--json", action="store_true", help="print the results JSON instead of the table")
    a.add_argument("--format", choices=("gradescope", "prairielearn"), default="gradescope",
                   help="the results file's format: Gradescope's results.json (default) or PrairieLearn's")

    z = sub.add_parser("gradescope", help="write a Gradescope autograder zip: setup.sh, run_autograder, "
                       "gradproof's wheel, the rubric and its support files")
    z.add_argument("--assignment", default="word2vec", metavar="NAME", help="a shipped rubric (default word2vec)")
    z.add_argument("--rubric", metavar="FILE", help="a TOML rubric (instead of --assignment)")
    z.add_argument("--output", default="autograder.zip", metavar="PATH", help="the zip (default ./autograder.zip)")

    b = sub.add_parser("bench", help="benchmarks: proof time cold and cached, generated code against baselines")
    b.add_argument("--quick", action="store_true", help="small sizes, few repeats (a smoke test)")
    b.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown")
    b.add_argument("--json", metavar="PATH", help="also write the rows as JSON ('-': standard output)")
    b.add_argument("--check", nargs="*", metavar="DOC",
                   help="only `gradproof check` of each document (or a directory's documents) in a fresh process, "
                        "goal under 5 s each (default: tests/derivations and the seed)")
    b.add_argument("--grade", nargs="?", type=_positive, const=100, metavar="N",
                   help="only the class job, `gradproof grade CLASS --out OUT` on a sample class of N "
                        "(default 100) in a fresh process: wall and CPU time")
    b.add_argument("--against", metavar="COMMAND",
                   help="with --check or --grade: another gradproof command (an older install) run alternately "
                        "with this one on the same input: both times side by side, their ratio, and whether "
                        "the verdicts or scores agree")
    b.add_argument("--repeats", type=_positive, default=3, metavar="N",
                   help="with --check or --grade: runs of each (default 3)")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is a number from 0 up, not {value}")
    return value


def _size(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not '{text}'")
    return name.strip(), _positive(value.strip())


def _models(names: list[str] | None) -> list[tuple[str, Path]]:
    """(name as given, file) of each model asked for; every shipped model by default."""
    if not names:
        return [(n, catalog.shipped(n)) for n in catalog.names()]
    out = []
    for name in dict.fromkeys(names):
        path = catalog.find(name)
        if path is None:
            raise UsageError(f"unknown model '{name}' (known: {', '.join(catalog.names())}; or a path to a model file)")
        out.append((name, path))
    return out


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror or e}") from None


def load_model(name_or_path):
    """A model by name or path; a bad file is a usage error, one line with its location."""
    from gradproof.derive.model import ModelError, load

    try:
        return load(name_or_path)
    except ModelError as e:
        raise UsageError(str(e)) from None


def prove(models: list[tuple[str, Path]], use_cache: bool, jobs: int) -> tuple[tuple[ClaimResult, ...], bool]:
    """(results, all came from the cache).  SymPy is imported only on a cache miss; each model
    file is its own cache entry, keyed by its content."""
    contents = [(name, path, _read(path)) for name, path in models]
    found = {}
    if use_cache:
        for name, path, content in contents:
            hit = cache.load(path.stem, content)
            if hit is not None:
                found[name] = tuple(ClaimResult.from_json(c) for c in hit)
    missing = [(name, path, content) for name, path, content in contents if name not in found]
    if missing:
        from gradproof.derive.proofs import prove_model_items

        loaded = [load_model(path if not catalog.shipped(name) else name) for name, path, _ in missing]
        with progress_bar(Console(stderr=True), "proving") as update:
            results = prove_model_items(loaded, jobs=max(1, jobs), progress=update)
        for (name, path, content), model in zip(missing, loaded):
            mine = tuple(r for r in results if r.model == model.name)
            found[name] = mine
            cache.store(path.stem, content, [r.to_json() for r in mine])
    return tuple(r for name, _, _ in contents for r in found[name]), not missing


def _write(path: str, text: str) -> None:
    if path == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(path)
    try:
        if target.parent and not target.parent.exists():
            target.parent.mkdir(parents=True)
        target.write_text(text)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None


def cmd_derive(args, out: Console) -> int:
    models = _models(args.model)
    results, cached = prove(models, not args.no_cache, args.jobs)
    out.print(derive_table(results, cached))
    if args.json:
        _write(args.json, json.dumps(derive_json(results), indent=2) + "\n")
    return EXIT_OK if all(r.status == "proved" for r in results) else EXIT_FAILED


def reference_path() -> Path:
    from gradproof import derive

    return Path(derive.__file__).resolve().parent / "reference.py"


def _modules(args) -> dict[Path, str]:
    """Path -> text of the modules to generate."""
    from gradproof.derive.codegen import REGENERATE, generate_shipped, module_text, shipped_modules

    if args.model is None:
        shipped = generate_shipped()
        if args.output:
            if len(shipped) != 1:
                raise UsageError("--output needs --model: every shipped model has its own module")
        return shipped
    (name, path), = _models([args.model])
    model = load_model(name if catalog.shipped(name) else path)
    if args.output is None and catalog.shipped(name):  # its module in the package, with its group
        module = next(m for m, names in shipped_modules().items() if name in names)
        return {p: t for p, t in generate_shipped().items() if p == reference_path().parent / module}
    target = Path(args.output) if args.output else Path(path.stem.replace("-", "_") + ".py")
    command = f"{REGENERATE} --model {args.model} --output {target}"
    return {target: module_text([model], command)}


def cmd_generate(args, out: Console) -> int:
    modules = _modules(args)
    status = EXIT_OK
    for target, text in modules.items():
        current = target.read_text() if target.exists() else None
        if args.check:
            if current == text:
                out.print(f"[green]{target} is up to date[/]")
            else:
                out.print(f"[red]{target} is stale[/]: run `gradproof generate` to regenerate it")
                status = EXIT_FAILED
            continue
        if current != text:
            _write(str(target), text)
            out.print(f"wrote {target}")
        else:
            out.print(f"{target} unchanged")
    return status


def model_summaries() -> list[tuple[str, str, str]]:
    """(name, title, LaTeX of the loss) of every shipped model, for the report."""
    from gradproof.derive.models import MODELS

    return [(name, MODELS[name]().title, MODELS[name]().loss) for name in catalog.names()]


def cmd_run(args, out: Console) -> int:
    start = time.perf_counter()
    results, cached = prove(_models(None), True, 2)
    out.print(derive_table(results, cached))
    if args.json:
        _write(args.json, json.dumps(derive_json(results), indent=2) + "\n")
    status = cmd_generate(argparse.Namespace(check=False, output=None, model=None), out)
    report = Path(args.reports) / "derive.md"
    _write(str(report), derive_markdown(model_summaries(), results, "gradproof run"))
    out.print(f"wrote {report}")
    from .render import check_markdown, check_table

    with progress_bar(Console(stderr=True), "verifying") as update:
        checks, sizes = run_checks(seed=0, progress=update)
    for check in checks:
        out.print(check_table(check))
    report = Path(args.reports) / "verify.md"
    _write(str(report), check_markdown(checks, "gradproof run", sizes))
    out.print(f"wrote {report}")
    status = status if all(c.passed for c in checks) else EXIT_FAILED
    out.print(f"done in {time.perf_counter() - start:.1f} s")
    proved = all(r.status == "proved" for r in results)
    return EXIT_OK if proved and status == EXIT_OK else EXIT_FAILED


def run_checks(seed: int = 0, progress=None):
    """(checks, their sizes in words): what `gradproof run` verifies and reports/verify.md shows.
    progress(done, total, what), if given, is called as each check starts."""
    from gradproof.derive.codegen import shipped_modules

    tasks = [(name, lambda name=name: verify_built_in(*RUN_SIZE, seed=seed, names=(name,))[0]) for name in BUILT_IN]
    for module, names in shipped_modules().items():
        if module == "reference.py":
            continue  # the word2vec reference is checked above, at the course's sizes
        for name in names:
            tasks += model_tasks(load_model(name), seed, scale=4)
    checks = []
    for what, task in tasks:
        if progress:
            progress(len(checks), len(tasks), what)
        checks.append(task())
    if progress:
        progress(len(tasks), len(tasks), "")
    return checks, (f"word2vec's reference at |V| = {RUN_SIZE[0]:,}, N = {RUN_SIZE[1]}; "
                    "the other shipped models' functions at 4 times their files' sizes")


def model_tasks(model, seed: int, sizes: dict | None = None, scale: int = 1) -> list:
    """(name, check) for each function generated from a model whose arguments are all inputs of
    its file, at the file's sizes (overridden by sizes) times scale."""
    from gradproof.derive.codegen import compiled_functions

    from .model_check import check_function

    functions = compiled_functions(model)
    chosen = {k: v * scale for k, v in {**model.spec.sizes, **(sizes or {})}.items()}
    return [(f.name, lambda f=f: check_function(functions[f.name], model.spec, f, seed, chosen))
            for f in model.spec.functions()
            if f.name in functions and all(a in model.spec.inputs for a in f.arguments)]


def cmd_bench(args, out: Console) -> int:
    import shlex

    from .bench import (benchmark_markdown, benchmark_table, check_document_rows, check_documents, grade_against_rows,
                        run_benchmarks)

    if args.against and args.check is None and args.grade is None:
        raise UsageError("--against compares `gradproof check` or `gradproof grade` times: give it with --check "
                         "or --grade")
    if args.check is not None and args.grade is not None:
        raise UsageError("--check and --grade are separate benchmarks: give one of them")
    if args.grade is not None:
        against = shlex.split(args.against) if args.against else None
        with progress_bar(Console(stderr=True), "grading the class") as update:
            rows = grade_against_rows(args.grade, against, args.repeats, progress=update)
    elif args.check is not None:
        for named in args.check:  # a mistyped path is the user's to fix, not a row "not run"
            if not Path(named).exists():
                raise UsageError(f"--check {named}: no such file or directory")
        against = shlex.split(args.against) if args.against else None
        with progress_bar(Console(stderr=True), "checking") as update:
            rows = check_document_rows(check_documents(args.check), against, args.repeats, progress=update)
        if not rows:
            raise UsageError("no documents to check (give documents or directories of them)")
    else:
        # the derive rows time the real command, interpreter start and all
        with progress_bar(Console(stderr=True), "benchmarks") as update:
            rows = run_benchmarks(quick=args.quick, derive_command=[sys.executable, "-m", "gradproof.verify.cli",
                                                                    "derive"], progress=update)
    out.print(benchmark_table(rows))
    if args.markdown:
        _write(args.markdown, benchmark_markdown(rows))
    if args.json:
        _write(args.json, _dataclass_json({"version": about.version(), "rows": list(rows)}))
    return EXIT_OK


def _dataclass_json(data) -> str:
    """Results (frozen dataclasses, tuples of them) as strict JSON; a NaN or infinity is null."""
    import dataclasses
    import math

    def plain(x):
        if dataclasses.is_dataclass(x):
            return {f.name: plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        if isinstance(x, float) and not math.isfinite(x):
            return None
        return x

    return json.dumps(plain(data), indent=2, allow_nan=False) + "\n"


def _sizes(text: str) -> tuple[tuple[int, int], ...]:
    try:
        sizes = tuple(tuple(int(p) for p in item.lower().split("x")) for item in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or any(len(s) != 2 or min(s) <= 0 for s in sizes):
        raise UsageError(f"--sizes '{text}': expected sizes like 5000x100,50000x300")
    if any(vocab < 2 for vocab, _ in sizes):
        raise UsageError(f"--sizes '{text}': |V| must be at least 2 (negative sampling draws words other than "
                         "the outside word)")
    return sizes


def cmd_mutants(args, out: Console) -> int:
    from .mutation import mutation_table
    from .render import mutation_markdown, mutation_rich

    sizes = _sizes(args.sizes)
    zoo_sizes = tuple(z for z in args.zoo_sizes.split(",") if z and z != "none")
    if any(z not in ("small", "large") for z in zoo_sizes):
        raise UsageError(f"--zoo-sizes '{args.zoo_sizes}': expected small, large or none")
    with progress_bar(Console(stderr=True), "mutants") as update:
        table = mutation_table(sizes, args.seeds, with_torch=False if args.no_torch else None,
                               progress=update, zoo_sizes=zoo_sizes,
                               zoo_seed_count=args.zoo_seeds, with_jax=False if args.no_jax else None)
    out.print(mutation_rich(table))
    command = "gradproof mutants" + ("" if args.sizes == "5000x100,50000x300" else f" --sizes {args.sizes}") + \
        ("" if args.zoo_sizes == "small,large" else f" --zoo-sizes {args.zoo_sizes}")
    _write(args.report, mutation_markdown(table, command))
    if args.report != STDOUT:
        out.print(f"wrote {args.report}")
    if args.json:
        _write(args.json, _dataclass_json({"version": about.version(), "command": command, "table": table}))
    ok = all(r.caught for r in table.mutants) and all(s.false_alarms == 0 for s in table.seeds) and \
        all(r.caught for r in table.zoo) and all(s.false_alarms == 0 for s in table.zoo_seeds)
    return EXIT_OK if ok else EXIT_FAILED


RUN_SIZE = (5000, 100)  # the size `gradproof run` verifies the reference at
def cmd_check(args, out: Console) -> int:
    from .derivation.run import DocumentError, check_document
    from .render import derivation_json, derivation_markdown, derivation_table, notation_text

    try:
        with progress_bar(Console(stderr=True), "checking") as update:
            result = check_document(args.document, args.notation, args.trials, progress=update)
    except DocumentError as e:
        raise UsageError(str(e)) from None
    out.print(notation_text(result))
    out.print(derivation_table(result))
    if any(e.inline for e in result.equations):
        out.print(derivation_table(result, inline=True))
    if args.json:
        _write(args.json, json.dumps(derivation_json(result), indent=2) + "\n")
    if args.markdown:
        _write(args.markdown, derivation_markdown(result, f"gradproof check {args.document}"))
    if result.steps("fails"):
        return EXIT_FAILED
    if result.checked == 0:
        err = Console(stderr=True)
        err.print(f"gradproof: nothing in {args.document} could be checked: no step holds or fails "
                  "(see the reasons above)", markup=False, highlight=False, soft_wrap=True)
        return EXIT_UNCHECKED
    return EXIT_OK


BUILT_IN = ("naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient", "skipgram",
            "naiveSoftmaxLossAndGradientBatch", "naive_softmax_loss_and_gradients", "neg_sampling_loss_and_gradients")


def verify_built_in(vocab: int, dim: int, seed: int, progress=None, names: tuple[str, ...] = BUILT_IN):
    """The generated word2vec reference's functions (course signatures), checked in this process
    (it is our own code)."""
    from gradproof.derive import reference
    from gradproof.verify.check import check_problem
    from gradproof.verify.signatures import problem_for

    companions = {"naiveSoftmaxLossAndGradient": reference.naiveSoftmaxLossAndGradient}
    return [check_problem(problem_for(getattr(reference, name), vocab, dim, seed, companions=companions),
                          seed=seed, progress=progress) for name in names]


def cmd_verify(args, out: Console) -> int:
    from .render import check_json, check_table

    if args.model and args.inputs:
        raise UsageError("--model and --inputs both say how to draw the inputs: give one")
    if args.model and args.signature:
        raise UsageError("--model and --signature both say how to call the function: give one")
    inputs = args.inputs
    if args.model:
        path = catalog.find(args.model)
        if path is None:
            raise UsageError(f"unknown model '{args.model}' (known: {', '.join(catalog.names())}; or a path to a model file)")
        inputs = str(path)
    if args.target is None:
        if args.size and not args.model:
            raise UsageError("--size overrides a size of a model or spec: give --model too")
        results = verify_model_functions(args.model, args.seed, dict(args.size)) if args.model else \
            verify_built_in(args.vocab, args.dim, args.seed)
        for r in results:
            out.print(check_table(r))
        if args.json:
            _write(args.json, json.dumps({"results": [check_json(r) for r in results]}, indent=2) + "\n")
        return EXIT_OK if all(r.passed for r in results) else EXIT_FAILED
    from .child import TargetError, run_child

    if args.size and not inputs:
        raise UsageError("--size overrides a size of the --inputs spec: give --inputs SPEC (or --model) too")
    if args.inputs and args.signature:
        raise UsageError("--inputs and --signature both say how to call the function: give one")
    try:
        data = run_child(args.target, args.vocab, args.dim, args.seed, args.timeout, args.signature,
                         inputs=inputs, sizes=dict(args.size))
    except TargetError as e:
        raise UsageError(str(e)) from None
    result = check_from_json(data)
    out.print(check_table(result))
    if data.get("output"):
        out.print(f"[dim]the function printed {len(data['output'])} characters (kept in --json)[/]")
    if args.json:
        _write(args.json, json.dumps(data, indent=2) + "\n")
    return EXIT_OK if data["passed"] else EXIT_FAILED


def verify_model_functions(name: str, seed: int, sizes: dict):
    """The functions generated from one model (our own code, checked in this process): those of
    a shipped model from the package, those of a model file generated afresh."""
    model = load_model(name)
    unknown = [k for k in sizes if k not in model.spec.sizes]
    if unknown:
        raise UsageError(f"--size {unknown[0]}: no such size in {name} (sizes: {', '.join(model.spec.sizes)})")
    tasks = model_tasks(model, seed, sizes)
    if not tasks:
        raise UsageError(f"{name}: no generated function whose arguments are all inputs of the file "
                         "(a course signature is checked with FILE.py:FUNCTION --signature)")
    return [task() for _, task in tasks]


def check_from_json(data: dict):
    """The GradientCheck a validated child result describes (verify.child.validate)."""
    from .results import Block, Entry, Finding, GradientCheck, InputCheck

    def entry(e):
        return Entry(e["index"], _number(e["analytic"]), _number(e["numeric"]))

    def block(b):
        return Block(b["rows"], *(_number(b.get(k, "nan")) for k in ("analytic", "numeric", "tolerance")))

    checks = tuple(InputCheck(c["input"], c["passed"], c["method"], _number(c["max_abs_error"]), _number(c["max_rel_error"]),
                              _number(c["tolerance"]), c["coordinates"], tuple(entry(e) for e in c["worst"]),
                              tuple(block(b) for b in c["blocks"]), c["note"]) for c in data["checks"])
    return GradientCheck(data["target"], data["passed"], checks, tuple(Finding(f["kind"], f["severity"], f["message"])
                                                                       for f in data["hygiene"]),
                         data["seconds"], data["evaluations"], data["seed"], data["step"], data["dtype"], data["versions"])


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def cmd_grade(args, out: Console) -> int:
    from .grade import rubric as rubrics

    try:
        rubric = rubrics.load(args.rubric, args.assignment)
    except rubrics.RubricError as e:
        raise UsageError(str(e)) from None
    path = Path(args.submission)
    if args.out is not None:
        if not path.is_dir():
            raise UsageError(f"{path}: not a directory (--out grades a directory of submissions)")
        if Path(args.out).exists() and not Path(args.out).is_dir():
            raise UsageError(f"{args.out}: exists and is not a directory (--out is where the results go)")
        if args.json:
            raise UsageError("--json prints one submission's results; with --out they are in OUTDIR/<name>.json")
        if args.format != "gradescope":
            raise UsageError("--format prairielearn writes one submission's results (PrairieLearn grades one at a "
                             "time); a class run (--out) writes Gradescope's")
        from .grade.batch import submissions
        if not submissions(path):
            raise UsageError(f"{path}: no submissions in it (a .py file or a directory each)")
    else:
        _not_over(Path(args.results), path, "the submission")
        if args.rubric:
            _not_over(Path(args.results), Path(args.rubric), "the rubric")
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a killed grading job cleans up as after Ctrl-C
    try:
        return _grade(args, out, rubric, path)
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_gradescope(args, out: Console) -> int:
    from .grade import rubric as rubrics
    from .grade.autograder import AutograderError, build

    try:
        rubric = rubrics.load(args.rubric, args.assignment)
    except rubrics.RubricError as e:
        raise UsageError(str(e)) from None
    path = Path(args.rubric) if args.rubric else rubrics.SHIPPED / f"{args.assignment}.toml"
    try:
        packed = build(path, rubric.packages, rubric.support + rubric.files, Path(args.output))
    except AutograderError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"cannot write {args.output}: {e.strerror or e}") from None
    out.print(f"wrote {packed.path}: {len(packed.files)} files ({packed.wheel}, setup.sh, run_autograder, "
              f"assignment/{path.name}{' and its support files' if rubric.support else ''})", highlight=False)
    out.print("Upload it as the autograder (Configure Autograder > Zip file upload; Ubuntu 22.04 or newer).",
              highlight=False)
    return EXIT_OK


def _not_over(results: Path, given: Path, what: str) -> None:
    """--results must not overwrite the file it grades (or anything inside the directory)."""
    target, source = results.resolve(), given.resolve()
    if target == source or source in target.parents:
        raise UsageError(f"--results {results}: that is {what} (or inside it); writing the results there would "
                         "overwrite it: give another path")


def _grade(args, out, rubric, path) -> int:
    from .grade.batch import BatchMismatch
    from .grade.grader import GraderError, SubmissionError
    from .grade.sandbox import Sandbox, SandboxError

    # what a child must not see: the class (or the submission's original), the results, the rubric
    hide = [str(Path(p).resolve()) for p in (args.submission, args.out, args.results if args.out is None else None,
                                             args.rubric) if p]
    try:
        with Sandbox(limits=rubric.limits, hide=tuple(hide), packages=rubric.packages) as sandbox:
            if args.out is not None:
                return _grade_class(args, out, rubric, sandbox, path)
            return _grade_one(args, out, rubric, sandbox, path)
    except (SubmissionError, BatchMismatch) as e:
        raise UsageError(str(e)) from None
    except (GraderError, SandboxError, OSError) as e:
        Console(stderr=True, soft_wrap=True).print(f"gradproof: grader failure: {e}", markup=False, highlight=False)
        return EXIT_FAILED


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _grade_one(args, out, rubric, sandbox, path) -> int:
    from .grade import gradescope, prairielearn
    from .grade.grader import GraderError, grade
    from .grade.render import grade_table

    result = grade(path, rubric, sandbox, args.seed)
    writer = prairielearn if args.format == "prairielearn" else gradescope
    data = writer.results_json(result, rubric.assignment)
    wrong = writer.problems(data)
    if wrong:
        raise GraderError(f"the results do not fit {args.format}'s format: {wrong[0]}")
    _write(args.results, json.dumps(data, indent=1, allow_nan=False) + "\n")
    if args.json:
        out.print_json(data=data)
    else:
        out.print(grade_table(result))
        out.print(f"wrote {args.results}", highlight=False)
    return EXIT_OK


def _grade_class(args, out, rubric, sandbox, path) -> int:
    from .grade.batch import grade_directory
    from .grade.render import batch_summary

    with progress_bar(Console(stderr=True), "grading") as update:
        batch = grade_directory(path, Path(args.out), rubric, sandbox, args.jobs,
                                lambda done, total: update(done, total, ""), args.seed)
    out.print(batch_summary(batch))
    out.print(f"wrote {args.out}/<submission>.json and {args.out}/summary.csv", highlight=False)
    return EXIT_FAILED if any(r.error and r.error.startswith("grader error") for r in batch.rows) else EXIT_OK


COMMANDS = {"derive": cmd_derive, "generate": cmd_generate, "run": cmd_run, "bench": cmd_bench, "verify": cmd_verify,
            "mutants": cmd_mutants, "check": cmd_check,
            "grade": cmd_grade, "gradescope": cmd_gradescope}


STDOUT = "-"  # an output path that means standard output (the report then goes to standard error)
OUTPUTS = ("json", "markdown", "report", "results", "output")


def _check_outputs(args) -> None:
    """Every path the command will write, checked before any work: minutes of work must not end
    in a path that cannot be written."""
    for name in OUTPUTS:
        value = getattr(args, name, None)
        if isinstance(value, str) and value != STDOUT:
            if Path(value).is_dir():
                raise UsageError(f"--{name} {value}: a directory; give the path of a file")
            _check_parent(name, value)
    for name in ("reports", "out"):
        value = getattr(args, name, None)
        if isinstance(value, str):
            if Path(value).exists() and not Path(value).is_dir():
                raise UsageError(f"--{name} {value}: exists and is not a directory")
            _check_parent(name, value)


def _check_parent(name: str, value: str) -> None:
    ancestor = Path(value).absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"--{name} {value}: cannot be written ({ancestor} is not a directory)")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"--{name} {value}: cannot be written ({ancestor} is not writable)")


@contextlib.contextmanager
def _fewer_collections():
    """The collector's thresholds raised while a command runs (why: entry.py), restored after it
    (main may run in a caller's process)."""
    before = gc.get_threshold()
    gc.set_threshold(*COLLECT_EVERY)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def main(argv: list[str] | None = None) -> int:
    out, err = Console(), Console(stderr=True)
    try:
        args = build_parser().parse_args(argv)
        if any(getattr(args, name, None) == STDOUT for name in OUTPUTS):
            out = err  # standard output carries the file alone, for a pipe
        _check_outputs(args)
        with _fewer_collections():
            return COMMANDS[args.command](args, out)
    except UsageError as e:
        err.print(f"gradproof: error: {e}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print("gradproof: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
