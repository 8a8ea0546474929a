"""A submission's files, walked and copied iteratively and within bounds.

An upload can hold anything: thousands of nested directories (Python's recursive walks then
raise RecursionError), millions of files, links, FIFOs.  Every walk of a submission goes
through here: no recursion, no symbolic link followed, only regular files and directories,
and no deeper, more numerous or larger than the bounds below; what is left out is counted,
so the grader can say so.
"""
from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass

MAX_DEPTH = 32            # a course submission is a few levels deep
MAX_ENTRIES = 5000        # files and directories
MAX_BYTES = 256 << 20     # all files together


@dataclass(frozen=True)
class Copied:
    files: int
    skipped: int          # entries left out: links, FIFOs, too deep, too many, too large


def entries(top: str) -> Iterator[tuple[str, str, bool]]:
    """(path, path relative to top's parent, is a directory) for top and what lies below it, breadth
    first, regular files and directories only; at most MAX_ENTRIES, MAX_DEPTH levels down."""
    base = os.path.dirname(os.path.abspath(top).rstrip("/")) or "/"
    top = os.path.abspath(top)
    try:
        info = os.lstat(top)
    except OSError:
        return
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        return
    queue, count = [(top, 0)], 0
    while queue:
        path, depth = queue.pop(0)
        is_dir = stat.S_ISDIR(os.lstat(path).st_mode)
        count += 1
        if count > MAX_ENTRIES:
            return
        yield path, os.path.relpath(path, base), is_dir
        if not is_dir or depth >= MAX_DEPTH:
            continue
        try:
            with os.scandir(path) as listing:
                children = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue
        for child in children:
            try:
                mode = child.stat(follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
                queue.append((child.path, depth + 1))


def paths(top: str) -> Iterator[str]:
    """Every path below top (top included), bounded as entries() is."""
    for path, _, _ in entries(top):
        yield path


def count(top: str) -> int:
    """Everything below top as a plain walk would see it (links and special files included), up to
    one more than the bound: to tell how much a bounded walk left out."""
    seen, queue = 0, [top]
    while queue and seen <= MAX_ENTRIES * 2:
        path = queue.pop()
        seen += 1
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                queue += [e.path for e in os.scandir(path)]
        except OSError:
            continue
    return seen


def copy(files: list[str], destination: str) -> Copied:
    """Copy each of files (a file or a directory) into destination, within the bounds; metadata of
    files is kept (as shutil.copy2 does), links and special files are never followed or copied."""
    copied = total = skipped = 0
    for top in files:
        listed = 0
        for path, relative, is_dir in entries(top):
            listed += 1
            target = os.path.join(destination, relative)
            if is_dir:
                os.makedirs(target, exist_ok=True)
                continue
            size = os.lstat(path).st_size
            if total + size > MAX_BYTES:
                skipped += 1
                continue
            try:
                shutil.copy2(path, target, follow_symlinks=False)
            except OSError:
                skipped += 1
                continue
            total += size
            copied += 1
        if os.path.isdir(top) and not os.path.islink(top):
            skipped += max(0, count(top) - listed)
        elif listed == 0:
            skipped += 1
    return Copied(copied, skipped)
