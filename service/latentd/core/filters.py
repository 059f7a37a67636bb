"""Metadata filters: checked when a request arrives, then evaluated against documents'
metadata (a dict each). `equals` on a list value means "contains"; `range` holds only
for numbers; `exists` tests the key's presence."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from latentd.core.documents import Condition, Filter, Range
from latentd.core.errors import invalid

# Filters nest; deeper than this is a mistake or an attack, not a query.
MAX_FILTER_DEPTH = 16
MAX_FILTER_CONDITIONS = 256


def check_filter(filter: Filter, field: str = "filter") -> None:
    """InvalidArgument naming the path of the first malformed condition."""
    count = _check(filter, field, 0)
    if count > MAX_FILTER_CONDITIONS:
        raise invalid(field, f"at most {MAX_FILTER_CONDITIONS} conditions, got {count}")


def _check(filter: Filter, field: str, depth: int) -> int:
    if depth > MAX_FILTER_DEPTH:
        raise invalid(field, f"nested deeper than {MAX_FILTER_DEPTH} levels")
    count = 0
    if filter.condition is not None:
        _check_condition(filter.condition, f"{field}.condition")
        count += 1
    for name in ("all", "any", "none"):
        for i, inner in enumerate(getattr(filter, name)):
            count += _check(inner, f"{field}.{name}[{i}]", depth + 1)
    if not count and depth == 0:
        raise invalid(field, "has no condition")
    return count


def _check_condition(condition: Condition, field: str) -> None:
    if not condition.key:
        raise invalid(f"{field}.key", "must not be empty")
    tests = [
        t
        for t in (condition.equals, condition.any_of, condition.range, condition.exists)
        if t is not None
    ]
    if len(tests) != 1:
        raise invalid(field, "needs exactly one of equals, in, range or exists")
    if condition.equals is not None and not _is_scalar(condition.equals):
        raise invalid(f"{field}.equals", "must be a string, number or bool")
    if condition.any_of is not None:
        if not condition.any_of:
            raise invalid(f"{field}.in", "must not be empty")
        for i, value in enumerate(condition.any_of):
            if not _is_scalar(value):
                raise invalid(f"{field}.in[{i}]", "must be a string, number or bool")
    if condition.range is not None:
        bounds = [condition.range.gt, condition.range.gte, condition.range.lt, condition.range.lte]
        if all(b is None for b in bounds):
            raise invalid(f"{field}.range", "needs at least one of gt, gte, lt, lte")
        if any(b is not None and not math.isfinite(b) for b in bounds):
            raise invalid(f"{field}.range", "bounds must be finite numbers")


def _is_scalar(value: Any) -> bool:
    if isinstance(value, bool | str):
        return True
    return isinstance(value, int | float) and math.isfinite(value)


def matches(filter: Filter | None, metadata: Mapping[str, Any]) -> bool:
    if filter is None:
        return True
    if filter.condition is not None and not _holds(filter.condition, metadata):
        return False
    if not all(matches(f, metadata) for f in filter.all):
        return False
    if filter.any and not any(matches(f, metadata) for f in filter.any):
        return False
    return not any(matches(f, metadata) for f in filter.none)


def _holds(condition: Condition, metadata: Mapping[str, Any]) -> bool:
    present = condition.key in metadata
    if condition.exists is not None:
        return present == condition.exists
    if not present:
        return False
    value = metadata[condition.key]
    if condition.equals is not None:
        return _equal_or_contains(value, condition.equals)
    if condition.any_of is not None:
        return any(_equal_or_contains(value, wanted) for wanted in condition.any_of)
    assert condition.range is not None
    return _in_range(value, condition.range)


def _equal_or_contains(value: Any, wanted: Any) -> bool:
    if isinstance(value, list):
        return any(_same(v, wanted) for v in value)
    return _same(value, wanted)


def _same(value: Any, wanted: Any) -> bool:
    # True is not 1 here: a bool matches only a bool.
    if isinstance(value, bool) or isinstance(wanted, bool):
        return isinstance(value, bool) and isinstance(wanted, bool) and value == wanted
    return bool(value == wanted)


def _in_range(value: Any, bounds: Range) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return (
        (bounds.gt is None or value > bounds.gt)
        and (bounds.gte is None or value >= bounds.gte)
        and (bounds.lt is None or value < bounds.lt)
        and (bounds.lte is None or value <= bounds.lte)
    )
