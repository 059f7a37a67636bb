"""Saved directions: named per space, so a team shares "gender", "sentiment" or
"formality" by name. Those from the config file (`[[directions]]`) are defined at start
and read-only; saved ones live in one JSON file under the data directory, rewritten
whole on each change (write to a temporary file, fsync, rename: a crash leaves the old
file or the new one, never half of one).

A saved direction keeps its definition as it was given (to show and to define again)
and its vector (what queries use: the same answer even if the definition's terms would
resolve differently later)."""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latentd.core.checked_file import fsync_directory
from latentd.core.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    invalid,
    shown,
)
from latentd.core.types import DirectionMethod, DirectionSpec, Term

NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
# Collection names cannot start with a dot: this file never meets a collection.
BOOK_FILE = ".directions.json"
FORMAT = 1


@dataclass(frozen=True)
class SavedDirection:
    space: str
    name: str
    definition: DirectionSpec
    description: str
    explained_variance: float
    vector: np.ndarray  # (d,) float32 unit
    from_config: bool = False


class DirectionBook:
    """Every saved direction of a server, by space and name. Thread-safe."""

    def __init__(self, directory: Path | None) -> None:
        self._path = directory / BOOK_FILE if directory is not None else None
        self._entries: dict[tuple[str, str], SavedDirection] = {}
        self._lock = threading.Lock()
        if self._path is not None and self._path.exists():
            self._load(self._path)

    def find(self, space: str, name: str) -> SavedDirection | None:
        with self._lock:
            return self._entries.get((space, name))

    def names(self, space: str) -> list[str]:
        with self._lock:
            return sorted(n for s, n in self._entries if s == space)

    def list(self, space: str = "") -> list[SavedDirection]:
        with self._lock:
            return [
                self._entries[key] for key in sorted(self._entries) if not space or key[0] == space
            ]

    def add_from_config(self, entry: SavedDirection) -> None:
        """A config direction: it replaces a saved one of the same name while the config
        names it (the file keeps the saved one)."""
        with self._lock:
            self._entries[(entry.space, entry.name)] = entry

    def save(self, entry: SavedDirection, overwrite: bool) -> None:
        check_name(entry.name)
        with self._lock:
            old = self._entries.get((entry.space, entry.name))
            if old is not None and old.from_config:
                raise FailedPrecondition(
                    f"name: direction {entry.name!r} of space {entry.space!r} is defined "
                    "in the server's config file; change it there"
                )
            if old is not None and not overwrite:
                raise AlreadyExists(
                    f"name: space {entry.space!r} already has a direction {entry.name!r}; "
                    "set overwrite to replace it"
                )
            self._entries[(entry.space, entry.name)] = entry
            try:
                self._write()
            except BaseException:
                if old is None:
                    del self._entries[(entry.space, entry.name)]
                else:
                    self._entries[(entry.space, entry.name)] = old
                raise

    def delete(self, space: str, name: str) -> None:
        with self._lock:
            old = self._entries.get((space, name))
            if old is None:
                known = sorted(n for s, n in self._entries if s == space)
                raise NotFound(
                    f"name: no direction {shown(name)} is saved for space {space!r}; "
                    f"saved: {', '.join(known) or 'none'}"
                )
            if old.from_config:
                raise FailedPrecondition(
                    f"name: direction {name!r} of space {space!r} is defined in the "
                    "server's config file; remove it there"
                )
            del self._entries[(space, name)]
            try:
                self._write()
            except BaseException:
                self._entries[(space, name)] = old
                raise

    def forget_space(self, space: str) -> None:
        """Drop the saved directions of a space that is gone (a deleted collection); its
        config directions stay, as the config file names them."""
        with self._lock:
            gone = [k for k, e in self._entries.items() if k[0] == space and not e.from_config]
            if not gone:
                return
            for key in gone:
                del self._entries[key]
            if self._path is not None:
                self._write()

    def _write(self) -> None:
        if self._path is None:
            raise FailedPrecondition("this server has no data directory to save directions in")
        saved = [e for e in self._entries.values() if not e.from_config]
        document = {"format": FORMAT, "directions": [_entry_json(e) for e in saved]}
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_name(self._path.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self._path)
        fsync_directory(self._path.parent)

    def _load(self, path: Path) -> None:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            entries = [_entry_from_json(item) for item in document["directions"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidArgument(f"{path}: unreadable saved directions ({exc})") from None
        for entry in entries:
            self._entries[(entry.space, entry.name)] = entry


def check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise invalid(
            "name",
            f"must be 1 to 64 of A-Z a-z 0-9 _ . - (not starting with . or -), got {shown(name)}",
        )


# -- JSON forms ------------------------------------------------------------------------


def term_json(term: Term) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if term.key is not None:
        out["key"] = term.key
    elif term.text is not None:
        out["text"] = term.text
    elif term.vector is not None:
        out["vector"] = np.asarray(term.vector, np.float32).tolist()
    if term.weight is not None:
        out["weight"] = term.weight
    return out


def term_from_json(item: Any) -> Term:
    """A term from JSON or TOML: a string is a key, or a table with key, text or vector."""
    if isinstance(item, str):
        return Term(key=item)
    if not isinstance(item, dict):
        raise ValueError(f"a term is a string or a table, got {item!r}")
    vector = item.get("vector")
    return Term(
        key=item.get("key"),
        text=item.get("text"),
        vector=None if vector is None else np.asarray(vector, np.float32),
        weight=item.get("weight"),
    )


def spec_json(spec: DirectionSpec) -> dict[str, Any]:
    kind = spec.kind
    if kind == "pairs":
        return {
            "pairs": [[term_json(a), term_json(b)] for a, b in spec.pairs],
            "method": spec.method.value,
        }
    if kind == "poles":
        return {
            "from": [term_json(t) for t in spec.from_terms],
            "to": [term_json(t) for t in spec.to_terms],
        }
    if kind == "vector":
        assert spec.vector is not None
        return {"vector": np.asarray(spec.vector, np.float32).tolist()}
    return {"name": spec.name}


def spec_from_json(item: dict[str, Any]) -> DirectionSpec:
    """A definition from JSON, or from a `[[directions]]` table of the config file."""
    given = [k for k in ("pairs", "from", "to", "vector") if k in item]
    if "pairs" in item:
        pairs = item["pairs"]
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in pairs
        ):
            raise ValueError("pairs must be a list of [a, b] pairs")
        if len(given) > 1:
            raise ValueError("give one of pairs, from/to, or vector")
        method = DirectionMethod(item.get("method", DirectionMethod.PCA.value))
        return DirectionSpec(
            pairs=tuple((term_from_json(a), term_from_json(b)) for a, b in pairs),
            method=method,
            form="pairs",
        )
    if "from" in item or "to" in item:
        if "vector" in item:
            raise ValueError("give one of pairs, from/to, or vector")
        return DirectionSpec(
            from_terms=tuple(term_from_json(t) for t in item.get("from", [])),
            to_terms=tuple(term_from_json(t) for t in item.get("to", [])),
            form="poles",
        )
    if "vector" in item:
        return DirectionSpec(vector=np.asarray(item["vector"], np.float32))
    raise ValueError("a direction needs pairs, from and to, or a vector")


def _entry_json(entry: SavedDirection) -> dict[str, Any]:
    return {
        "space": entry.space,
        "name": entry.name,
        "definition": spec_json(entry.definition),
        "description": entry.description,
        "explained_variance": entry.explained_variance,
        "vector": entry.vector.tolist(),
    }


def _entry_from_json(item: dict[str, Any]) -> SavedDirection:
    return SavedDirection(
        space=str(item["space"]),
        name=str(item["name"]),
        definition=spec_from_json(item["definition"]),
        description=str(item.get("description", "")),
        explained_variance=float(item["explained_variance"]),
        vector=np.asarray(item["vector"], np.float32),
    )
