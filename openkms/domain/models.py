"""The data OpenKMS keeps about keys and credentials: plain values shared by service and store."""

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class KeyState(enum.StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETE = "PendingDelete"
    PENDING_IMPORT = "PendingImport"
    ARCHIVED = "Archived"


class Rotation(enum.StrEnum):
    """What made a key version after the first: the rotation schedule, or a caller's RotateKey.
    UNRECORDED: a version rotated before OpenKMS recorded which (schema version 8)."""

    UNRECORDED = ""
    AUTOMATIC = "AUTOMATIC"
    ON_DEMAND = "ON_DEMAND"


@dataclass(frozen=True)
class KeyVersion:
    version: int
    create_time: int
    rotation: Rotation


class SymmetricCipher(enum.StrEnum):
    """How a symmetric key seals: AES-256-GCM (FIPS, KeyMetadata.Type 2) or SM4-GCM (the Chinese national
    standard, Type 4). Fixed when the key is made; the server's mode only picks it for new keys."""

    AES_256_GCM = "AES_256_GCM"
    SM4_GCM = "SM4_GCM"


class KeyUsage(enum.StrEnum):
    ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
    ASYMMETRIC_DECRYPT_RSA_2048 = "ASYMMETRIC_DECRYPT_RSA_2048"
    ASYMMETRIC_DECRYPT_SM2 = "ASYMMETRIC_DECRYPT_SM2"
    ASYMMETRIC_SIGN_VERIFY_SM2 = "ASYMMETRIC_SIGN_VERIFY_SM2"
    ASYMMETRIC_SIGN_VERIFY_ECC = "ASYMMETRIC_SIGN_VERIFY_ECC"
    ASYMMETRIC_SIGN_VERIFY_RSA_2048 = "ASYMMETRIC_SIGN_VERIFY_RSA_2048"
    ASYMMETRIC_SIGN_VERIFY_ECDSA384 = "ASYMMETRIC_SIGN_VERIFY_ECDSA384"
    # Not in the SDK's list; named by OpenKMS (README) for the post-quantum actions.
    PQC_ENCRYPT_DECRYPT_ML_KEM_768 = "PQC_ENCRYPT_DECRYPT_ML_KEM_768"
    PQC_SIGN_VERIFY_ML_DSA_65 = "PQC_SIGN_VERIFY_ML_DSA_65"
    # Named by OpenKMS for AWS's HMAC keys (KeySpec HMAC_256, GenerateMac and VerifyMac).
    HMAC_256 = "HMAC_256"


class Origin(enum.StrEnum):
    TENCENT_KMS = "TENCENT_KMS"
    EXTERNAL = "EXTERNAL"


@dataclass(frozen=True)
class Tag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Key:
    """A customer master key's metadata. Its material lives in versions, wrapped, never here."""

    key_id: str
    account: str
    region: str
    alias: str
    description: str
    usage: KeyUsage
    origin: Origin
    state: KeyState
    create_time: int
    deletion_date: int = 0
    current_version: int = 1
    tags: tuple[Tag, ...] = field(default=())
    rotation_enabled: bool = False
    rotate_days: int = 0
    next_rotate_time: int = 0
    last_rotate_time: int = 0
    valid_to: int = 0
    """When imported material expires (0: never, or not an imported key)."""
    wrapped_material_digest: bytes = b""
    """For imported keys: SHA-256 of the material, wrapped, so a re-import can be checked to match."""
    revision: int = 0
    """Bumped by the store on every write; writes compare it to detect concurrent changes."""
    cipher: SymmetricCipher = SymmetricCipher.AES_256_GCM


@dataclass(frozen=True)
class KeyQuery:
    """A page of an account's keys in one region, filtered as ListKeyDetail allows."""

    account: str
    region: str
    offset: int = 0
    limit: int = 10
    states: frozenset[KeyState] | None = None
    usages: frozenset[KeyUsage] | None = None
    origin: Origin | None = None
    search: str = ""
    tag_filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    newest_first: bool = True


class DataKeyState(enum.StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETE = "PendingDelete"


@dataclass(frozen=True)
class DataKey:
    """A data key KMS hosts: its plaintext exists only as `blob`, encrypted under the CMK `key_id`."""

    data_key_id: str
    account: str
    region: str
    key_id: str
    name: str
    description: str
    state: DataKeyState
    number_of_bytes: int
    origin: Origin
    create_time: int
    blob: bytes
    context: str = ""
    """The EncryptionContext the blob is bound to, kept so GetDataKeyPlaintext can open it."""
    deletion_date: int = 0
    tags: tuple[Tag, ...] = field(default=())
    revision: int = 0


@dataclass(frozen=True)
class DataKeyQuery:
    account: str
    region: str
    offset: int = 0
    limit: int = 10
    states: frozenset[DataKeyState] | None = None
    origin: Origin | None = None
    search: str = ""
    key_id: str = ""
    number_of_bytes: int = 0
    tag_filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    newest_first: bool = True


class WhiteBoxState(enum.StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"


class WhiteBoxAlgorithm(enum.StrEnum):
    AES_256 = "AES_256"
    SM4 = "SM4"


@dataclass(frozen=True)
class DeviceFingerprint:
    identity: str
    description: str = ""


@dataclass(frozen=True)
class WhiteBoxKey:
    """A white-box key's metadata. Its key and its tables are stored apart, the key wrapped."""

    key_id: str
    account: str
    region: str
    alias: str
    description: str
    algorithm: WhiteBoxAlgorithm
    state: WhiteBoxState
    create_time: int
    tags: tuple[Tag, ...] = field(default=())
    fingerprints_bound: bool = False
    revision: int = 0


@dataclass(frozen=True)
class WhiteBoxQuery:
    """DescribeWhiteBoxKeyDetails: an account's white-box keys in one region, oldest first."""

    account: str
    region: str
    offset: int = 0
    limit: int | None = None
    """None: every key (the action's Limit 0)."""
    state: WhiteBoxState | None = None
    tag_filters: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class CloudResource:
    """A cloud product's resource that uses a key (BindCloudResource)."""

    product_id: str
    resource_id: str


@dataclass(frozen=True)
class Grant:
    """A standing permission for one principal to use one key for some operations (AWS's grants),
    given by someone who may, and taken back by retiring or revoking it."""

    grant_id: str
    key_id: str
    account: str
    grantee: str
    operations: tuple[str, ...]
    create_time: int
    name: str = ""
    retiring: str = ""
    context_subset: Mapping[str, str] | None = None
    """Only with an EncryptionContext holding every one of these pairs."""
    context_equals: Mapping[str, str] | None = None
    """Only with exactly this EncryptionContext."""


@dataclass(frozen=True)
class ImportToken:
    """What GetParametersForImport issued: a one-time RSA wrapping key for one key's material."""

    token: str
    key_id: str
    wrapping_algorithm: str
    wrapped_private_key: bytes
    expires_at: int
    used: bool = False


@dataclass(frozen=True)
class Credential:
    secret_id: str
    account: str
    create_time: int


@dataclass(frozen=True)
class Change:
    """A committed change another server process may have cached."""

    kind: "ChangeKind"
    ref: str


class ChangeKind(enum.StrEnum):
    KEY = "key"
    CREDENTIAL = "credential"
    DATA_KEY = "data_key"
    ALL = "all"
    """Forget everything: changes may have been missed."""


@dataclass(frozen=True)
class Caller:
    """Who is asking, and where: every key operation is scoped to one account in one region."""

    account: str
    region: str
