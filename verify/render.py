"""Rendering of results: rich renderables for the terminal and Markdown for reports/.

Nothing here computes: every function takes finished result objects.
"""
from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from derive.results import ClaimResult
from verify.results import GradientCheck

STATUS_STYLE = {"proved": "bold green", "failed": "bold red"}


def derive_table(results: Sequence[ClaimResult], cached: bool = False) -> Table:
    proved = sum(r.status == "proved" for r in results)
    title = f"gradproof derive: {proved}/{len(results)} claims proved" + (" (cached)" if cached else "")
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("model")
    table.add_column("claim")
    table.add_column("seed eq.", justify="center")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    for r in results:
        status = Text(r.status, style=STATUS_STYLE.get(r.status, ""))
        if r.status != "proved":
            status.append(f"\n{failure_reason(r)}", style="red")
        # Text, not str: a claim name is data and must never be read as rich markup
        table.add_row(Text(r.model), Text(r.name), Text(r.equation or ""), status, f"{r.seconds:.2f}")
    return table


def failure_reason(r: ClaimResult) -> str:
    parts = []
    if not r.symbolic:
        parts.append(f"symbolic residual: {r.residual[:200]}")
    if not r.explicit:
        parts.append(r.detail or "explicit check failed")
    return "; ".join(parts)


def derive_json(results: Sequence[ClaimResult]) -> dict:
    return {"claims": [
        {"model": r.model, "name": r.name, "equation": r.equation, "status": r.status,
         "seconds": round(r.seconds, 4), "symbolic": r.symbolic, "explicit": r.explicit,
         "explicit_cases": r.explicit_cases, **({"reason": failure_reason(r)} if r.status != "proved" else {})}
        for r in results]}


def derive_markdown(models: Sequence[tuple[str, str, str]], results: Sequence[ClaimResult], command: str) -> str:
    """models: (name, title, LaTeX of J).  Timings are left out so the report is reproducible."""
    lines = [
        "# Derive report: skip-gram gradients",
        "",
        f"Written by `{command}`; a test fails when it is stale.",
        "Each claim is derived by differentiating the model's loss at index level (symbolic sizes N, |V| = W, K, T, B)"
        " and proved equal to its closed form: derived minus claimed normalises to exactly 0. A second, independent check"
        " repeats it at explicit small sizes for every admitted index value. \"Seed eq.\" is the equation number of the"
        " seed derivation the claim corresponds to.",
        "",
        f"**{sum(r.status == 'proved' for r in results)} of {len(results)} claims proved.**",
    ]
    for name, title, loss in models:
        mine = [r for r in results if r.model == name]
        if not mine:
            continue
        lines += ["", f"## {title} (`{name}`)", "", "$$", loss, "$$", "",
                  "| claim | seed eq. | statement | status | explicit cases |",
                  "|---|---|---|---|---|"]
        for r in mine:
            status = "proved" if r.status == "proved" else f"**failed**: {failure_reason(r)}"
            lines.append(f"| {r.name} | {r.equation or ''} | ${r.statement}$ | {status} | {r.explicit_cases} |")
    return "\n".join(lines) + "\n"


# -- gradient checks -----------------------------------------------------------------------------

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def _num(x: float) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def check_table(result: GradientCheck) -> Table:
    verdict = Text("PASSED", style="bold green") if result.passed else Text("FAILED", style="bold red")
    title = Text.assemble(f"gradproof verify {result.target}: ", verdict,
                          f"  ({result.evaluations} evaluations, {result.seconds:.2f} s, seed {result.seed})")
    table = Table(title=title, title_justify="left", header_style="bold")
    for column, justify in (("input", "left"), ("method", "left"), ("max abs err", "right"),
                            ("max rel err", "right"), ("tolerance", "right"), ("verdict", "left")):
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
    for f in result.hygiene:
        table.add_row(Text(f.kind, style=SEVERITY_STYLE.get(f.severity, "")), Text(f.message), "", "", "",
                      Text(f.severity, style=SEVERITY_STYLE.get(f.severity, "")))
    return table


def check_json(result: GradientCheck) -> dict:
    data = result.to_json()
    return {
        "target": data["target"], "passed": data["passed"],
        "checks": [{k: c[k] for k in ("input", "passed", "method", "max_abs_error", "max_rel_error", "tolerance",
                                      "coordinates", "worst", "blocks", "note")} for c in data["checks"]],
        "hygiene": data["hygiene"], "seconds": round(data["seconds"], 4), "evaluations": data["evaluations"],
        "seed": data["seed"], "step": data["step"], "dtype": data["dtype"], "versions": data["versions"],
    }


def check_markdown(results: Sequence[GradientCheck]) -> str:
    lines = ["| target | input | method | max rel err | tolerance | verdict |", "|---|---|---|---:|---:|---|"]
    for r in results:
        for c in r.checks:
            lines.append(f"| `{r.target}` | {c.input} | {c.method} | {c.max_rel_error:.2g} | {c.tolerance:.2g} | "
                         f"{'ok' if c.passed else '**wrong**'}{' (' + c.note + ')' if c.note else ''} |")
    return "\n".join(lines) + "\n"
