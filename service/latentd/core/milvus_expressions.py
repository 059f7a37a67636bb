"""Metadata filters (core/filters.py) as Milvus boolean expressions over the JSON field
that holds a document's metadata, with the same meaning as `filters.matches`:

- `equals` holds for an equal value, or for a list that contains it; a bool equals only
  a bool (True is not 1);
- `in` holds when `equals` holds for one of its values;
- `range` holds only for numbers;
- `exists` tests the key's presence;
- `all`, `any` and `none` are and, or and not-or.

Milvus compares JSON values loosely (true == 1) and with SQL's three-valued logic: a
missing key, or a value of another type, makes a comparison NULL, and `not NULL` is
NULL. So the expressions run on a typed copy of the metadata, `typed_metadata`, kept
beside it, which sorts the values by type: `s` holds strings (prefixed "s:") and bools
("b:true", "b:false"), `n` numbers, `l` lists (their items encoded as in `s`). Each test
reads only the map of its type, guarded by `exists`, so it is true or false, never NULL:
a bool never equals a number, and a range never holds for a string or a bool.

Every key and value is written as a literal, never pasted: strings are JSON string
literals (quotes, backslashes and control characters escaped), numbers are checked to be
finite, so no metadata value can change the expression's shape."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from latentd.core.documents import Condition, Filter, Range

FIELD = "typed_metadata"
MATCH_ALL = ""  # Milvus: an empty expression selects every entity


def typed_metadata(metadata: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The copy of a document's metadata that the expressions test (see above)."""
    typed: dict[str, dict[str, Any]] = {"s": {}, "n": {}, "l": {}}
    for key, value in metadata.items():
        if isinstance(value, list):
            typed["l"][key] = [_typed(item) for item in value]
        elif isinstance(value, bool | str):
            typed["s"][key] = _typed(value)
        else:
            typed["n"][key] = value
    return typed


def _typed(value: Any) -> Any:
    if isinstance(value, bool):
        return "b:true" if value else "b:false"
    if isinstance(value, str):
        return "s:" + value
    return value


def expression(filter: Filter | None, field: str = FIELD) -> str:
    """The Milvus expression of a checked filter (check_filter); MATCH_ALL for None."""
    if filter is None:
        return MATCH_ALL
    return _filter(filter, field) or MATCH_ALL


def _filter(filter: Filter, field: str) -> str:
    parts = []
    if filter.condition is not None:
        parts.append(_condition(filter.condition, field))
    parts += [_filter(inner, field) or "true" for inner in filter.all]
    if filter.any:
        parts.append(_joined([_filter(inner, field) or "true" for inner in filter.any], "or"))
    if filter.none:
        parts.append(
            "not " + _joined([_filter(inner, field) or "true" for inner in filter.none], "or")
        )
    return _joined(parts, "and") if parts else ""


def _joined(parts: list[str], operator: str) -> str:
    if len(parts) == 1:
        return parts[0]
    return "(" + f" {operator} ".join(f"({part})" for part in parts) + ")"


def _condition(condition: Condition, field: str) -> str:
    key = string_literal(condition.key)
    scalar, number, listed = (f"{field}[{string_literal(part)}][{key}]" for part in "snl")
    if condition.exists is not None:
        present = f"(exists {scalar} or exists {number} or exists {listed})"
        return present if condition.exists else f"not {present}"
    if condition.range is not None:
        return _joined([f"exists {number}", *_bounds(number, condition.range)], "and")
    values = (condition.equals,) if condition.any_of is None else condition.any_of
    tests = []
    for value in values:
        assert value is not None
        literal = scalar_literal(value)
        same = number if _is_number(value) else scalar
        tests.append(f"(exists {same} and {same} == {literal})")
        if not _is_number(value):  # a list contains it (lists hold strings)
            tests.append(f"(exists {listed} and json_contains({listed}, {literal}))")
    return _joined(tests, "or")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bounds(path: str, bounds: Range) -> list[str]:
    return [
        f"{path} {operator} {number_literal(bound)}"
        for operator, bound in (
            (">", bounds.gt),
            (">=", bounds.gte),
            ("<", bounds.lt),
            ("<=", bounds.lte),
        )
        if bound is not None
    ]


def string_literal(value: str) -> str:
    """A double-quoted literal: JSON's escapes, which Milvus's parser reads back."""
    return json.dumps(value, ensure_ascii=False)


def number_literal(value: float) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return repr(value) if isinstance(value, float) else str(int(value))


def scalar_literal(value: str | float | bool) -> str:
    """The literal of a filter value in the typed metadata's encoding."""
    if isinstance(value, bool | str):
        return string_literal(_typed(value))
    return number_literal(value)
