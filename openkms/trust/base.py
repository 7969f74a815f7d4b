"""The root of trust: the one thing that can wrap and unwrap key material.

Everything OpenKMS stores that is secret (key versions, credential SecretKeys) is wrapped by a
RootOfTrust, bound to what it belongs to (`binding` is authenticated but not stored in the blob).
Implementations: trust.keyfile.MasterKeyFile today; a PKCS#11 HSM implements the same contract.
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
