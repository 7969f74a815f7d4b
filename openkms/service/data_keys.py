"""KMS-hosted data keys: data keys KMS keeps (encrypted under a CMK) and hands back on request."""

import uuid
from collections.abc import Sequence
from dataclasses import replace

from openkms.domain.clock import Clock
from openkms.domain.errors import (
    DataKeyLimitExceeded,
    DataKeyNameAlreadyExists,
    DataKeyNotFound,
    DuplicatedDataKeyId,
    InvalidCiphertext,
    InvalidDataKeyId,
    InvalidDataKeyName,
    InvalidImportKeyMaterial,
    InvalidKeyId,
    InvalidParameterValue,
    MissingParameter,
)
from openkms.domain.limits import (
    DATA_KEY_DESCRIPTION_MAX_BYTES,
    DATA_KEY_MAX_BYTES,
    DATA_KEY_MIN_BYTES,
    DATA_KEY_NAME_PATTERN,
    DEFAULT_DATA_KEY_LIMIT,
)
from openkms.domain.models import Caller, DataKey, DataKeyQuery, DataKeyState, Origin, Tag
from openkms.service.crypto_ops import CryptoService
from openkms.service.due import DueWork
from openkms.service.lifecycle import Lifecycle, Records
from openkms.service.states import DataKeyOperation, next_data_key_state
from openkms.service.tags import check_tag_filters, check_tags
from openkms.service.validation import UUID_PATTERN, check_batch, check_description
from openkms.store.base import AliasTaken, DataKeyWrite, KeyStore

IMPORT_CIPHERTEXT, IMPORT_PLAINTEXT = 1, 2


def check_name(name: str) -> str:
    if not DATA_KEY_NAME_PATTERN.fullmatch(name):
        raise InvalidDataKeyName(
            f"DataKeyName must be 1-60 letters, digits, '-' or '_', starting with a letter or digit; got {name[:80]!r}."
        )
    return name


def check_data_key_id(data_key_id: str) -> str:
    if not UUID_PATTERN.fullmatch(data_key_id):
        raise InvalidDataKeyId(f"DataKeyId {data_key_id[:80]!r} is not a data key id (a lowercase UUID).")
    return data_key_id


def check_data_key_batch(ids: Sequence[str]) -> Sequence[str]:
    return check_batch(ids, "DataKeyIds", check_data_key_id, DuplicatedDataKeyId)


class DataKeyRecords(Records[DataKey, DataKeyWrite, DataKeyOperation]):
    """Hosted data keys, read from the store each time (they are not cached)."""

    not_found = DataKeyNotFound

    def __init__(self, store: KeyStore, clock: Clock, due: DueWork) -> None:
        self._store = store
        self._clock = clock
        self._due = due

    def check_batch(self, ids: Sequence[str]) -> Sequence[str]:
        return check_data_key_batch(ids)

    def owned(self, caller: Caller, record_id: str, fresh: bool) -> DataKey:
        data_key = self._store.get_data_key(check_data_key_id(record_id))
        if data_key is None or data_key.account != caller.account or data_key.region != caller.region:
            raise DataKeyNotFound(f"Data key {record_id} does not exist in region {caller.region}.")
        now = int(self._clock.now())
        if data_key.state == DataKeyState.PENDING_DELETE and data_key.deletion_date <= now:
            self._due.do(record_id, lambda: self._store.purge_data_key(record_id, now))
            raise DataKeyNotFound(f"Data key {record_id} does not exist in region {caller.region}.")
        return data_key

    def moved(self, record: DataKey, operation: DataKeyOperation) -> DataKey:
        return replace(record, state=next_data_key_state(operation, record.data_key_id, record.state))

    def write_of(self, updated: DataKey, stored: DataKey) -> DataKeyWrite:
        return DataKeyWrite(updated, stored.revision)

    def write(self, writes: Sequence[DataKeyWrite]) -> bool:
        return self._store.update_data_keys(writes)


