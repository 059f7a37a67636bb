"""Hypothesis strategies for any protobuf message, built from its descriptor alone: every
field gets values that servers mishandle (extreme and negative integers, NaN, infinities
and -0.0, unknown enum numbers, empty, odd and enormous strings, bytes of any length,
repeated fields from empty to past the limits, nested messages and oneofs). A message
type added to the proto is covered without a line written here."""

from __future__ import annotations

import math
import struct
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

F = FieldDescriptor

# Strings a server may choke on. Protobuf strings are UTF-8, so lone surrogates cannot
# travel; these can: NUL, lone combining marks, bidi overrides, RTL scripts, joined emoji,
# a BOM, noncharacters, whitespace only, path tricks, names at and past common limits.
ODD_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\n\r",
    "\u0301",
    "e\u0301\u0301\u0301",
    "\u202eevil\u202c",
    "\u200f\u200e",
    "مرحبا بالعالم",
    "שלום",
    "👨\u200d👩\u200d👧\u200d👦",
    "🏳️\u200d🌈",
    "\ufeff",
    "\ufffe\uffff",
    "\U0010ffff",
    "../../etc/passwd",
    "a/b\\c",
    ".hidden",
    "x" * 64,
    "x" * 65,
    "é" * 512,
    "%s%n{0}",
    "null",
    "NaN",
    "-0",
)
# Sizes past the limits (10,000 characters a text, 512 bytes an id, 64 a name), all far
# within the 64 MiB message limit.
ENORMOUS_SIZES = (513, 10_001, 100_000, 1_000_000)

FLOAT32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]
SPECIAL_FLOATS = (0.0, -0.0, math.nan, math.inf, -math.inf, 1.0, -1.0, 1e-45, FLOAT32_MAX)
SPECIAL_DOUBLES = (*SPECIAL_FLOATS, 1.7976931348623157e308, 5e-324, 2.0**53 + 1)

INT_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}
# Counts near every default limit of latentd (k 1000, inputs 256, batch 10,000, steps 256,
# ef 10,000, documents 1,024, permutations ...) and at the ends of each integer type.
NOTABLE_INTS = (0, 1, 2, 3, 5, 10, 63, 64, 65, 255, 256, 257, 999, 1000, 1001, 1024, 1025)
NOTABLE_INTS += (10_000, 10_001, 100_000, 1_000_000, 10**9)

# Repeated fields: usually a few elements, sometimes one element many times over (past
# the count limits without generating thousands of distinct values).
REPEAT_COUNTS = (257, 1025, 10_001)
REPEAT_BYTES = 4 * 1024 * 1024

MAX_DEPTH = 4


def odd_text() -> st.SearchStrategy[str]:
    """Short random Unicode, the odd strings above, or one character repeated far past
    any text limit."""
    enormous = st.tuples(st.characters(codec="utf-8"), st.sampled_from(ENORMOUS_SIZES)).map(
        lambda pair: pair[0] * pair[1]
    )
    return st.one_of(
        st.text(max_size=12),
        st.sampled_from(ODD_STRINGS),
        enormous,
    )


def float32s() -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from(SPECIAL_FLOATS), st.floats(width=32))


def doubles() -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from(SPECIAL_DOUBLES), st.floats())


def packed_floats() -> st.SearchStrategy[bytes]:
    """Bytes as a Vector.packed might hold them: whole float32s of any count, or a
    length that is not a multiple of 4."""
    whole = st.lists(float32s(), max_size=20).map(lambda xs: struct.pack(f"<{len(xs)}f", *xs))
    return st.one_of(whole, st.binary(max_size=70))


def integers(kind: int) -> st.SearchStrategy[int]:
    low, high = INT_RANGES[kind]
    notable = [n for n in NOTABLE_INTS if low <= n <= high]
    notable += [low, high] + ([-1] if low < 0 else [])
    return st.one_of(st.sampled_from(notable), st.integers(low, high))


