"""White-box keys: a key whose encryption and decryption tables KMS generates once and hands out, so
that devices encrypt and decrypt with the tables alone (openkms.whitebox); the key itself stays
wrapped in the store and is used only by EncryptByWhiteBox.

The key and a key for its tables are wrapped together by the root of trust, bound to the owner; the
tables (hundreds of kilobytes) are sealed under the second key, so that master-key rotation and
restores rewrap 64 bytes, not the tables.
"""

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from openkms.crypto.aead import KEY_BYTES, NONCE_BYTES, AuthenticationFailed, new_key, open_sealed, seal
from openkms.crypto.whitebox import keys as whitebox_keys
from openkms.domain.clock import Clock
from openkms.domain.errors import (
    AliasAlreadyExists,
    DuplicatedKeyId,
    FingerprintsLimitExceeded,
    InvalidParameterValue,
    InvalidPlaintext,
    StoredRecordInvalid,
    WhiteBoxKeyLimitExceeded,
    WhiteBoxKeyNotFound,
)
from openkms.domain.limits import (
    FINGERPRINT_DESCRIPTION_MAX,
    FINGERPRINT_PATTERN,
    PLAINTEXT_MAX_BYTES,
    WHITEBOX_BATCH_MAX_KEY_IDS,
    WHITEBOX_FINGERPRINTS_MAX,
    WHITEBOX_IV_BYTES,
    WHITEBOX_KEY_LIMIT,
)
from openkms.domain.models import (
    Caller,
    DeviceFingerprint,
    Tag,
    WhiteBoxAlgorithm,
    WhiteBoxKey,
    WhiteBoxQuery,
    WhiteBoxState,
)
from openkms.service.generation import Generations
from openkms.service.lifecycle import ATTEMPTS, ConcurrentModification, Lifecycle, Records
from openkms.service.states import WhiteBoxOperation, next_whitebox_state
from openkms.service.tags import check_tag_filters, check_tags
from openkms.service.validation import check_alias, check_batch, check_description, check_key_id
from openkms.store.base import AliasTaken, KeyStore, WhiteBoxWrite
from openkms.trust.base import RootOfTrust, UnwrapFailed
from openkms.trust.bindings import whitebox_key

TABLE_GENERATIONS_AT_ONCE = 2
TABLE_GENERATION_WAIT_SECONDS = 10.0
_LENGTH_BYTES = 4


class WhiteBoxTables(NamedTuple):
    encrypt_key: bytes
    decrypt_key: bytes


@dataclass(frozen=True)
class WhiteBoxKeyInfo:
    key: WhiteBoxKey
    tables: WhiteBoxTables


def check_whitebox_batch(ids: Sequence[str]) -> Sequence[str]:
    return check_batch(ids, "KeyIds", check_key_id, DuplicatedKeyId, WHITEBOX_BATCH_MAX_KEY_IDS)


class WhiteBoxRecords(Records[WhiteBoxKey, WhiteBoxWrite, WhiteBoxOperation]):
    not_found = WhiteBoxKeyNotFound

    def __init__(self, store: KeyStore) -> None:
        self._store = store

    def check_batch(self, ids: Sequence[str]) -> Sequence[str]:
        return check_whitebox_batch(ids)

    def owned(self, caller: Caller, record_id: str, fresh: bool) -> WhiteBoxKey:
        key = self._store.get_whitebox_key(check_key_id(record_id))
        if key is None or key.account != caller.account or key.region != caller.region:
            raise WhiteBoxKeyNotFound(f"White-box key {record_id} does not exist in region {caller.region}.")
        return key

    def moved(self, record: WhiteBoxKey, operation: WhiteBoxOperation) -> WhiteBoxKey:
        return replace(record, state=next_whitebox_state(operation, record.key_id, record.state))

    def write_of(self, updated: WhiteBoxKey, stored: WhiteBoxKey) -> WhiteBoxWrite:
        return WhiteBoxWrite(updated, stored.revision)

    def write(self, writes: Sequence[WhiteBoxWrite]) -> bool:
        return self._store.update_whitebox_keys(writes)


