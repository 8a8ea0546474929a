"""Rendering of results: rich renderables for the terminal and Markdown for reports/.

Nothing here computes: every function takes finished result objects.
"""
from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gradproof.derive.results import ClaimResult
from gradproof.verify.results import GradientCheck, check_json  # noqa: F401 - check_json is rendered from here too

STATUS_STYLE = {"proved": "bold green", "refuted": "bold red", "unproved": "yellow"}


def derive_table(results: Sequence[ClaimResult], cached: bool = False) -> Table:
    proved = sum(r.status == "proved" for r in results)
    counts = ", ".join(f"{n} {s}" for s in ("refuted", "unproved") if (n := sum(r.status == s for r in results)))
    title = f"gradproof derive: {proved}/{len(results)} proved" + (f" ({counts})" if counts else "") + \
        (" (cached)" if cached else "")
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("model")
    table.add_column("claim")
    table.add_column("label", justify="center")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    for r in results:
        status = Text(r.status, style=STATUS_STYLE.get(r.status, ""))
        if r.status != "proved":
            status.append(f"\n{failure_reason(r)}", style="red" if r.status == "refuted" else "yellow")
        # Text, not str: a claim name is data and must never be read as rich markup
        table.add_row(Text(r.model), Text(r.name), Text(r.equation or ""), status, f"{r.seconds:.2f}")
    return table


def failure_reason(r: ClaimResult) -> str:
    if r.detail and (r.status == "refuted" or not r.explicit):
        return r.detail
    parts = []
    if not r.symbolic:
        parts.append(f"symbolic residual: {r.residual[:200]}")
    if r.detail:
        parts.append(r.detail)
    return "; ".join(parts)


def derive_json(results: Sequence[ClaimResult]) -> dict:
    return {"claims": [
        {"model": r.model, "name": r.name, "kind": r.kind, "equation": r.equation, "status": r.status,
         "seconds": round(r.seconds, 4), "symbolic": r.symbolic, "explicit": r.explicit,
         "explicit_cases": r.explicit_cases, **({"reason": failure_reason(r)} if r.status != "proved" else {})}
        for r in results]}


def derive_markdown(models: Sequence[tuple[str, str, str]], results: Sequence[ClaimResult], command: str) -> str:
    """models: (name, title, LaTeX of the loss).  Timings are left out so the report is reproducible."""
    lines = [
        "# Derive report",
        "",
        f"Written by `{command}`; a test fails when it is stale.",
        "For each model file (`derive/models/*.toml`), reverse mode derives the gradient of the loss with respect to"
        " each parameter from the definitions, one vector-Jacobian rule per primitive (the rows marked *derived*); each"
        " derived form is proved equal to index-level differentiation of the loss with symbolic sizes (derived minus"
        " claimed normalises to exactly 0), and checked again at the file's explicit sizes for every admitted index"
        " value. Each claim of the file is proved equal to the derived form the same two ways. \"Label\" is the"
        " equation's label in the document the claim comes from.",
        "",
        f"**{sum(r.status == 'proved' for r in results)} of {len(results)} proved.**",
    ]
    for name, title, loss in models:
        mine = [r for r in results if r.model == name]
        if not mine:
            continue
        lines += ["", f"## {title} (`{name}`)", "", "$$", loss, "$$", "",
                  "| claim | label | statement | status | explicit cases |",
                  "|---|---|---|---|---|"]
        for r in mine:
            status = r.status if r.status == "proved" else f"**{r.status}**: {failure_reason(r)}"
            name_cell = f"{r.name}" if r.kind == "claim" else f"*{r.name}*"
            lines.append(f"| {_md_cell(name_cell)} | {r.equation or ''} | ${_md_math(r.statement)}$ | {_md_cell(status)} |"
                         f" {r.explicit_cases} |")
    return "\n".join(lines) + "\n"


