"""Messages as proto3 JSON, fast where vectors are.

`json_format.MessageToDict` writes each float32 as its shortest decimal by trying
precisions one value at a time: 0.8 ms for one 384-dimension embedding, most of the
HTTP overhead of an Encode. Here the `Vector.values` are taken out before it runs and
written back in the same shortest form, found for the whole array at once (numpy checks
which values round-trip at each precision): the same text, about 2x faster."""

from __future__ import annotations

from typing import Any

import numpy as np
from google.protobuf import json_format
from google.protobuf.message import Message

from latent.v1 import latent_pb2 as pb

VECTOR = pb.Vector.DESCRIPTOR.full_name
Path = tuple[str | int, ...]


def message_json(message: Message) -> dict[str, Any]:
    """The proto3 JSON of `message`, every field written, defaults too (a score of 0 or
    an empty list is an answer, not a gap)."""
    vectors: list[tuple[Path, np.ndarray]] = []
    if _has_vectors(message.DESCRIPTOR):
        stripped = type(message)()
        stripped.CopyFrom(message)
        _take_vectors(stripped, (), vectors)
        message = stripped
    data = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    for path, values in vectors:
        node: Any = data
        for step in path:
            node = node[step]
        node["values"] = shortest_floats(values)
    return data


def shortest_floats(values: np.ndarray) -> list[float | str]:
    """Each float32 as the shortest decimal that reads back as the same float32, as
    protobuf's ToShortestFloat gives it (6 to 9 significant digits); NaN and the
    infinities as proto3 JSON spells them."""
    if not np.isfinite(values).all():
        return [_spelled(x) for x in values.tolist()]
    exact = values.astype(np.float64).tolist()
    out: list[float | str] = [float(f"{x:.6g}") for x in exact]
    pending = np.flatnonzero(np.asarray(out, dtype=np.float32) != values)
    for precision in (7, 8, 9):
        if pending.size == 0:
            break
        for i in pending.tolist():
            out[i] = float(f"{exact[i]:.{precision}g}")
        again = np.asarray([out[i] for i in pending.tolist()], dtype=np.float32)
        pending = pending[again != values[pending]]
    return out


def _spelled(value: float) -> float | str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return shortest_floats(np.asarray([value], dtype=np.float32))[0]


_HAS_VECTORS: dict[str, bool] = {}


def _has_vectors(descriptor: Any, seen: frozenset[str] = frozenset()) -> bool:
    name = descriptor.full_name
    if name in _HAS_VECTORS:
        return _HAS_VECTORS[name]
    if name == VECTOR:
        return True
    if name in seen:
        return False  # recursive messages (Filter): decided by their other fields
    found = any(
        _has_vectors(field.message_type, seen | {name})
        for field in descriptor.fields
        if field.message_type is not None
    )
    if not seen:
        _HAS_VECTORS[name] = found
    return found


def _take_vectors(message: Message, path: Path, vectors: list[tuple[Path, np.ndarray]]) -> None:
    if message.DESCRIPTOR.full_name == VECTOR:
        values = message.values  # type: ignore[attr-defined]
        if len(values):
            vectors.append((path, np.asarray(values, dtype=np.float32)))
            message.ClearField("values")
        return
    for field, value in message.ListFields():
        kind = field.message_type
        if kind is None or kind.GetOptions().map_entry or not _has_vectors(kind):
            continue
        if field.is_repeated:
            for index, item in enumerate(value):
                _take_vectors(item, (*path, field.json_name, index), vectors)
        else:
            _take_vectors(value, (*path, field.json_name), vectors)