class WhiteBoxService:
    def __init__(self, store: KeyStore, trust: RootOfTrust, clock: Clock) -> None:
        self._store = store
        self._trust = trust
        self._clock = clock
        self._records = WhiteBoxRecords(store)
        self._lifecycle = Lifecycle(self._records, clock)
        self._generations = Generations(
            TABLE_GENERATIONS_AT_ONCE,
            TABLE_GENERATION_WAIT_SECONDS,
            "Too many white-box keys are being created at once; retry in a few seconds.",
        )

    def create(
        self, caller: Caller, alias: str, algorithm: str, description: str = "", tags: Sequence[Tag] = ()
    ) -> WhiteBoxKeyInfo:
        check_alias(alias)
        check_description(description)
        if algorithm not in WhiteBoxAlgorithm.__members__.values():
            raise InvalidParameterValue(f"Algorithm must be AES_256 or SM4; got {algorithm[:32]!r}.")
        checked_tags = check_tags(tags)
        if self._store.count_whitebox_keys(caller.account, up_to=WHITEBOX_KEY_LIMIT) >= WHITEBOX_KEY_LIMIT:
            raise WhiteBoxKeyLimitExceeded(
                f"The account has {WHITEBOX_KEY_LIMIT} white-box keys, the most it may have: delete one first."
            )
        key = WhiteBoxKey(
            key_id=str(uuid.uuid4()),
            account=caller.account,
            region=caller.region,
            alias=alias,
            description=description,
            algorithm=WhiteBoxAlgorithm(algorithm),
            state=WhiteBoxState.ENABLED,
            create_time=int(self._clock.now()),
            tags=checked_tags,
        )
        secret = whitebox_keys.new_key(algorithm)
        tables = self._generate(algorithm, secret)
        tables_key = new_key()
        bound = self._trust.wrap(secret + tables_key, whitebox_key(key.key_id, key.account, key.region))
        try:
            self._store.insert_whitebox_key(key, bound, _seal(tables_key, key.key_id, tables))
        except AliasTaken:
            raise AliasAlreadyExists(f"Alias {alias!r} is already used by another white-box key here.") from None
        return WhiteBoxKeyInfo(key, tables)

    def describe(self, caller: Caller, key_id: str) -> WhiteBoxKeyInfo:
        key = self._records.owned(caller, key_id, fresh=True)
        return WhiteBoxKeyInfo(key, self._secrets(key)[1])

    def details(self, query: WhiteBoxQuery) -> tuple[int, list[WhiteBoxKeyInfo]]:
        check_tag_filters(self._store, query.account, query.region, query.tag_filters)
        total, found = self._store.list_whitebox_keys(query)
        return total, [WhiteBoxKeyInfo(key, self._secrets(key)[1]) for key in found]

    def decrypt_key(self, caller: Caller, key_id: str) -> bytes:
        key = self._records.owned(caller, key_id, fresh=True)
        next_whitebox_state(WhiteBoxOperation.USE, key.key_id, key.state)
        return self._secrets(key)[1].decrypt_key

    def encrypt(self, caller: Caller, key_id: str, plaintext: bytes, iv: bytes | None) -> tuple[bytes, bytes]:
        """(the IV, CBC/PKCS#7 ciphertext) of the plaintext under the key."""
        if len(plaintext) > PLAINTEXT_MAX_BYTES:
            raise InvalidPlaintext(f"PlainText is at most {PLAINTEXT_MAX_BYTES} bytes; got {len(plaintext)}.")
        if iv is not None and len(iv) != WHITEBOX_IV_BYTES:
            raise InvalidParameterValue(f"InitializationVector is {WHITEBOX_IV_BYTES} bytes; got {len(iv)}.")
        key = self._records.owned(caller, key_id, fresh=True)
        next_whitebox_state(WhiteBoxOperation.USE, key.key_id, key.state)
        secret, _ = self._secrets(key)
        chosen = iv if iv is not None else os.urandom(WHITEBOX_IV_BYTES)
        return chosen, whitebox_keys.encrypt(key.algorithm.value, secret, chosen, plaintext)

    def enable(self, caller: Caller, ids: Sequence[str]) -> None:
        self._lifecycle.apply_to_batch(caller, ids, WhiteBoxOperation.ENABLE)

    def disable(self, caller: Caller, ids: Sequence[str]) -> None:
        self._lifecycle.apply_to_batch(caller, ids, WhiteBoxOperation.DISABLE)

    def delete(self, caller: Caller, key_id: str) -> None:
        """Destroy a disabled key, its tables and fingerprints."""
        for _ in range(ATTEMPTS):
            key = self._records.owned(caller, key_id, fresh=True)
            next_whitebox_state(WhiteBoxOperation.DELETE, key.key_id, key.state)
            if self._store.delete_whitebox_key(key.key_id, key.revision):
                return
            # Changed meanwhile (enabled again, say): decide again on what is stored now.
        raise ConcurrentModification(f"white-box key {key_id} kept changing during deletion")

    def fingerprints(self, caller: Caller, key_id: str) -> list[DeviceFingerprint]:
        key = self._records.owned(caller, key_id, fresh=True)
        return self._store.whitebox_fingerprints(key.key_id)

    def overwrite_fingerprints(self, caller: Caller, key_id: str, fingerprints: Sequence[DeviceFingerprint]) -> None:
        if len(fingerprints) > WHITEBOX_FINGERPRINTS_MAX:
            raise FingerprintsLimitExceeded(
                f"A white-box key takes at most {WHITEBOX_FINGERPRINTS_MAX} device fingerprints; "
                f"got {len(fingerprints)}."
            )
        for fingerprint in fingerprints:
            if not FINGERPRINT_PATTERN.fullmatch(fingerprint.identity):
                raise InvalidParameterValue(
                    f"A fingerprint's Identity is 8-14-14-14-16 lowercase hex digits joined by '-'; "
                    f"got {fingerprint.identity[:80]!r}."
                )
            if len(fingerprint.description.encode()) > FINGERPRINT_DESCRIPTION_MAX:
                raise InvalidParameterValue(
                    f"A fingerprint's Description is at most {FINGERPRINT_DESCRIPTION_MAX} bytes."
                )
        key = self._records.owned(caller, key_id, fresh=True)
        next_whitebox_state(WhiteBoxOperation.UPDATE, key.key_id, key.state)
        if not self._store.replace_whitebox_fingerprints(key.key_id, fingerprints):
            raise WhiteBoxKeyNotFound(f"White-box key {key_id} does not exist in region {caller.region}.")

    def _generate(self, algorithm: str, secret: bytes) -> WhiteBoxTables:
        """Tables take about a second of CPU each: a few at a time in this process."""
        return self._generations.run(lambda: WhiteBoxTables(*whitebox_keys.tables(algorithm, secret)))

    def _secrets(self, key: WhiteBoxKey) -> tuple[bytes, WhiteBoxTables]:
        stored = self._store.load_whitebox_secrets(key.key_id)
        if stored is None:
            raise WhiteBoxKeyNotFound(f"White-box key {key.key_id} does not exist.")
        bound, sealed = stored
        try:
            opened = self._trust.unwrap(bound, whitebox_key(key.key_id, key.account, key.region))
        except UnwrapFailed:
            raise StoredRecordInvalid(
                f"White-box key {key.key_id} does not open for its stored owner: the store was changed outside "
                "OpenKMS, is damaged, or was wrapped by another root of trust than this server's."
            ) from None
        secret, tables_key = opened[:-KEY_BYTES], opened[-KEY_BYTES:]
        return secret, _open(tables_key, key.key_id, sealed)


def _seal(tables_key: bytes, key_id: str, tables: WhiteBoxTables) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    body = len(tables.encrypt_key).to_bytes(_LENGTH_BYTES, "big") + tables.encrypt_key + tables.decrypt_key
    return nonce + seal(tables_key, nonce, body, key_id.encode())


def _open(tables_key: bytes, key_id: str, sealed: bytes) -> WhiteBoxTables:
    try:
        body = open_sealed(tables_key, sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], key_id.encode())
    except AuthenticationFailed:
        raise StoredRecordInvalid(f"White-box key {key_id}'s tables were altered in the store.") from None
    split = _LENGTH_BYTES + int.from_bytes(body[:_LENGTH_BYTES], "big")
    return WhiteBoxTables(body[_LENGTH_BYTES:split], body[split:])
