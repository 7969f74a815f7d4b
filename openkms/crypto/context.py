"""EncryptionContext: parsing the caller's JSON string and serialising it canonically.

The canonical form becomes associated data, so it must be unambiguous: a count, then each key and
value length-prefixed, keys sorted by their UTF-8 bytes. {"a": "bc"} and {"ab": "c"} differ, key order
and JSON whitespace do not matter, and an empty object means the same as no context at all.
"""

import json
import struct
from collections.abc import Mapping

from openkms.domain.errors import InvalidParameter
from openkms.domain.limits import ENCRYPTION_CONTEXT_MAX_CHARS

EncryptionContext = Mapping[str, str]

_U32 = struct.Struct(">I")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidParameter(f"EncryptionContext repeats the key {key!r}; each key may appear once.")
        result[key] = value
    return result


def parse_context(text: str | None) -> dict[str, str]:
    """The caller's EncryptionContext string as a dict; None or "" means no context."""
    if not text:
        return {}
    if len(text) > ENCRYPTION_CONTEXT_MAX_CHARS:
        raise InvalidParameter(
            f"EncryptionContext is {len(text)} characters long; at most {ENCRYPTION_CONTEXT_MAX_CHARS} are allowed."
        )
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as exc:
        raise InvalidParameter('EncryptionContext must be a JSON object such as {"tenant":"a"}.') from exc
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidParameter("EncryptionContext must be a JSON object whose values are all strings.")
    try:
        for key, item in value.items():
            key.encode(), item.encode()
    except UnicodeEncodeError:
        # JSON may spell a lone surrogate (\ud800), which is not a character: it has no UTF-8 bytes.
        raise InvalidParameter("EncryptionContext must be valid Unicode: it holds an unpaired surrogate.") from None
    return value


def canonical_context(context: EncryptionContext) -> bytes:
    if not context:
        return b""
    items = sorted((k.encode(), v.encode()) for k, v in context.items())
    parts = [_U32.pack(len(items))]
    for key, value in items:
        parts += [_U32.pack(len(key)), key, _U32.pack(len(value)), value]
    return b"".join(parts)
