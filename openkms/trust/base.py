"""The root of trust: the one thing that can wrap and unwrap key material.

Everything OpenKMS stores that is secret (key versions, credential SecretKeys, the store's own
secrets, the audit chain key) is wrapped by a RootOfTrust, bound to what it belongs to (`binding` is
authenticated but not stored in the blob). Implementations: trust.keyfile (the master key file, and
the ring of files a rotation leaves), trust.pkcs11 (a key inside an HSM), trust.composite (moving
from the one to the other).
"""

from typing import Protocol


class RootOfTrustError(Exception):
    """The root of trust cannot be opened as configured: said in one line, with what to do."""


class UnwrapFailed(Exception):
    """The wrapped blob is corrupt, bound to something else, or wrapped by another root of trust."""


class RootOfTrust(Protocol):
    @property
    def key_id(self) -> str:
        """A public identifier of the wrapping key, to tell which root wrapped a blob."""
        ...

    def wrap(self, material: bytes, binding: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, binding: bytes) -> bytes: ...
