"""Message authentication codes with HMAC keys (AWS's GenerateMac and VerifyMac)."""

import hmac as constant_time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes, hmac

from openkms.domain.models import KeyUsage

MAC_ALGORITHMS: dict[str, Callable[[], hashes.HashAlgorithm]] = {"HMAC_SHA_256": hashes.SHA256}
ALGORITHMS_OF: dict[KeyUsage, tuple[str, ...]] = {KeyUsage.HMAC_256: ("HMAC_SHA_256",)}
"""The MAC algorithms each HMAC key usage computes."""


def mac(key: bytes, algorithm: str, message: bytes) -> bytes:
    computed = hmac.HMAC(key, MAC_ALGORITHMS[algorithm]())
    computed.update(message)
    return computed.finalize()


def verify(key: bytes, algorithm: str, message: bytes, tag: bytes) -> bool:
    return constant_time.compare_digest(mac(key, algorithm, message), tag)
