"""Identifiers in their binary form."""

import uuid


def uuid_bytes(text: str) -> bytes:
    """The 16 bytes of a UUID given as text: uuid.UUID(text).bytes, without building the object for the
    canonical 8-4-4-4-12 form (key ids are that form; this runs for every key's first use)."""
    if len(text) == 36 and text[8] == text[13] == text[18] == text[23] == "-":
        raw = bytes.fromhex(text.replace("-", ""))
        if len(raw) == 16:
            return raw
    return uuid.UUID(text).bytes
