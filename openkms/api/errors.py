"""Tencent Cloud error codes: protocol errors raised by the adapter, and the one table that maps each
domain error to its code."""

from collections.abc import Mapping
from types import MappingProxyType

from openkms.domain import errors as domain


class ApiError(Exception):
    """A refusal at the protocol level (signature, envelope, parameter types), with its code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


INTERNAL_ERROR = "InternalError"
INTERNAL_MESSAGE = "The server could not complete the request; it has been logged. Retry, or report the RequestId."

# Most specific class first: an error maps to the first entry it is an instance of.
DOMAIN_CODES: Mapping[type[domain.KmsError], str] = MappingProxyType(
    {
        domain.InvalidKeyId: "InvalidParameterValue.InvalidKeyId",
        domain.InvalidAlias: "InvalidParameterValue.InvalidAlias",
        domain.AliasAlreadyExists: "InvalidParameterValue.AliasAlreadyExists",
        domain.InvalidPlaintext: "InvalidParameterValue.InvalidPlaintext",
        domain.InvalidCiphertext: "InvalidParameterValue.InvalidCiphertext",
        domain.InvalidKeyUsage: "InvalidParameterValue.InvalidKeyUsage",
        domain.InvalidKeyType: "InvalidParameterValue.InvalidType",
        domain.DuplicatedKeyId: "InvalidParameterValue.DuplicatedKeyId",
        domain.TagKeysDuplicated: "InvalidParameterValue.TagKeysDuplicated",
        domain.TagsNotExisted: "InvalidParameterValue.TagsNotExisted",
        domain.MaterialNotMatch: "InvalidParameterValue.MaterialNotMatch",
        domain.InvalidImportKeyMaterial: "InvalidParameterValue.InvalidImportKeyMaterial",
        domain.DecryptMaterialError: "InvalidParameter.DecryptMaterialError",
        domain.InvalidDataKeyId: "InvalidParameterValue.InvalidDataKeyId",
        domain.InvalidDataKeyName: "InvalidParameterValue.InvalidDataKeyName",
        domain.DataKeyNameAlreadyExists: "InvalidParameterValue.DataKeyNameAlreadyExists",
        domain.DuplicatedDataKeyId: "InvalidParameterValue.DuplicatedDataKeyId",
        domain.InvalidPendingWindow: "InvalidParameter.InvalidPendingWindowInDays",
        domain.InvalidParameterValue: "InvalidParameterValue",
        domain.InvalidParameter: "InvalidParameter",
        domain.MissingParameter: "MissingParameter",
        domain.KeyNotFound: "ResourceUnavailable.CmkNotFound",
        domain.KeyDisabled: "ResourceUnavailable.CmkDisabled",
        domain.KeyArchived: "ResourceUnavailable.CmkArchived",
        domain.KeyShouldBeDisabled: "ResourceUnavailable.CmkShouldBeDisabled",
        domain.KeyNotPendingDelete: "ResourceUnavailable.CmkNotPendingDelete",
        domain.KeyStateNotSupported: "ResourceUnavailable.CmkStateNotSupport",
        domain.ImportTokenExpired: "ResourceUnavailable.TokenExpired",
        domain.DataKeyNotFound: "ResourceUnavailable.DataKeyNotFound",
        domain.DataKeyDisabled: "ResourceUnavailable.DataKeyDisabled",
        domain.DataKeyPendingDelete: "ResourceUnavailable.DataKeyPendingDelete",
        domain.DataKeyNotPendingDelete: "ResourceUnavailable.DataKeyNotPendingDelete",
        domain.DataKeyStateNotSupported: "ResourceUnavailable.DataKeyStateNotSupport",
        domain.RotateRateLimited: "RequestLimitExceeded.RotateRateLimited",
        domain.TooBusy: "RequestLimitExceeded",
        domain.StoreUnavailable: "UnsupportedOperation.ServiceTemporaryUnavailable",
        domain.RootOfTrustUnavailable: "UnsupportedOperation.ServiceTemporaryUnavailable",
        domain.CmkLimitExceeded: "LimitExceeded.CmkLimitExceeded",
        domain.GrantLimitExceeded: "LimitExceeded",
        domain.GrantNotFound: "ResourceNotFound",
        domain.WhiteBoxKeyNotFound: "ResourceNotFound",
        domain.CloudResourceBindingNotFound: "ResourceUnavailable.CloudResourceBindingNotFound",
        domain.KeyUsedByCloudResources: "FailedOperation.CmkUsedByCloudProduct",
        domain.WhiteBoxKeyDisabled: "ResourceUnavailable.KeyDisabled",
        domain.WhiteBoxKeyShouldBeDisabled: "ResourceUnavailable.CmkShouldBeDisabled",
        domain.WhiteBoxKeyLimitExceeded: "LimitExceeded.KeyLimitExceeded",
        domain.FingerprintsLimitExceeded: "LimitExceeded.FingerprintsLimitExceeded",
        domain.DataKeyLimitExceeded: "LimitExceeded.DataKeyLimitExceeded",
        domain.RotateTaskRunning: "FailedOperation.RotateTaskRunning",
        domain.ExternalKeyCannotRotate: "UnsupportedOperation.ExternalCmkCanNotRotate",
        domain.NotExternalKey: "UnsupportedOperation.NotExternalCmk",
        domain.UnsupportedOperation: "UnsupportedOperation",
        domain.UnsupportedRegion: "UnsupportedRegion",
        domain.CredentialNotFound: "AuthFailure.SecretIdNotFound",
        domain.Unauthorized: "UnauthorizedOperation",
        domain.CredentialTampered: "UnauthorizedOperation",
        domain.StoredRecordInvalid: "InternalError",
        domain.DecryptFailed: "FailedOperation.DecryptError",
    }
)


def code_for(error: domain.KmsError) -> str:
    for cls in type(error).__mro__:
        if cls in DOMAIN_CODES:
            return DOMAIN_CODES[cls]
    return "FailedOperation"
