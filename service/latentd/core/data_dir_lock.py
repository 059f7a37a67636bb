"""One server per data directory.

Two servers writing one data directory would corrupt its collections (each keeps a
mirror and an index of SQLite's rows and snapshots them on its own). `lock_data_dir`
takes an exclusive `flock` on LOCK_FILE in the directory for the life of the process
and records the process's id there, for the message another server gets. The kernel
releases the lock when the process exits, however it exits (SIGKILL included), so a
file left behind never blocks a start.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

# A collection's name cannot start with a dot, so this never names a collection.
LOCK_FILE = ".latentd.lock"
_WHAT_TO_DO = "choose another with --data-dir (env LATENT_DATA_DIR)"


class DataDirUnavailable(OSError):
    """The data directory cannot be used; the message names it and says what to do."""


class DataDirLock:
    """The held lock; `release` (or the process's exit) lets another server have it."""

    def __init__(self, directory: Path, fd: int) -> None:
        self.directory = directory
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the flock
            self._fd = None


def lock_data_dir(directory: Path) -> DataDirLock:
    """Create `directory` if need be, check that it is writable and lock it; raises
    DataDirUnavailable when it cannot be had."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise DataDirUnavailable(
            f"data directory {directory} is not writable ({exc.strerror or exc}); "
            f"{_WHAT_TO_DO}, or let latentd write there"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _recorded_pid(fd)
        os.close(fd)
        by = f"another latentd (pid {holder})" if holder else "another latentd"
        raise DataDirUnavailable(
            f"data directory {directory} is in use by {by}; two servers must not share "
            f"one: stop the other, or {_WHAT_TO_DO}"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return DataDirLock(directory, fd)


def _recorded_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None
