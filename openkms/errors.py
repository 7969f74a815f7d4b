"""Domain errors: what the service refuses, in terms of keys and data, never of HTTP.

Every class here is a refusal the caller can act on; its message is shown to the caller as is, so it
must never contain key material, plaintext or secrets. `api/errors.py` maps each class to its Tencent
Cloud error code in one table. Anything that is not a KmsError is an internal fault.
"""


class KmsError(Exception):
    """A request the service refuses; the message is safe to return to the caller."""


# Input that is malformed or out of range.
class InvalidParameter(KmsError):
    pass


class InvalidParameterValue(KmsError):
    pass


class InvalidKeyId(InvalidParameterValue):
    pass


class InvalidAlias(InvalidParameterValue):
    pass


class AliasAlreadyExists(InvalidParameterValue):
    pass


class InvalidPlaintext(InvalidParameterValue):
    pass


class InvalidCiphertext(InvalidParameterValue):
    """One opaque refusal for every ciphertext that does not open: no oracle on why."""


class InvalidKeyUsage(InvalidParameterValue):
    pass


class InvalidKeyType(InvalidParameterValue):
    pass


class DuplicatedKeyId(InvalidParameterValue):
    pass


class InvalidPendingWindow(InvalidParameter):
    pass


class MissingParameter(KmsError):
    pass


# The key exists (or not) but its state forbids the operation.
class KeyNotFound(KmsError):
    pass


class KeyDisabled(KmsError):
    pass


class KeyArchived(KmsError):
    pass


class KeyShouldBeDisabled(KmsError):
    pass


class KeyNotPendingDelete(KmsError):
    pass


class KeyStateNotSupported(KmsError):
    pass


# Things OpenKMS does not do (yet, or in this configuration).
class UnsupportedOperation(KmsError):
    pass


class UnsupportedKeyUsage(UnsupportedOperation):
    pass


class UnsupportedRegion(KmsError):
    pass


class CredentialNotFound(KmsError):
    pass
