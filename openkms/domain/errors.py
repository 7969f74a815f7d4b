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


class TagKeysDuplicated(InvalidParameterValue):
    pass


class TagsNotExisted(InvalidParameterValue):
    pass


class MaterialNotMatch(InvalidParameterValue):
    pass


class InvalidImportKeyMaterial(InvalidParameterValue):
    pass


class DecryptMaterialError(InvalidParameter):
    """The wrapped key material does not unwrap with the import token's private key."""


class InvalidDataKeyId(InvalidParameterValue):
    pass


class InvalidDataKeyName(InvalidParameterValue):
    pass


class DataKeyNameAlreadyExists(InvalidParameterValue):
    pass


class DuplicatedDataKeyId(InvalidParameterValue):
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


class ImportTokenExpired(KmsError):
    pass


class DataKeyNotFound(KmsError):
    pass


class DataKeyDisabled(KmsError):
    pass


class DataKeyPendingDelete(KmsError):
    pass


class DataKeyNotPendingDelete(KmsError):
    pass


class DataKeyStateNotSupported(KmsError):
    pass


class RotateRateLimited(KmsError):
    pass


class CmkLimitExceeded(KmsError):
    """The account has as many keys in the region as its quota allows."""


class DataKeyLimitExceeded(KmsError):
    """The account has as many hosted data keys in the region as its quota allows."""


class GrantLimitExceeded(KmsError):
    """The key has as many grants as a key may have."""


class GrantNotFound(KmsError):
    """No grant of this key has the given id (or token)."""


class WhiteBoxKeyNotFound(KmsError):
    pass


class WhiteBoxKeyDisabled(KmsError):
    pass


class WhiteBoxKeyShouldBeDisabled(KmsError):
    pass


class WhiteBoxKeyLimitExceeded(KmsError):
    pass


class FingerprintsLimitExceeded(KmsError):
    pass


class CloudResourceBindingNotFound(KmsError):
    pass


class KeyUsedByCloudResources(KmsError):
    pass


class StoreUnavailable(KmsError):
    """The key store cannot be reached or written right now (a database outage, a full or read-only
    disk): nothing was changed, and the request may be retried."""


class RootOfTrustUnavailable(KmsError):
    """The HSM cannot be reached right now: nothing was changed, and the request may be retried."""


class TooBusy(KmsError):
    """The server is doing as much of this kind of work as it allows at once; retry shortly."""


class RotateTaskRunning(KmsError):
    pass


# Things OpenKMS does not do (yet, or in this configuration).
class UnsupportedOperation(KmsError):
    pass


class ExternalKeyCannotRotate(UnsupportedOperation):
    pass


class NotExternalKey(UnsupportedOperation):
    pass


class UnsupportedRegion(KmsError):
    pass


class DecryptFailed(KmsError):
    """The ciphertext does not decrypt with the key (asymmetric decryption)."""


class CredentialNotFound(KmsError):
    pass


class PolicyNotFound(KmsError):
    pass


class StoredRecordInvalid(KmsError):
    """A stored record does not authenticate: the store was changed outside OpenKMS, or is damaged."""


class CredentialTampered(KmsError):
    """A credential's stored owner or policy set does not match its seal."""


class Unauthorized(KmsError):
    """A policy of the caller's credential does not allow the request."""
