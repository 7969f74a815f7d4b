"""The data OpenKMS keeps about keys and credentials: plain values shared by service and store."""

import enum
from dataclasses import dataclass, field


class KeyState(enum.StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETE = "PendingDelete"
    PENDING_IMPORT = "PendingImport"
    ARCHIVED = "Archived"


class KeyUsage(enum.StrEnum):
    ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
    ASYMMETRIC_DECRYPT_RSA_2048 = "ASYMMETRIC_DECRYPT_RSA_2048"
    ASYMMETRIC_DECRYPT_SM2 = "ASYMMETRIC_DECRYPT_SM2"
    ASYMMETRIC_SIGN_VERIFY_SM2 = "ASYMMETRIC_SIGN_VERIFY_SM2"
    ASYMMETRIC_SIGN_VERIFY_ECC = "ASYMMETRIC_SIGN_VERIFY_ECC"
    ASYMMETRIC_SIGN_VERIFY_RSA_2048 = "ASYMMETRIC_SIGN_VERIFY_RSA_2048"
    ASYMMETRIC_SIGN_VERIFY_ECDSA384 = "ASYMMETRIC_SIGN_VERIFY_ECDSA384"


class Origin(enum.StrEnum):
    TENCENT_KMS = "TENCENT_KMS"
    EXTERNAL = "EXTERNAL"


@dataclass(frozen=True)
class Tag:
    key: str
    value: str


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Credential:
    secret_id: str
    account: str
    create_time: int


@dataclass(frozen=True)
class Change:
    """A committed change another server process may have cached: kind is "key" or "credential"."""

    kind: str
    ref: str


@dataclass(frozen=True)
class Caller:
    """Who is asking, and where: every key operation is scoped to one account in one region."""

    account: str
    region: str
