"""Request parameters checked against the API's own description (kms_schema.json).

kms_schema.json is generated from the official SDK's models by tools/gen_schema.py: every action's
fields with their wire types and required flags. Parameters arrive either as JSON (TC3 POST), where
types must already be right, or flattened as form fields (GET, v1), where every value is a string
and lists are spelled `KeyIds.0`, `Tags.0.TagKey`.
"""

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from openkms.api.errors import ApiError

_SCHEMA: dict[str, Any] = json.loads(resources.files("openkms.api").joinpath("kms_schema.json").read_text())
SDK_ACTIONS: Mapping[str, Any] = _SCHEMA["actions"]
EXTENSION_ACTIONS: Mapping[str, Any] = {
    "ListAuditEvents": {
        "request": {
            "KeyId": {"required": False, "type": "string"},
            "AuditAction": {"required": False, "type": "string"},
            "Result": {"required": False, "type": "string"},
            "StartTime": {"required": False, "type": "int"},
            "EndTime": {"required": False, "type": "int"},
            "Limit": {"required": False, "type": "int"},
            "Marker": {"required": False, "type": "int"},
        },
        "response": ["Events", "NextMarker"],
    },
    "ListKeyVersions": {
        "request": {"KeyId": {"required": True, "type": "string"}},
        "response": ["KeyId", "Versions", "CurrentVersion"],
    },
    "ListKeyTags": {
        "request": {"KeyId": {"required": True, "type": "string"}},
        "response": ["KeyId", "Tags"],
    },
}
"""OpenKMS's own actions, not part of Tencent's API (README, "Extensions"): signed, authorized and
audited like every action, described here in the SDK schema's terms."""
ACTIONS: Mapping[str, Any] = {**SDK_ACTIONS, **EXTENSION_ACTIONS}
STRUCTS: Mapping[str, Any] = _SCHEMA["structs"]
_INT64_MAX = 2**63 - 1
"""The largest integer any parameter takes: the SDKs' integers are 64-bit, and the store's are signed."""
MAX_NAME_DEPTH = 8
"""Parts of a form field's name (at most 7 dots); the deepest the API spells, `TagFilters.0.TagValue.0`, has 4."""


def _invalid(path: str, expected: str) -> ApiError:
    return ApiError("InvalidParameter", f"{path} must be {expected}.")


def _coerce(value: Any, spec: Mapping[str, Any], path: str, form: bool) -> Any:
    kind = spec["type"]
    if kind == "string":
        if not isinstance(value, str):
            raise _invalid(path, "a string")
        return value
    if kind == "int":
        if form and isinstance(value, str):
            try:
                value = int(value, 10)
            except ValueError:
                raise _invalid(path, "an integer") from None
        if not isinstance(value, int) or isinstance(value, bool):
            raise _invalid(path, "an integer")
        if not 0 <= value <= _INT64_MAX:
            raise _invalid(path, f"a non-negative integer of at most {_INT64_MAX}")
        return value
    if kind == "bool":
        if form and value in ("true", "false"):
            return value == "true"
        if not isinstance(value, bool):
            raise _invalid(path, "true or false")
        return value
    if kind == "list":
        if not isinstance(value, list):
            raise _invalid(path, "an array")
        member = spec["member"]
        item_spec = {"type": "string"} if member == "str" else {"type": "object", "member": member}
        return [_coerce(item, item_spec, f"{path}.{i}", form) for i, item in enumerate(value)]
    if kind == "object":
        if not isinstance(value, dict):
            raise _invalid(path, "an object")
        return _coerce_fields(value, STRUCTS[spec["member"]], path + ".", form)
    raise AssertionError(f"unknown wire type {kind}")


def _coerce_fields(values: Mapping[str, Any], fields: Mapping[str, Any], prefix: str, form: bool) -> dict[str, Any]:
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ApiError("UnknownParameter", f"{prefix}{unknown[0]} is not a parameter of this action.")
    result: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in values or values[name] is None:
            if spec["required"]:
                raise ApiError("MissingParameter", f"The required parameter {prefix}{name} is missing.")
            continue
        result[name] = _coerce(values[name], spec, prefix + name, form)
    return result


def check_params(action: str, values: Mapping[str, Any], form: bool) -> dict[str, Any]:
    """The action's parameters, typed; MissingParameter, UnknownParameter or InvalidParameter if not."""
    return _coerce_fields(values, ACTIONS[action]["request"], "", form)


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form fields such as `Tags.0.TagKey=env` as the nested objects and arrays they spell."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        parts = name.split(".", MAX_NAME_DEPTH)
        if len(parts) > MAX_NAME_DEPTH:
            raise ApiError("InvalidParameter", f"{name[:64]}... is nested too deeply to be a parameter.")
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ApiError("InvalidParameter", f"{name} conflicts with another parameter.")
            node = child
        if parts[-1] in node:
            raise ApiError("InvalidParameter", f"{name} is given more than once.")
        node[parts[-1]] = value
    result = _lists_from_indices(root, "")
    if not isinstance(result, dict):
        raise ApiError("InvalidParameter", "Parameters must have names, not only numbers.")
    return result


def _lists_from_indices(node: dict[str, Any], path: str) -> Any:
    converted = {k: _lists_from_indices(v, f"{path}{k}.") if isinstance(v, dict) else v for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        if sorted(converted, key=lambda k: (len(k), k)) != [str(i) for i in range(len(converted))]:
            raise ApiError("InvalidParameter", f"{path.rstrip('.')} must be numbered 0, 1, 2, ... without gaps.")
        return [converted[str(i)] for i in range(len(converted))]
    return converted
