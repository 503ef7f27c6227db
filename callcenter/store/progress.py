"""Progress bars for long store jobs (seed, segment recompute) on a terminal.

A job reports ``(step, done, total)`` through a plain callback; on a terminal the
callback drives a rich progress bar with one line per step, elsewhere (CI logs,
pipes) it does nothing, so output stays clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

ProgressCallback = Callable[[str, int, int], None]


def _ignore(step: str, done: int, total: int) -> None:
    return None


@contextmanager
def progress_reporter(title: str, *, enabled: bool = True) -> Iterator[ProgressCallback]:
    """Yield a ``report(step, done, total)`` callback, shown as bars when stdout is a tty."""
    if not enabled or not sys.stdout.isatty():
        yield _ignore
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns) as progress:
        tasks: dict[str, TaskID] = {}
        progress.console.print(title)

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = progress.add_task(step, total=total)
            progress.update(tasks[step], completed=done, total=total)

        yield report