class DataKeyService:
    def __init__(
        self,
        store: KeyStore,
        crypto: CryptoService,
        clock: Clock,
        data_key_limit: int = DEFAULT_DATA_KEY_LIMIT,
        due: DueWork | None = None,
    ) -> None:
        self._store = store
        self._crypto = crypto
        self._clock = clock
        self.data_key_limit = data_key_limit
        self._records = DataKeyRecords(store, clock, due or DueWork())
        self._lifecycle = Lifecycle(self._records, clock)

    def generate(
        self,
        caller: Caller,
        key_id: str,
        key_spec: str | None,
        number_of_bytes: int | None,
        context: str | None,
        name: str,
        description: str = "",
        tags: Sequence[Tag] = (),
    ) -> tuple[DataKey, bytes]:
        """A new data key, hosted: returns its record and its plaintext (this once)."""
        check_name(name)
        check_description(description, DATA_KEY_DESCRIPTION_MAX_BYTES)
        generated = self._crypto.generate_data_key(caller, key_id, key_spec, number_of_bytes, context)
        record = self._record(
            caller,
            generated.key_id,
            name,
            description,
            generated.blob,
            len(generated.plaintext),
            Origin.TENCENT_KMS,
            context or "",
            check_tags(tags),
        )
        self._insert(record)
        return record, generated.plaintext

    def import_key(
        self,
        caller: Caller,
        name: str,
        material: bytes,
        import_type: int,
        key_id: str | None = None,
        description: str = "",
        tags: Sequence[Tag] = (),
    ) -> DataKey:
        check_name(name)
        check_description(description, DATA_KEY_DESCRIPTION_MAX_BYTES)
        checked_tags = check_tags(tags)
        if import_type == IMPORT_CIPHERTEXT:
            try:
                opened = self._crypto.decrypt(caller, material)
            except InvalidCiphertext:
                raise InvalidImportKeyMaterial(
                    "ImportKeyMaterial is not a CiphertextBlob from GenerateDataKey (made without "
                    "EncryptionContext) under one of your keys."
                ) from None
            if key_id and key_id != opened.key_id:
                raise InvalidKeyId(f"KeyId {key_id} is not the key of the imported CiphertextBlob ({opened.key_id}).")
            record = self._record(
                caller,
                opened.key_id,
                name,
                description,
                material,
                len(opened.plaintext),
                Origin.TENCENT_KMS,
                "",
                checked_tags,
            )
        elif import_type == IMPORT_PLAINTEXT:
            if not key_id:
                raise MissingParameter("KeyId is required to import a plaintext data key (ImportType=2).")
            if not DATA_KEY_MIN_BYTES <= len(material) <= DATA_KEY_MAX_BYTES:
                raise InvalidImportKeyMaterial(
                    f"A data key is {DATA_KEY_MIN_BYTES}-{DATA_KEY_MAX_BYTES} bytes; got {len(material)}."
                )
            sealed = self._crypto.encrypt(caller, key_id, material)
            record = self._record(
                caller, sealed.key_id, name, description, sealed.blob, len(material), Origin.EXTERNAL, "", checked_tags
            )
        else:
            raise InvalidParameterValue(
                f"ImportType must be {IMPORT_CIPHERTEXT} or {IMPORT_PLAINTEXT}; got {import_type}."
            )
        self._insert(record)
        return record

    def describe(self, caller: Caller, data_key_id: str) -> DataKey:
        return self._records.owned(caller, data_key_id, fresh=True)

    def describe_many(self, caller: Caller, ids: Sequence[str]) -> list[DataKey]:
        return self._lifecycle.describe_many(caller, ids)

    def list(self, query: DataKeyQuery) -> tuple[int, list[DataKey]]:
        check_tag_filters(self._store, query.account, query.region, query.tag_filters)
        return self._store.list_data_keys(query)

    def count(self, caller: Caller) -> int:
        """The caller's hosted data keys in its region that count against its quota."""
        return self._store.count_data_keys(caller.account, caller.region)

    def owner(self, caller: Caller, data_key_id: str) -> tuple[str, str] | None:
        """The CMK id of the caller's data key and the EncryptionContext it was stored with (for
        authorization, which must hold on both); None if the caller has no such data key."""
        if not isinstance(data_key_id, str) or not UUID_PATTERN.fullmatch(data_key_id):
            return None
        data_key = self._store.get_data_key(data_key_id)
        if data_key is None or data_key.account != caller.account or data_key.region != caller.region:
            return None
        return data_key.key_id, data_key.context

    def plaintext(self, caller: Caller, data_key_id: str) -> bytes:
        data_key = self._records.owned(caller, data_key_id, fresh=True)
        next_data_key_state(DataKeyOperation.USE, data_key.data_key_id, data_key.state)
        return self._crypto.decrypt(caller, data_key.blob, data_key.context or None).plaintext

    def ciphertext(self, caller: Caller, data_key_id: str) -> bytes:
        data_key = self._records.owned(caller, data_key_id, fresh=True)
        next_data_key_state(DataKeyOperation.READ_CIPHERTEXT, data_key.data_key_id, data_key.state)
        return data_key.blob

    def enable(self, caller: Caller, ids: Sequence[str]) -> None:
        self._lifecycle.apply_to_batch(caller, ids, DataKeyOperation.ENABLE)

    def disable(self, caller: Caller, ids: Sequence[str]) -> None:
        self._lifecycle.apply_to_batch(caller, ids, DataKeyOperation.DISABLE)

    def schedule_deletion(self, caller: Caller, data_key_id: str, pending_window_days: int) -> int:
        deletion_date = self._lifecycle.deletion_date(pending_window_days)
        self._lifecycle.change(
            caller,
            [data_key_id],
            DataKeyOperation.SCHEDULE_DELETION,
            lambda dk: replace(dk, deletion_date=deletion_date),
        )
        return deletion_date

    def cancel_deletion(self, caller: Caller, data_key_id: str) -> None:
        self._lifecycle.change(
            caller, [data_key_id], DataKeyOperation.CANCEL_DELETION, lambda dk: replace(dk, deletion_date=0)
        )

    def rename(self, caller: Caller, data_key_id: str, name: str) -> None:
        check_name(name)
        try:
            self._lifecycle.change(caller, [data_key_id], DataKeyOperation.UPDATE, lambda dk: replace(dk, name=name))
        except AliasTaken:
            raise DataKeyNameAlreadyExists(f"DataKeyName {name!r} is already used in this region.") from None

    def update_description(self, caller: Caller, data_key_id: str, description: str) -> None:
        check_description(description, DATA_KEY_DESCRIPTION_MAX_BYTES)
        self._lifecycle.change(
            caller, [data_key_id], DataKeyOperation.UPDATE, lambda dk: replace(dk, description=description)
        )

    def purge_due(self) -> int:
        now = int(self._clock.now())
        return sum(self._store.purge_data_key(i, now) for i in self._store.due_data_key_deletions(now))

    def _record(
        self,
        caller: Caller,
        key_id: str,
        name: str,
        description: str,
        blob: bytes,
        size: int,
        origin: Origin,
        context: str,
        tags: tuple[Tag, ...],
    ) -> DataKey:
        return DataKey(
            data_key_id=str(uuid.uuid4()),
            account=caller.account,
            region=caller.region,
            key_id=key_id,
            name=name,
            description=description,
            state=DataKeyState.ENABLED,
            number_of_bytes=size,
            origin=origin,
            create_time=int(self._clock.now()),
            blob=blob,
            context=context,
            tags=tags,
        )

    def _insert(self, record: DataKey) -> None:
        quota = self.data_key_limit
        if quota and self._store.count_data_keys(record.account, record.region, up_to=quota) >= quota:
            raise DataKeyLimitExceeded(
                f"The account has {self.data_key_limit} hosted data keys in {record.region}, its quota (those "
                "pending deletion are not counted): delete data keys, or ask the operator to raise data_key_limit."
            )
        try:
            self._store.insert_data_key(record)
        except AliasTaken:
            raise DataKeyNameAlreadyExists(f"DataKeyName {record.name!r} is already used in this region.") from None
