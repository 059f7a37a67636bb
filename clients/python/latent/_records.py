"""Documents from files, for ``latent import``: JSON lines, a JSON array, CSV, Parquet.

Each record becomes one document: the id field (default ``id``), the text field (default
``text``), optionally a vector field, and every other field as metadata. Empty values
(JSON null, an empty CSV cell, a Parquet null) are left out. CSV cells are text, so in
metadata a cell that reads as a number or as true/false becomes one; the id and text
fields stay as written. Each document remembers where it came from (``line 7``, ``row
3``), so that an error can name the place in the file.

Standard library only (pyarrow for Parquet is imported when a Parquet file is read), so
``latent --help`` stays fast.
"""

from __future__ import annotations

import csv
import datetime
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = ("jsonl", "json", "csv", "parquet")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
_SUFFIXES[".parquet"] = _SUFFIXES[".pq"] = "parquet"


class RecordError(ValueError):
    """A file, or a record in it, that cannot become a document; the message names it."""


@dataclass(frozen=True)
class Fields:
    """Which fields of a record are the id, the text and the vector."""

    id: str = "id"
    text: str = "text"
    vector: str | None = None


@dataclass(frozen=True)
class Source:
    """Documents read from one file, with the place of each (``line 7``)."""

    documents: list[dict[str, Any]]
    places: list[str]


def file_format(path: Path, given: str | None = None) -> str:
    if given:
        return given
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise RecordError(
            f"{path}: unknown file type {path.suffix or '(none)'!r}; use .jsonl, .json, "
            ".csv or .parquet (or --format)"
        )
    return fmt


def read_documents(path: Path, fields: Fields, fmt: str | None = None) -> Source:
    """Every record of ``path`` as a document dict (id, text, vector, metadata)."""
    fmt = file_format(path, fmt)
    documents: list[dict[str, Any]] = []
    places: list[str] = []
    for place, record in _records(path, fmt):
        documents.append(_document(record, fields, fmt == "csv", f"{path.name} {place}"))
        places.append(place)
    return Source(documents, places)


def _records(path: Path, fmt: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        if fmt == "parquet":
            yield from _parquet(path)
            return
        with path.open(encoding="utf-8", newline="") as f:
            if fmt == "csv":
                yield from ((f"row {i}", row) for i, row in enumerate(csv.DictReader(f), 1))
            else:
                yield from _json(f.read(), path.name)
    except OSError as error:
        raise RecordError(f"{path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise RecordError(f"{path}: not UTF-8 text ({error.reason})") from None


def _json(text: str, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A JSON array of objects, or one object a line (JSON lines; blank lines skipped)."""
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise RecordError(f"{name}: not valid JSON ({error})") from None
        for i, item in enumerate(items, 1):
            yield _object(item, f"item {i}", name)
        return
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise RecordError(f"{name} line {i}: not valid JSON ({error.msg})") from None
        yield _object(item, f"line {i}", name)


def _object(item: Any, place: str, name: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(item, dict):
        raise RecordError(f"{name} {place}: expected a JSON object, got {type(item).__name__}")
    return place, item


def _parquet(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise RecordError(
            "reading Parquet needs pyarrow: pip install 'latent-client[parquet]'"
        ) from None
    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow's own errors: a damaged or foreign file
        raise RecordError(f"{path}: cannot read it as Parquet ({error})") from None
    for i, row in enumerate(table.to_pylist(), 1):
        yield f"row {i}", row


def _document(record: dict[str, Any], fields: Fields, from_csv: bool, where: str) -> dict[str, Any]:
    record = {k: v for k, v in record.items() if v is not None and not (from_csv and v == "")}
    if fields.id not in record:
        raise RecordError(f"{where}: no {fields.id!r} field (choose the id field with --id-field)")
    doc_id = record.pop(fields.id)
    if isinstance(doc_id, bool) or not isinstance(doc_id, str | int):
        raise RecordError(f"{where}: the id must be a string or a whole number, got {doc_id!r}")
    document: dict[str, Any] = {"id": str(doc_id)}
    text = record.pop(fields.text, None)
    if text is not None:
        if not isinstance(text, str):
            raise RecordError(f"{where}: {fields.text!r} must be a string, got {text!r}")
        document["text"] = text
    if fields.vector is not None:
        if fields.vector not in record:
            raise RecordError(f"{where}: no {fields.vector!r} field (the --vector-field)")
        document["vector"] = _vector(record.pop(fields.vector), where)
    document["metadata"] = {
        key: _metadata_value(value, from_csv, f"{where}: {key!r}") for key, value in record.items()
    }
    return document


def _vector(value: Any, where: str) -> list[float]:
    if isinstance(value, str):  # a CSV cell: "[0.1, 0.2]" or "0.1 0.2"
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else re.split(r"[\s,]+", text)
        except json.JSONDecodeError:
            raise RecordError(f"{where}: the vector is not a JSON list of numbers") from None
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise RecordError(f"{where}: the vector must be a list of numbers")
    try:
        return [float(x) for x in value]
    except (TypeError, ValueError):
        raise RecordError(f"{where}: the vector must be a list of numbers") from None


def _metadata_value(value: Any, from_csv: bool, where: str) -> Any:
    if from_csv and isinstance(value, str):
        return scalar(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()  # Parquet dates and timestamps
    if isinstance(value, bool | str | int | float):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise RecordError(
        f"{where}: metadata values are strings, numbers, bools or lists of strings, "
        f"got {type(value).__name__}"
    )


def scalar(text: str) -> str | int | float | bool:
    """A value typed in a CSV cell or a --filter: a whole or decimal number, true or false,
    else the text itself (quotes, "2020" or '2020', keep it a string)."""
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        return stripped[1:-1]
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        number = float(stripped)
    except ValueError:
        return text
    return number if math.isfinite(number) else text
