"""The AWS KMS error shapes: every refusal as `{"__type": ..., "message": ...}` with the HTTP status the
AWS KMS API reference gives it. One table from domain errors, one from the codes the shared pipeline
stages raise (in Tencent's vocabulary)."""

from collections.abc import Mapping
from types import MappingProxyType

from openkms.domain import errors as domain

INTERNAL = "KMSInternalException"
STATUS: Mapping[str, int] = MappingProxyType({INTERNAL: 500, "DependencyTimeoutException": 503})
"""HTTP status of each error type; every other is 400."""

DOMAIN_TYPES: Mapping[type[domain.KmsError], str] = MappingProxyType(
    {
        domain.KeyNotFound: "NotFoundException",
        domain.KeyDisabled: "DisabledException",
        domain.KeyArchived: "DisabledException",
        domain.KeyShouldBeDisabled: "KMSInvalidStateException",
        domain.KeyNotPendingDelete: "KMSInvalidStateException",
        domain.KeyStateNotSupported: "KMSInvalidStateException",
        domain.InvalidCiphertext: "InvalidCiphertextException",
        domain.DecryptFailed: "InvalidCiphertextException",
        domain.Unauthorized: "AccessDeniedException",
        domain.CredentialTampered: "AccessDeniedException",
        domain.KeyUsedByCloudResources: "KMSInvalidStateException",
        domain.InvalidKeyUsage: "InvalidKeyUsageException",
        domain.CmkLimitExceeded: "LimitExceededException",
        domain.GrantLimitExceeded: "LimitExceededException",
        domain.GrantNotFound: "NotFoundException",
        domain.TooBusy: "ThrottlingException",
        domain.StoreUnavailable: "DependencyTimeoutException",
        domain.RootOfTrustUnavailable: "DependencyTimeoutException",
        domain.AliasAlreadyExists: "AlreadyExistsException",
        domain.InvalidKeyId: "NotFoundException",
        domain.InvalidPendingWindow: "ValidationException",
        domain.InvalidParameterValue: "ValidationException",
        domain.InvalidParameter: "ValidationException",
        domain.MissingParameter: "ValidationException",
        domain.UnsupportedOperation: "UnsupportedOperationException",
        domain.StoredRecordInvalid: INTERNAL,
    }
)

API_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "RequestLimitExceeded": "ThrottlingException",
        "RequestSizeLimitExceeded": "ValidationException",
        "UnsupportedRegion": "UnrecognizedClientException",
        "AuthFailure.SignatureFailure": "InvalidSignatureException",
        "UnsupportedOperation.ServiceTemporaryUnavailable": "DependencyTimeoutException",
        "InternalError": INTERNAL,
    }
)


def type_of_domain(error: domain.KmsError) -> str:
    for kind, name in DOMAIN_TYPES.items():
        if isinstance(error, kind):
            return name
    return INTERNAL


def type_of_code(code: str) -> str:
    """An error code of the shared stages (or already an AWS type) as AWS names it."""
    if code.endswith("Exception"):
        return code
    return API_TYPES.get(
        code, "ValidationException" if code.startswith(("Invalid", "Missing", "Unknown")) else INTERNAL
    )
