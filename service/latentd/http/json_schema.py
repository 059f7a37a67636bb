"""JSON Schemas of proto messages as proto3 JSON writes them, for the OpenAPI document:
lowerCamelCase names, 64-bit integers as strings, bytes as base64, enums by name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

SchemaDict = dict[str, Any]

REF_PREFIX = "#/components/schemas/"

_SCALARS: dict[int, SchemaDict] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int32", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "int32", "minimum": 0},
    # proto3 JSON writes 64-bit integers as strings and reads either form.
    FieldDescriptor.TYPE_INT64: {"type": ["string", "integer"], "format": "int64"},
    FieldDescriptor.TYPE_SINT64: {"type": ["string", "integer"], "format": "int64"},
    FieldDescriptor.TYPE_SFIXED64: {"type": ["string", "integer"], "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": ["string", "integer"], "format": "uint64"},
    FieldDescriptor.TYPE_FIXED64: {"type": ["string", "integer"], "format": "uint64"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}

# Well-known types have JSON forms of their own.
_WELL_KNOWN: dict[str, SchemaDict] = {
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
}


def ref(message: Descriptor) -> SchemaDict:
    known = _WELL_KNOWN.get(message.full_name)
    return dict(known) if known is not None else {"$ref": REF_PREFIX + message.full_name}


def message_schemas(roots: Sequence[Any]) -> dict[str, SchemaDict]:
    """The schema of each message reachable from `roots` (Descriptors), by full name."""
    schemas: dict[str, SchemaDict] = {}
    pending = list(roots)
    while pending:
        message = pending.pop()
        if message.full_name in schemas or message.full_name in _WELL_KNOWN:
            continue
        properties: dict[str, SchemaDict] = {}
        for field in message.fields:
            properties[field.json_name] = _field_schema(field, pending)
        schemas[message.full_name] = {
            "type": "object",
            "title": message.name,
            "properties": properties,
            "additionalProperties": False,
        }
    return dict(sorted(schemas.items()))


def _field_schema(field: FieldDescriptor, pending: list[Descriptor]) -> SchemaDict:
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        value = message.fields_by_name["value"]
        return {"type": "object", "additionalProperties": _single(value, pending)}
    single = _single(field, pending)
    if field.is_repeated:
        return {"type": "array", "items": single}
    return single


def _single(field: FieldDescriptor, pending: list[Descriptor]) -> SchemaDict:
    if field.message_type is not None:
        pending.append(field.message_type)
        return ref(field.message_type)
    if field.enum_type is not None:
        return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
    return dict(_SCALARS[field.type])
