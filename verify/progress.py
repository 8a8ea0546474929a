"""Progress on long work: a rich bar with counts, elapsed time and time left, on a terminal
only (a pipe or a CI log gets the results alone).  Commands pass the bar's update function
down as a plain callback, update(done, total, text), so the stages know nothing of rich."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

Update = Callable[[int, int, str], None]


def _nothing(done: int, total: int, text: str) -> None:
    return None


@contextmanager
def bar(console: Console, label: str) -> Iterator[Update]:
    """A progress bar on console while the block runs; its update(done, total, text)."""
    if not console.is_terminal:
        yield _nothing
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("left"), TimeRemainingColumn(), TextColumn("[dim]{task.fields[now]}"))
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=None, now="")

        def update(done: int, total: int, text: str = "") -> None:
            progress.update(task, completed=done, total=total, now=text)

        yield update
