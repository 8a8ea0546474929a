"""Rich renderings of grading results; computes nothing."""
from __future__ import annotations

from collections import Counter

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .batch import Batch
from .results import Grade


def grade_table(grade: Grade) -> Group:
    table = Table(title=f"gradproof grade {grade.submission}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("test")
    table.add_column("score", justify="right")
    table.add_column("result")
    for t in grade.tests:
        verdict = Text("passed", style="green") if t.passed else Text("; ".join(t.diagnoses[:2]) or "failed", style="red")
        table.add_row(t.number, t.name, f"{t.score:g}/{t.max_score:g}", verdict)
    parts = [table, Text(f"score {grade.score:g} / {grade.max_score:g}  ({grade.seconds:.2f} s)", style="bold")]
    if grade.load_error:
        parts.insert(0, Text(f"could not import the submission: {grade.load_error}", style="red"))
    return Group(*parts)


def batch_summary(batch: Batch, top: int = 8) -> Group:
    scored = [r for r in batch.rows if r.score is not None]
    table = Table(title="score distribution", title_justify="left")
    table.add_column("score (% of max)")
    table.add_column("submissions", justify="right")
    table.add_column("")
    buckets = Counter(min(int(10 * r.score / r.max_score), 9) if r.max_score else 9 for r in scored)
    width = max(buckets.values(), default=1)
    for b in range(9, -1, -1):
        label = "90-100" if b == 9 else f"{10 * b}-{10 * b + 9}"
        table.add_row(label, str(buckets.get(b, 0)), "█" * round(30 * buckets.get(b, 0) / width))
    common = Counter(d for r in scored for d in r.diagnoses)
    diagnoses = Table(title="most common diagnoses", title_justify="left")
    diagnoses.add_column("submissions", justify="right")
    diagnoses.add_column("diagnosis")
    for text, count in common.most_common(top):
        diagnoses.add_row(str(count), Text(text))  # text, never markup: a diagnosis may quote the submission
    failed = [r for r in batch.rows if r.error]
    mean = sum(r.score for r in scored) / len(scored) if scored else 0.0
    unimportable = sum(1 for r in scored if r.load_error)
    line = Text(f"{len(batch.rows)} submissions: {batch.graded} graded now, {batch.skipped} already graded; "
                f"{unimportable} could not be imported; mean score {mean:.2f}; {batch.seconds:.1f} s", style="bold")
    parts = [table, diagnoses, line]
    for r in failed:
        parts.append(Text(f"not graded: {r.submission}: {r.error}", style="red"))
    return Group(*parts)