# -- gradient checks -----------------------------------------------------------------------------

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def _num(x: float) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def check_table(result: GradientCheck) -> Group:
    """The checks as a table (one row per gradient, its wrong entries under it), then the findings
    as lines: hygiene, kinks, how a search ended."""
    verdict = Text("PASSED", style="bold green") if result.passed else Text("FAILED", style="bold red")
    title = Text.assemble(f"gradproof verify {result.target}: ", verdict,
                          f"  ({result.evaluations} evaluations, {result.seconds:.2f} s, seed {result.seed}, {result.dtype})")
    table = Table(title=title, title_justify="left", header_style="bold")
    for column, justify in (("gradient", "left"), ("method", "left"), ("max abs err", "right"),
                            ("max rel err", "right"), ("abs tolerance", "right"), ("verdict", "left")):
        table.add_column(column, justify=justify)
    for c in result.checks:
        verdict_text = Text("ok" if c.passed else "WRONG", style="green" if c.passed else "bold red")
        if c.note:
            verdict_text.append(f" ({c.note})", style="yellow")
        table.add_row(Text(c.input), Text(c.method), _num(c.max_abs_error), _num(c.max_rel_error),
                      _num(c.tolerance), verdict_text)
        for e in c.worst:
            table.add_row("", Text(f"  {e.index}", style="red"), "", "", "",
                          Text(f"analytic {e.analytic:.6g} vs numeric {e.numeric:.6g}", style="red"))
        for b in c.blocks:
            table.add_row("", Text(f"  rows {b.rows}", style="yellow"), "", "", "",
                          Text(f"error along the probe {abs(b.analytic - b.numeric):.2g} "
                               f"(tolerance {b.tolerance:.2g})", style="yellow"))
    lines = [table]
    for f in result.hygiene:
        line = Text(f"{f.kind}: ", style=SEVERITY_STYLE.get(f.severity, ""))
        line.append(f.message, style="" if f.severity != "info" else "dim")
        lines.append(line)
    return Group(*lines)


def check_markdown(results: Sequence[GradientCheck], command: str, sizes: str) -> str:
    """No timings or error magnitudes (they vary by machine and BLAS), so the report is reproducible."""
    lines = ["# Verify report: the generated reference code against finite differences", "",
             f"Written by `{command}` at {sizes}, seed {results[0].seed if results else 0}; a test fails when it is stale.",
             "Each gradient of each function is compared with finite differences whose tolerance comes from",
             "their own error estimate (verify/check.py).", "",
             f"**{sum(r.passed for r in results)} of {len(results)} functions pass.**", "",
             "| function | gradient | coordinates | method | evaluations | verdict |", "|---|---|---:|---|---:|---|"]
    for r in results:
        for c in r.checks:
            lines.append(f"| `{r.target}` | {c.input} | {c.coordinates:,} | {c.method} | {r.evaluations} | "
                         f"{'ok' if c.passed else '**wrong**'}{' (' + c.note + ')' if c.note else ''} |")
    return "\n".join(lines) + "\n"


# -- the mutation table ---------------------------------------------------------------------------


def _yes(value) -> str:
    return "n/a" if value is None else ("**caught**" if value else "missed")


