"""Integrity of the files Latent writes and later loads (index caches, snapshots).

A loader such as hnswlib's trusts its input: a file of the right size with bad bytes in
the middle loads, then crashes the process on first use. So every such file gets a
sidecar manifest (JSON: format, file name, byte size, SHA-256 and the caller's metadata)
written after the file is complete and in place, and is verified before it is used. A
missing, unreadable or mismatching manifest means "not trusted": the caller warns and
rebuilds, never hands the file over.

    save_checked(path, lambda tmp: thing.save(tmp), {"n": n, "dim": dim})
    verify(path, {"n": n, "dim": dim}, check_format=my_header_check)  # IntegrityError
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
MANIFEST_SUFFIX = ".manifest.json"
# A manifest is a few hundred bytes; anything much bigger is not one of ours.
MAX_MANIFEST_BYTES = 64 * 1024
# Reads of 1 MiB keep memory flat however big the file is.
HASH_CHUNK_BYTES = 1 << 20
# A temporary file this old was left by a process killed while saving, not by one that is
# saving now (a save of the 400k-word index takes a second or two).
STALE_TEMPORARY_S = 600

MetadataValue = str | int | float | bool | None
Metadata = Mapping[str, MetadataValue]


class IntegrityError(Exception):
    """The file is not to be trusted; the message says why, fit for one log line."""


def fsync_directory(path: Path) -> None:
    """Make a rename in the directory `path` survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def manifest_path(path: Path) -> Path:
    # A suffix after the full name, so a glob for the data files ("*.hnsw") skips it.
    return path.with_name(path.name + MANIFEST_SUFFIX)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(HASH_CHUNK_BYTES)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as f:
        while count := f.readinto(buffer):
            digest.update(view[:count])
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write data to path through a temporary file renamed into place."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    _atomic_save(path, write)


def write_manifest(path: Path, metadata: Metadata) -> None:
    """Record path's size, SHA-256 and metadata next to it. Call once path is complete:
    the manifest of a file that changes afterwards no longer matches it."""
    record = {
        "format": MANIFEST_FORMAT,
        "file": path.name,
        "size": path.stat().st_size,
        "sha256": file_sha256(path),
        "metadata": dict(metadata),
    }
    atomic_write_bytes(manifest_path(path), json.dumps(record, indent=1).encode() + b"\n")


def save_checked(path: Path, write: Callable[[Path], None], metadata: Metadata) -> None:
    """Save a file through write(temporary path), rename it into place, then write its
    manifest. A crash at any point leaves either no file under path, or one whose
    manifest is missing or does not match, which verify() rejects."""
    _atomic_save(path, write)
    write_manifest(path, metadata)


def verify(
    path: Path, metadata: Metadata, check_format: Callable[[Path], None] | None = None
) -> None:
    """Raise IntegrityError unless path matches its manifest and the manifest records the
    expected metadata. check_format (which raises IntegrityError too) runs after the
    cheap checks and before the hash, so a wrong file is named as such without reading it
    all."""
    mpath = manifest_path(path)
    try:
        with mpath.open("rb") as f:
            raw = f.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        raise IntegrityError(f"no manifest {mpath.name}") from None
    except OSError as exc:
        raise IntegrityError(f"manifest {mpath.name} unreadable: {exc}") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise IntegrityError(f"manifest {mpath.name} is over {MAX_MANIFEST_BYTES} bytes")
    try:
        record = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise IntegrityError(f"manifest {mpath.name} is not JSON: {exc}") from None
    if not isinstance(record, dict) or record.get("format") != MANIFEST_FORMAT:
        found = record.get("format") if isinstance(record, dict) else type(record).__name__
        raise IntegrityError(
            f"manifest {mpath.name} has format {found!r}, expected {MANIFEST_FORMAT}"
        )
    if record.get("file") != path.name:
        raise IntegrityError(f"manifest {mpath.name} is for {record.get('file')!r}")
    recorded = record.get("metadata")
    if not isinstance(recorded, dict):
        raise IntegrityError(f"manifest {mpath.name} has no metadata")
    wrong = [
        f"{key} {recorded.get(key)!r} (expected {value!r})"
        for key, value in metadata.items()
        if recorded.get(key) != value
    ]
    if wrong:
        raise IntegrityError(f"manifest {mpath.name} records " + ", ".join(wrong))
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IntegrityError(f"cannot stat the file: {exc}") from None
    if size != record.get("size"):
        raise IntegrityError(f"file is {size} bytes, its manifest says {record.get('size')}")
    if check_format is not None:
        check_format(path)
    try:
        actual = file_sha256(path)
    except OSError as exc:
        raise IntegrityError(f"cannot read the file: {exc}") from None
    if actual != record.get("sha256"):
        raise IntegrityError(
            "SHA-256 differs from its manifest: the content changed after it was written"
        )


def remove_stale_temporaries(path: Path, older_than_s: float = STALE_TEMPORARY_S) -> None:
    """Remove temporaries of path and of its manifest left by a killed save."""
    now = time.time()
    # path.name + ".*.tmp" also matches the manifest's temporaries (name.manifest.json.*).
    for tmp in path.parent.glob(path.name + ".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
                log.info("removed %s, left by an interrupted save", tmp)
        except OSError:
            pass  # another process removed or renamed it first


def _atomic_save(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def recorded_metadata(path: Path) -> dict[str, object]:
    """The metadata path's manifest records (for values known only from the file, such as
    the sequence number a snapshot covers); verify() still decides whether it is trusted."""
    try:
        record = json.loads(manifest_path(path).read_bytes()[:MAX_MANIFEST_BYTES])
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"manifest of {path.name} unreadable: {exc}") from None
    metadata = record.get("metadata") if isinstance(record, dict) else None
    if not isinstance(metadata, dict):
        raise IntegrityError(f"manifest of {path.name} has no metadata")
    return metadata