def enum_numbers(field: FieldDescriptor) -> st.SearchStrategy[int]:
    assert field.enum_type is not None
    known = [v.number for v in field.enum_type.values]
    unknown = [-1, max(known) + 1, 99, 2**31 - 1, -(2**31)]
    return st.one_of(st.sampled_from(known), st.sampled_from(unknown))


def scalar_values(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind in INT_RANGES:
        return integers(kind)
    if kind == F.TYPE_FLOAT:
        return float32s()
    if kind == F.TYPE_DOUBLE:
        return doubles()
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind == F.TYPE_STRING:
        return odd_text()
    if kind == F.TYPE_BYTES:
        return packed_floats()
    if kind == F.TYPE_ENUM:
        return enum_numbers(field)
    raise TypeError(f"no strategy for field {field.full_name} of type {kind}")


def _values(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == F.TYPE_MESSAGE:
        return messages(field.message_type, depth + 1)
    return scalar_values(field)


def _repeated(field: FieldDescriptor, depth: int) -> st.SearchStrategy[list[Any]]:
    element = _values(field, depth)
    few = st.lists(element, max_size={0: 4, 1: 2}.get(depth, 1))
    many = st.tuples(element, st.sampled_from(REPEAT_COUNTS)).map(within_budget)
    return st.one_of(few, few, few, many) if depth < 2 else few


def within_budget(pair: tuple[Any, int]) -> list[Any]:
    """[element] * count, with the count cut so that the list stays under REPEAT_BYTES."""
    element, count = pair
    if isinstance(element, Message):
        size = element.ByteSize()
    elif isinstance(element, str):
        size = len(element.encode("utf-8", "surrogatepass"))
    elif isinstance(element, bytes):
        size = len(element)
    else:
        size = 8
    return [element] * max(1, min(count, REPEAT_BYTES // max(1, size)))


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.type == F.TYPE_MESSAGE
        and field.message_type is not None
        and field.message_type.GetOptions().map_entry
    )


def _set_field(message: Message, field: FieldDescriptor, value: Any) -> None:
    if field.type == F.TYPE_MESSAGE:
        getattr(message, field.name).CopyFrom(value)
    else:
        setattr(message, field.name, value)


@st.composite
def _message(draw: st.DrawFn, descriptor: Descriptor, depth: int) -> Message:
    message = GetMessageClass(descriptor)()
    if depth > MAX_DEPTH:
        return message
    # Real oneofs: at most one member set. Synthetic ones (proto3 `optional`) behave as
    # an optional field, handled below.
    chosen: set[str] = set()
    for oneof in descriptor.oneofs:
        if _is_synthetic(oneof):
            continue
        member = draw(st.sampled_from([None, *oneof.fields]))
        if member is not None:
            chosen.add(member.name)
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and not _is_synthetic(oneof) and field.name not in chosen:
            continue
        if _is_map(field):
            entry = field.message_type
            keys = scalar_values(entry.fields_by_name["key"])
            values = _values(entry.fields_by_name["value"], depth)
            mapping = getattr(message, field.name)
            for key, value in draw(st.dictionaries(keys, values, max_size=3)).items():
                if entry.fields_by_name["value"].type == F.TYPE_MESSAGE:
                    mapping[key].CopyFrom(value)
                else:
                    mapping[key] = value
        elif field.is_repeated:
            getattr(message, field.name).extend(draw(_repeated(field, depth)))
        elif field.name in chosen or draw(st.booleans()):
            _set_field(message, field, draw(_values(field, depth)))
    return message


def _is_synthetic(oneof: Any) -> bool:
    # The synthetic oneof of a proto3 `optional` field is named "_<field>" and holds it alone.
    return len(oneof.fields) == 1 and oneof.name == "_" + oneof.fields[0].name


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Arbitrary instances of the message type `descriptor` (nested up to MAX_DEPTH)."""
    return _message(descriptor, depth)