def mutation_markdown(table, command: str) -> str:
    """table: verify.mutation.MutationTable."""
    lines = ["# Mutation table: does the verifier catch wrong skip-gram gradients?", "",
             f"Written by `{command}` (verifier source {table.source}; a test fails when the verifier or the",
             "reference changes without this report being regenerated). Each mutant is a course-signature",
             "function whose loss is right and whose gradient is wrong in one way (verify/mutants.py).",
             "Times are wall-clock seconds on the machine that wrote the report.", ""]
    sizes = sorted({(r.vocab, r.dim) for r in table.mutants})
    has_torch = any(r.torch_caught is not None for r in table.mutants)
    for vocab, dim in sizes:
        lines += [f"## |V| = {vocab:,}, N = {dim}", "",
                  "| mutant | caught | seconds | evaluations | where (worst entry: analytic vs numeric) |"
                  + (" torch gradcheck fast mode | torch seconds |" if has_torch else ""),
                  "|---|---|---:|---:|---|" + ("---|---:|" if has_torch else "")]
        for r in (r for r in table.mutants if (r.vocab, r.dim) == (vocab, dim)):
            row = f"| {r.mutant} | {_yes(r.caught)} | {r.seconds:.2f} | {r.evaluations} | {r.where.replace('|', '/')} |"
            if has_torch:
                row += f" {_yes(r.torch_caught)} | {'' if r.torch_seconds is None else f'{r.torch_seconds:.2f}'} |"
            lines.append(row)
        caught = sum(r.caught for r in table.mutants if (r.vocab, r.dim) == (vocab, dim))
        total = sum(1 for r in table.mutants if (r.vocab, r.dim) == (vocab, dim))
        lines += ["", f"Caught {caught} of {total}; all {total} in "
                  f"{sum(r.seconds for r in table.mutants if (r.vocab, r.dim) == (vocab, dim)):.1f} s.", ""]
    lines += ["## The correct generated code over many seeds", "",
              "| function | size | seeds | false alarms | median check s | median call s | cost in calls |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for s in table.seeds:
        lines.append(f"| {s.signature} | {s.vocab:,} x {s.dim} | {s.seeds} | {s.false_alarms} | "
                     f"{s.median_seconds:.3f} | {s.median_call_seconds:.4f} | {s.median_seconds / s.median_call_seconds:.1f} |")
    if table.entries:
        lines += ["", "Single wrong entries: gradOutsideVecs of naiveSoftmaxLossAndGradient with one entry +1e-5, "
                  "inputs and probes seeded alike:", "",
                  "| size | seeds | caught |", "|---|---:|---:|"]
        lines += [f"| {e.vocab:,} x {e.dim} | {e.seeds} | {e.caught} |" for e in table.entries]
    if table.zoo:
        lines += zoo_markdown(table)
    return "\n".join(lines) + "\n"


_ZOO_SIZE = {"small": "small size", "large": "about 10^6 parameters"}


def zoo_markdown(table) -> list[str]:
    """The functions beyond word2vec (verify/zoo.py): planted bugs and the correct versions."""
    has_torch = any(r.torch_caught is not None for r in table.zoo)
    has_jax = any(r.jax_caught is not None for r in table.zoo)
    lines = ["", "## Beyond word2vec", "",
             "Functions a course teaches, each written with its gradient by hand (verify/zoo.py), with bugs planted",
             "of the kinds people make; the loss is always right. The same Problem is given to",
             "`torch.autograd.gradcheck(fast_mode=True)` and `jax.test_util.check_grads(order=1, modes=('rev',))`",
             "where installed (the user's gradient as the backward pass / custom VJP): \"n/a\" where not.", ""]
    for size in dict.fromkeys(r.size for r in table.zoo):
        mine = [r for r in table.zoo if r.size == size]
        lines += [f"### {_ZOO_SIZE.get(size, size)}", "",
                  "| function | parameters | planted bug | gradproof | seconds | evaluations | where (worst entry) |"
                  + (" torch fast |" if has_torch else "") + (" jax check_grads |" if has_jax else ""),
                  "|---|---:|---|---|---:|---:|---|" + ("---|" if has_torch else "") + ("---|" if has_jax else "")]
        for r in mine:
            row = (f"| {r.case} | {r.parameters:,} | {r.bug} | {_yes(r.caught)} | {r.seconds:.2f} | {r.evaluations} | "
                   f"{r.where.replace('|', '/')[:120]} |")
            row += f" {_yes(r.torch_caught)} |" if has_torch else ""
            row += f" {_yes(r.jax_caught)} |" if has_jax else ""
            lines.append(row)
        caught = sum(r.caught for r in mine)
        lines += ["", f"gradproof caught {caught} of {len(mine)}"
                  + (f"; torch fast mode {sum(bool(r.torch_caught) for r in mine)}" if has_torch else "")
                  + (f"; jax check_grads {sum(bool(r.jax_caught) for r in mine)}" if has_jax else "") + ".", ""]
    lines += ["### The correct versions over many seeds", "",
              "A false alarm is a right gradient called wrong. At exact kinks (zero rows of X and zero biases: units at",
              "relu's kink), gradproof reports \"not differentiable here\" and checks the gradient beside the kink.", "",
              "| function | size | parameters | seeds | gradproof false alarms | kinks reported | median check s |"
              + (" torch fast false alarms |" if has_torch else "") + (" jax false alarms |" if has_jax else ""),
              "|---|---|---:|---:|---:|---:|---:|" + ("---:|" if has_torch else "") + ("---:|" if has_jax else "")]
    for s in table.zoo_seeds:
        row = (f"| {s.case} | {s.size} | {s.parameters:,} | {s.seeds} | {s.false_alarms} | {s.kinks_reported} | "
               f"{s.median_seconds:.3f} |")
        row += f" {s.torch_false_alarms} of {s.baseline_seeds} |" if has_torch else ""
        row += f" {s.jax_false_alarms} of {s.baseline_seeds} |" if has_jax else ""
        lines.append(row)
    return lines


def mutation_rich(table) -> Table:
    has_torch = any(r.torch_caught is not None for r in table.mutants)
    out = Table(title="gradproof mutants: wrong gradients and whether they are caught", title_justify="left",
                header_style="bold")
    for column in ("mutant", "size", "caught", "seconds", "where") + (("torch fast", "torch s") if has_torch else ()):
        out.add_column(column, justify="right" if column in ("seconds", "torch s") else "left")
    for r in table.mutants:
        caught = Text("caught", style="green") if r.caught else Text("MISSED", style="bold red")
        row = [Text(r.mutant), f"{r.vocab}x{r.dim}", caught, f"{r.seconds:.2f}", Text(r.where)]
        if has_torch:
            row += [Text("n/a" if r.torch_caught is None else ("caught" if r.torch_caught else "missed"),
                         style="green" if r.torch_caught else "red"),
                    "" if r.torch_seconds is None else f"{r.torch_seconds:.2f}"]
        out.add_row(*row)
    for s in table.seeds:
        style = "green" if s.false_alarms == 0 else "bold red"
        out.add_row(Text(f"correct {s.signature}"), f"{s.vocab}x{s.dim}",
                    Text(f"{s.false_alarms} false alarms / {s.seeds} seeds", style=style),
                    f"{s.median_seconds:.2f}", Text(f"{s.median_seconds / s.median_call_seconds:.1f} calls per check"))
    return out


# -- derivation checks --------------------------------------------------------------------------

CHECK_STYLE = {"holds": "green", "fails": "bold red", "cannot_check": "yellow", "unparsed": "magenta",
               "defines": "cyan"}


def _verdict(step) -> str:
    """The verdict as the user reads it: "holds (in the numerator layout)", "fails", ..."""
    shown = step.status.replace("_", " ")
    return f"{shown} ({step.reading})" if step.reading and step.status == "holds" else shown


def _summary(result, inline: bool | None = None) -> str:
    eqs = [e for e in result.equations if inline is None or e.inline == inline]
    steps = [s for e in eqs for s in e.steps]
    count = {k: sum(s.status == k for s in steps) for k in ("holds", "fails", "cannot_check", "unparsed", "defines")}
    as_read = sum(s.status == "holds" and bool(s.reading) for s in steps)
    extra = f" ({as_read} as read in another convention)" if as_read else ""
    return (f"{count['holds']} hold{extra}, {count['fails']} fail, {count['cannot_check']} cannot be checked, "
            f"{count['unparsed']} unparsed, {count['defines']} define a name")


def derivation_table(result, inline: bool = False) -> Table:
    """result: verify.derivation.run.DocumentResult; the displays, or the inline equations."""
    what = "inline equations" if inline else "displays"
    title = f"gradproof check {result.document}, {what}: {_summary(result, inline)}"
    table = Table(title=title, title_justify="left", header_style="bold", show_lines=True)
    table.add_column("eq.", justify="right")
    table.add_column("where", justify="right")
    table.add_column("verdict")
    table.add_column("step and reason")
    for eq in (e for e in result.equations if e.inline == inline):
        lines = Text()
        for number, step in enumerate(eq.steps, 1):
            if number > 1:
                lines.append("\n")
            lines.append(f"{number}. {_verdict(step)}: ", style=CHECK_STYLE.get(step.status, ""))
            lines.append(f"{_short(step.lhs)} = {_short(step.rhs)}" if step.rhs else _short(step.lhs))
            if step.where and step.where != eq.where:
                lines.append(f"  ({step.where})", style="dim")
            lines.append(f"\n   {step.reason}", style="dim" if step.status in ("holds", "defines") else "")
            if step.counterexample:
                lines.append(f"\n   counterexample {step.counterexample}", style="red")
            if step.chain:
                lines.append(f"\n   {step.chain}", style="bold")
        table.add_row(Text(eq.label or ""), eq.where or str(eq.line),
                      Text(eq.status.replace("_", " "), style=CHECK_STYLE.get(eq.status, "")), lines)
    return table


def notation_text(result) -> Text:
    text = Text()
    for line in result.notation:
        text.append(line + "\n", style="bold" if line.startswith("notation:") else "dim")
    for note in result.notes:
        text.append(note + "\n", style="dim")
    return text


def _short(latex: str, limit: int = 70) -> str:
    flat = " ".join(latex.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def derivation_json(result) -> dict:
    return {"document": result.document, "notation": list(result.notation), "notes": list(result.notes),
            "equations": [
                {"label": eq.label, "line": eq.line, "where": eq.where, "inline": eq.inline, "status": eq.status,
                 "steps": [{"lhs": s.lhs, "rhs": s.rhs, "status": s.status, "reading": s.reading or None,
                            "counterexample": s.counterexample or None, "reason": s.reason, "line": s.line,
                            "column": s.column, "where": s.where, "subject": s.subject or None,
                            "against_subject": s.against_subject or None, "chain": s.chain or None}
                           for s in eq.steps]} for eq in result.equations]}


def derivation_markdown(result, command: str) -> str:
    """Reproducible: no timings.  Math is shown in $...$ so it renders on a code host."""
    lines = [f"# Derivation check: `{result.document}`", "",
             f"Written by `{command}`; a test fails when it is stale. Each step of each equation is checked",
             "by evaluating both sides exactly at small concrete sizes, for every value of its free indices, at random",
             "instantiations; a step that agrees is then proved an identity in the entries where the",
             "rational-function test succeeds; a failing step shows where it fails.", ""]
    lines += [f"- {line}" for line in result.notation] + [""]
    for inline in (False, True):
        eqs = [e for e in result.equations if e.inline == inline]
        if not eqs:
            continue
        what = "Inline equations" if inline else "Displays"
        lines += [f"## {what}", "",
                  f"**{_summary(result, inline)}; {len(eqs)} {'equations' if inline else 'displays'}.**", "",
                  "| eq. | line | verdict | step | reason | counterexample |", "|---|---:|---|---|---|---|"]
        for eq in eqs:
            for number, s in enumerate(eq.steps, 1):
                step = f"${_md_math(s.lhs)} = {_md_math(s.rhs)}$" if s.rhs else _md_cell(s.lhs)
                label = (eq.label or "") if number == 1 else ""
                verdict = _verdict(s)
                verdict = f"**{verdict}**" if s.status == "fails" else verdict
                reason = s.reason + (f" — {s.chain}" if s.chain else "")
                lines.append(f"| {label} | {s.line or ''} | {verdict} | {step} | {_md_cell(reason)} | "
                             f"{_md_cell(s.counterexample)} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_math(latex: str) -> str:
    return " ".join(latex.split()).replace("|", "\\vert ")


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "/")
