"""Walking a company's inbox: every candidate file once, in a stable order, never opening what must not be.

An explicit walk (no recursion, so any depth; no following of directory links, so no loops). A FIFO,
device or dangling link named like a document comes back with its problem and is never opened (opening
a FIFO blocks forever); a link to a file outside the company's inbox is refused.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

EXTENSIONS = (".xml", ".zip")


@dataclass(frozen=True)
class Entry:
    """A candidate file of the inbox, or what makes it unopenable (never opened then)."""

    path: Path
    problem: tuple[str, str] | None = None  # (reason code, reason)


def inbox_files(directory: Path) -> list[Entry]:
    """Candidate files under the company's inbox, in a stable order (case-insensitive extensions).

    An explicit walk (no recursion, no following of directory links, so any depth and no loops). A
    FIFO, device or dangling link named like a document is returned with its problem and never
    opened (opening a FIFO blocks forever); a link to a file outside the inbox is refused.
    """
    if not directory.is_dir():
        log.info("inbox %s does not exist: nothing to ingest", directory)
        return []
    inside = directory.resolve()
    found: list[Entry] = []
    stack = [directory]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                listed = list(entries)
        except OSError as exc:
            log.warning("cannot list %s: %s", safe_name(str(directory)), exc)
            continue
        for entry in listed:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif Path(entry.name).suffix.lower() in EXTENSIONS:
                found.append(classify_entry(entry, inside))
    return sorted(found, key=lambda e: os.fsencode(e.path.relative_to(directory)))


def classify_entry(entry: os.DirEntry, inside: Path) -> Entry:
    path = Path(entry.path)
    if entry.is_symlink():
        target = path.resolve()
        if not target.exists():
            return Entry(path, ("not_a_file", "a symbolic link to nothing (dangling link)"))
        if not target.is_relative_to(inside):
            return Entry(path, ("unsafe_path", "a symbolic link leading outside the company's inbox"))
    try:
        regular = stat.S_ISREG(path.stat().st_mode)
    except OSError as exc:
        return Entry(path, ("not_a_file", f"cannot be examined: {exc.strerror or exc}"))
    if not regular:
        return Entry(path, ("not_a_file", "not a regular file (a FIFO, device or socket named like a document)"))
    return Entry(path)


def safe_name(name: str) -> str:
    """A file name as text we can store and log: undecodable bytes (e.g. a Latin-1 name from a Windows
    share) are read as Windows-1252, and any byte still unreadable is written as \\xNN."""
    raw = os.fsencode(name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="backslashreplace")
