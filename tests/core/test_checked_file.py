"""checked_file: files saved atomically with a manifest, and verified before use."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from latentd.core import checked_file
from latentd.core.checked_file import (
    IntegrityError,
    file_sha256,
    manifest_path,
    remove_stale_temporaries,
    save_checked,
    verify,
    write_manifest,
)

META = {"n": 3, "dim": 2, "space": "ip"}
DATA = bytes(range(256)) * 40


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    save_checked(path, lambda tmp: tmp.write_bytes(DATA), META)
    return path


def test_save_writes_file_and_manifest(saved: Path) -> None:
    assert saved.read_bytes() == DATA
    assert sorted(p.name for p in saved.parent.iterdir()) == ["data.bin", "data.bin.manifest.json"]
    record = json.loads(manifest_path(saved).read_text())
    assert record == {
        "format": 1,
        "file": "data.bin",
        "size": len(DATA),
        "sha256": hashlib.sha256(DATA).hexdigest(),
        "metadata": META,
    }
    verify(saved, META)
    verify(saved, {"n": 3})  # only the keys the caller asks about are compared


def test_sha256_reads_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checked_file, "HASH_CHUNK_BYTES", 1000)
    path = tmp_path / "f"
    path.write_bytes(DATA)  # 10240 bytes: ten full reads and a partial one
    assert file_sha256(path) == hashlib.sha256(DATA).hexdigest()
    path.write_bytes(b"")
    assert file_sha256(path) == hashlib.sha256(b"").hexdigest()


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"

    def fail(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_checked(path, fail, META)
    assert list(tmp_path.iterdir()) == []


def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(data)


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda p: manifest_path(p).unlink(), "no manifest data.bin.manifest.json"),
        (lambda p: manifest_path(p).write_text("{"), "is not JSON"),
        (lambda p: manifest_path(p).write_bytes(b"\xff\xfe"), "is not JSON"),
        (lambda p: manifest_path(p).write_text("[1]"), "has format 'list'"),
        (lambda p: manifest_path(p).write_text(" " * 70_000), "is over 65536 bytes"),
        (lambda p: p.unlink(), "cannot stat the file"),
        (lambda p: p.write_bytes(DATA[:-1]), "file is 10239 bytes, its manifest says 10240"),
        (lambda p: flip(p, len(DATA) // 2), "SHA-256 differs from its manifest"),
        (lambda p: flip(p, 0), "SHA-256 differs from its manifest"),
    ],
)
def test_damage_is_detected(saved: Path, damage: Callable[[Path], object], why: str) -> None:
    damage(saved)
    with pytest.raises(IntegrityError, match=why):
        verify(saved, META)


def edit_manifest(path: Path, **changes: object) -> None:
    record = json.loads(manifest_path(path).read_text())
    record.update(changes)
    manifest_path(path).write_text(json.dumps(record))


def test_manifest_fields_are_checked(saved: Path) -> None:
    edit_manifest(saved, format=2)
    with pytest.raises(IntegrityError, match="has format 2, expected 1"):
        verify(saved, META)
    edit_manifest(saved, format=1, file="other.bin")
    with pytest.raises(IntegrityError, match=r"is for 'other\.bin'"):
        verify(saved, META)
    edit_manifest(saved, file="data.bin", metadata=None)
    with pytest.raises(IntegrityError, match="has no metadata"):
        verify(saved, META)


def test_metadata_must_match(saved: Path) -> None:
    with pytest.raises(IntegrityError, match=r"records n 3 \(expected 4\), dim 2 \(expected 3\)"):
        verify(saved, {"n": 4, "dim": 3, "space": "ip"})
    with pytest.raises(IntegrityError, match=r"records m None \(expected 16\)"):
        verify(saved, {"m": 16})


def test_check_format_runs_after_the_cheap_checks(saved: Path) -> None:
    calls: list[Path] = []

    def check(path: Path) -> None:
        calls.append(path)
        raise IntegrityError("header says otherwise")

    with pytest.raises(IntegrityError, match="header says otherwise"):
        verify(saved, META, check)
    assert calls == [saved]
    saved.write_bytes(b"short")
    with pytest.raises(IntegrityError, match="its manifest says"):
        verify(saved, META, check)
    assert calls == [saved]  # a file of the wrong size is not parsed at all


def test_a_manifest_of_a_later_write_does_not_vouch_for_the_old_one(tmp_path: Path) -> None:
    # A crash between renaming a new file into place and writing its manifest leaves the
    # new file under the old manifest: not trusted.
    path = tmp_path / "data.bin"
    save_checked(path, lambda tmp: tmp.write_bytes(DATA), META)
    path.write_bytes(DATA[::-1])
    with pytest.raises(IntegrityError, match="SHA-256"):
        verify(path, META)
    write_manifest(path, META)
    verify(path, META)


def test_stale_temporaries_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    stale = [tmp_path / "data.bin.abc.tmp", tmp_path / "data.bin.manifest.json.def.tmp"]
    fresh = tmp_path / "data.bin.ghi.tmp"
    unrelated = tmp_path / "other.bin.jkl.tmp"
    for p in [*stale, fresh, unrelated]:
        p.write_bytes(b"x")
    old = time.time() - 3600
    for p in [*stale, unrelated]:
        os.utime(p, (old, old))
    remove_stale_temporaries(path)
    assert sorted(tmp_path.iterdir()) == sorted([fresh, unrelated])
