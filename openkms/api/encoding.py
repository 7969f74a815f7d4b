"""Base64 on the wire: the API carries every byte string as standard, padded Base64."""

import base64
import binascii

from openkms.errors import KmsError


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, error: type[KmsError], field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise error(f"{field} must be standard Base64 (A-Z, a-z, 0-9, +, / and = padding).") from None
