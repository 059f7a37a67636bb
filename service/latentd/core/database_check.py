"""Whether a collection's SQLite file can be trusted, checked before the collection opens.

SQLite reads only the pages a query touches, so a damaged file can open, serve reads and
fail at the first write that reaches a bad page. `PRAGMA integrity_check` reads every
page and index once (0.14 s for 100,000 documents of 384 dimensions, 208 MB, against
0.26 s to load their rows), so a damaged collection stops the start, with one line that
names the file, instead of failing requests later.

A damaged file stops the start rather than leaving the collection out: the file is the
only copy of its documents, and a server that came up without them would answer
NOT_FOUND for the collection and let a client create a new, empty one in its place. As
Qdrant does by default, the operator decides: restore the directory from a backup, or
move it out of the data directory to start without it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from latentd.core.errors import DataLoss

# SQLite's primary result codes for a damaged file, and for a file that is no database.
DAMAGE_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
SHOWN_PROBLEM_CHARS = 200


def is_damage(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in DAMAGE_CODES


def damaged(path: Path, problem: str) -> DataLoss:
    """The error of a damaged collection file, saying what the operator can do."""
    directory = path.parent
    problem = " ".join(problem.split())[:SHOWN_PROBLEM_CHARS]
    return DataLoss(
        f"collection {directory.name!r}: {path} is damaged ({problem}); restore {directory} "
        f"from a backup, or move it out of {directory.parent} to start without it"
    )


def check_database(path: Path) -> None:
    """DataLoss when `path` is missing, empty, not a database or damaged; OSError when
    it cannot be opened at all (permissions, a full disk)."""
    if not path.is_file() or path.stat().st_size == 0:
        raise damaged(path, "missing or empty")
    try:
        db = sqlite3.connect(path)
        try:
            rows = db.execute("PRAGMA integrity_check(1)").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        if is_damage(exc):
            raise damaged(path, str(exc)) from None
        raise OSError(f"collection {path.parent.name!r}: cannot open {path}: {exc}") from None
    if rows != [("ok",)]:
        raise damaged(path, "; ".join(str(row[0]) for row in rows))
