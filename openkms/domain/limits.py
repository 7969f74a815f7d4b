"""The Tencent Cloud KMS API's limits, in one table (kms-api-census.md, sections 2 and 8.4).

Both the domain (which enforces them) and the protocol adapter (which reports them) read these.
"""

import re
from collections.abc import Mapping
from typing import Any

ALIAS_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,59}")
RESERVED_ALIAS_PREFIX = "kms-"
DESCRIPTION_MAX_BYTES = 1024
PLAINTEXT_MAX_BYTES = 4096
SM2_CIPHERTEXT_MAX_BYTES = 256
ENCRYPTION_CONTEXT_MAX_CHARS = 1024
DATA_KEY_MIN_BYTES, DATA_KEY_MAX_BYTES = 1, 1024
RANDOM_MIN_BYTES, RANDOM_MAX_BYTES = 1, 1024
DATA_KEY_SPECS = {"AES_128": 16, "AES_256": 32}
SECONDS_PER_DAY = 86_400
PENDING_WINDOW_MIN_DAYS, PENDING_WINDOW_MAX_DAYS = 7, 30
BATCH_MAX_KEY_IDS = 100
LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT = 10, 200
TIMESTAMP_SKEW_SECONDS = 300
MAX_REQUEST_BODY_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
ROTATE_MIN_DAYS, ROTATE_MAX_DAYS, ROTATE_DEFAULT_DAYS = 7, 365, 365
MANUAL_ROTATION_INTERVAL_SECONDS = 24 * 3600
IMPORT_PARAMETERS_VALID_SECONDS = 24 * 3600
IMPORTED_MATERIAL_BYTES = 32
VALID_TO_MAX = 2147443200
DATA_KEY_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,59}")
DATA_KEY_DESCRIPTION_MAX_BYTES = 100
PRODUCT_ID_MAX = 64
RESOURCE_ID_MAX = 1024
GRANTS_PER_KEY = 50_000
"""Grants a key may have at once, as AWS KMS documents."""
GRANT_NAME_PATTERN = re.compile(r"[a-zA-Z0-9:/_-]{1,256}")
GRANT_PRINCIPAL_MAX = 256
GRANT_OPERATIONS = (
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
)
GRANT_CONTEXT_OPERATIONS = frozenset(GRANT_OPERATIONS) - {
    "Sign",
    "Verify",
    "GetPublicKey",
    "DescribeKey",
    "GenerateMac",
    "VerifyMac",
}
"""The operations a grant with an EncryptionContext constraint may name (those that take a context,
and the grant operations), as AWS KMS documents."""
WHITEBOX_KEY_LIMIT = 50
"""White-box keys per account (all regions), as Tencent Cloud documents."""
WHITEBOX_BATCH_MAX_KEY_IDS = 50
WHITEBOX_FINGERPRINTS_MAX = 200
WHITEBOX_IV_BYTES = 16
FINGERPRINT_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{14}-[0-9a-f]{14}-[0-9a-f]{14}-[0-9a-f]{16}")
"""A device fingerprint's Identity, as Tencent's fingerprint tool makes them."""
FINGERPRINT_DESCRIPTION_MAX = 1024
TAG_KEY_MAX_CHARS, TAG_VALUE_MAX_CHARS = 127, 255
DEFAULT_CMK_LIMIT = 200
"""Keys an account may have in a region, not counting those pending deletion: Tencent Cloud's documented
default (tencentcloud.com/document/product/1030/31966). A setting (cmk_limit)."""
DEFAULT_DATA_KEY_LIMIT = 10_000
"""Hosted data keys an account may have in a region, not counting those pending deletion. Tencent Cloud
sells this quota and documents no default; this is OpenKMS's. A setting (data_key_limit)."""

# Default request rates per account, per second (kms-api-census.md sections 1.2 and 8.3). Actions in
# one group share its budget; an action in no group has a budget of its own at DEFAULT_RATE.
DEFAULT_RATE = 100
RATE_GROUPS: dict[str, tuple[int, tuple[str, ...]]] = {
    "symmetric": (300, ("Encrypt", "Decrypt")),
    "GenerateDataKey": (150, ("GenerateDataKey",)),
    "GenerateRandom": (150, ("GenerateRandom",)),
    "asymmetric-decrypt": (200, ("AsymmetricRsaDecrypt", "AsymmetricSm2Decrypt")),
    "post-quantum": (
        20,
        ("PostQuantumCryptoEncrypt", "PostQuantumCryptoDecrypt", "PostQuantumCryptoSign", "PostQuantumCryptoVerify"),
    ),
}

# What a request costs in its group's budget: 1, except where the work is far dearer than an Encrypt
# (~150 us of server CPU). Generating an RSA-2048 key takes ~45 ms; an RSA private-key operation ~0.7 ms,
# an SM2 one ~0.45 ms (bench/ASYMMETRIC-RESULTS.md). Without weights, one account within its quota
# could take every core from the others.
KEY_GENERATION_COSTS = {"ASYMMETRIC_DECRYPT_RSA_2048": 50, "ASYMMETRIC_SIGN_VERIFY_RSA_2048": 50}
"""CreateKey's cost by KeyUsage; other usages cost 1 (EC, SM2 and post-quantum keys take microseconds)."""
PRIVATE_KEY_OPERATION_COSTS = {"AsymmetricRsaDecrypt": 5, "AsymmetricSm2Decrypt": 3}
ACTION_COSTS = {**PRIVATE_KEY_OPERATION_COSTS, "CreateWhiteBoxKey": 50, "GenerateDataKeyPair": 50}
"""Generating a white-box key's two table sets takes about a second of CPU: two a second per account.
AWS's GenerateDataKeyPair may generate an RSA key: priced as CreateKey prices one."""
SIGNATURE_COSTS = {"RSA_PSS_SHA_256": 5, "RSA_PKCS1_SHA_256": 5, "SM2DSA": 3}
"""SignByAsymmetricKey's cost by Algorithm."""
AUTHENTICATION_FAILURES_PER_SOURCE = 20
"""Requests per second a source address may have fail authentication (per process) before its
requests are refused unread for a while; one second's worth may come at once."""
KEY_GENERATIONS_AT_ONCE = 1
"""Asymmetric keys a server process generates at a time: the rest of its cores stay for other work."""
KEY_GENERATION_WAIT_SECONDS = 2.0
"""How long a CreateKey waits for its turn before it is answered RequestLimitExceeded."""


def request_cost(action: str, params: Mapping[str, Any]) -> int:
    """The tokens a request takes from its rate group (its parameters as sent, not yet checked)."""
    if action == "CreateKey":
        return KEY_GENERATION_COSTS.get(str(params.get("KeyUsage")), 1)
    if action == "SignByAsymmetricKey":
        return SIGNATURE_COSTS.get(str(params.get("Algorithm")), 1)
    return ACTION_COSTS.get(action, 1)
