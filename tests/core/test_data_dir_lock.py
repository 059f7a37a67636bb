"""One server per data directory: the lock is exclusive across processes, names the
holder's pid, goes with its holder (even SIGKILLed), and a directory that cannot be
written is named before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from latentd.core.data_dir_lock import LOCK_FILE, DataDirUnavailable, lock_data_dir

HOLD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from latentd.core.data_dir_lock import lock_data_dir\n"
    "lock = lock_data_dir(Path(sys.argv[1]))\n"
    "print('locked', flush=True)\n"
    "time.sleep(600)\n"
)


def test_a_second_lock_is_refused_naming_the_directory_and_the_holder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    held = lock_data_dir(data)  # creates the directory
    try:
        assert (data / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        with pytest.raises(DataDirUnavailable) as refused:
            lock_data_dir(data)
        message = str(refused.value)
        assert str(data) in message and f"pid {os.getpid()}" in message
        assert "--data-dir" in message
    finally:
        held.release()
    lock_data_dir(data).release()  # free again once released


def test_the_lock_goes_with_a_killed_holder(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(DataDirUnavailable, match=f"pid {holder.pid}"):
            lock_data_dir(tmp_path)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    # The file stays behind; the lock does not.
    assert (tmp_path / LOCK_FILE).exists()
    lock_data_dir(tmp_path).release()


def test_a_directory_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DataDirUnavailable, match="is not writable") as refused:
        lock_data_dir(blocker / "data")
    assert str(blocker / "data") in str(refused.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes any directory")
def test_a_read_only_directory_is_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o500)
    try:
        with pytest.raises(DataDirUnavailable, match="Permission denied") as refused:
            lock_data_dir(data)
        assert str(data) in str(refused.value)
    finally:
        data.chmod(0o700)
