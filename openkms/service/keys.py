"""Key lifecycle: create, describe, list, rename, enable, disable, archive, delete."""

import uuid
from collections.abc import Sequence
from dataclasses import replace

from openkms.crypto.aead import KEY_BYTES
from openkms.crypto.usages import USAGES, UsageSpec
from openkms.domain.clock import Clock
from openkms.domain.errors import (
    AliasAlreadyExists,
    CmkLimitExceeded,
    InvalidKeyType,
    InvalidKeyUsage,
    InvalidParameterValue,
)
from openkms.domain.limits import (
    DEFAULT_CMK_LIMIT,
    KEY_GENERATION_WAIT_SECONDS,
    KEY_GENERATIONS_AT_ONCE,
)
from openkms.domain.models import Caller, Key, KeyQuery, KeyState, KeyUsage, KeyVersion, Origin, SymmetricCipher, Tag
from openkms.service.base import KeyServiceBase, check_key_batch
from openkms.service.cloud_resources import unless_bound
from openkms.service.generation import Generations
from openkms.service.keyring import KeyRing
from openkms.service.states import Operation
from openkms.service.tags import check_tag_filters, check_tags
from openkms.service.validation import check_alias, check_description, check_key_id
from openkms.store.base import AliasTaken, KeyStore
from openkms.trust.base import RootOfTrust
from openkms.trust.bindings import key_material

CREATE_TYPE_DEFAULT = 1
CREATE_TYPE_EXTERNAL = 2
CIPHER_OF_STANDARD = {"fips": SymmetricCipher.AES_256_GCM, "national": SymmetricCipher.SM4_GCM}
"""The server's crypto standard -> the cipher of the symmetric keys it makes from now on."""


def key_pair_generations() -> Generations:
    return Generations(
        KEY_GENERATIONS_AT_ONCE,
        KEY_GENERATION_WAIT_SECONDS,
        "Too many asymmetric keys are being generated at once; retry in a few seconds.",
    )


class KeyService(KeyServiceBase):
    def __init__(
        self,
        store: KeyStore,
        trust: RootOfTrust,
        ring: KeyRing,
        clock: Clock,
        symmetric_cipher: SymmetricCipher = SymmetricCipher.AES_256_GCM,
        cmk_limit: int = DEFAULT_CMK_LIMIT,
        generations: Generations | None = None,
    ) -> None:
        """`generations`: the process's turns for generating key pairs, shared with data key pairs."""
        super().__init__(store, trust, ring, clock)
        self.symmetric_cipher = symmetric_cipher
        self.cmk_limit = cmk_limit
        self.generations = generations or key_pair_generations()

    def create(
        self,
        caller: Caller,
        alias: str,
        description: str = "",
        usage: str = KeyUsage.ENCRYPT_DECRYPT.value,
        key_type: int = CREATE_TYPE_DEFAULT,
        tags: Sequence[Tag] = (),
        key_id: str | None = None,
        material: bytes | None = None,
    ) -> Key:
        """A new key. `key_id` and `material` are for seed files: a fixed id, and fixed 256-bit material."""
        check_alias(alias)
        check_description(description)
        if usage not in KeyUsage.__members__.values():
            raise InvalidKeyUsage(f"KeyUsage {usage[:64]!r} is not a key usage; see ListAlgorithms.")
        spec = USAGES[KeyUsage(usage)]
        made_by_kms = not spec.encrypts
        if made_by_kms and (key_type != CREATE_TYPE_DEFAULT or material is not None):
            raise InvalidKeyType(f"{usage} keys are made by KMS (Type=1); their material cannot be imported.")
        if key_type not in (CREATE_TYPE_DEFAULT, CREATE_TYPE_EXTERNAL):
            raise InvalidKeyType(f"Type must be {CREATE_TYPE_DEFAULT} or {CREATE_TYPE_EXTERNAL}; got {key_type}.")
        external = key_type == CREATE_TYPE_EXTERNAL
        quota = self.cmk_limit
        if quota and self._store.count_keys(caller.account, caller.region, up_to=quota) >= quota:
            raise CmkLimitExceeded(
                f"The account has {self.cmk_limit} keys in {caller.region}, its quota (keys pending deletion are "
                "not counted): delete keys, or ask the operator to raise cmk_limit."
            )
        if material is not None and (len(material) != KEY_BYTES or key_type != CREATE_TYPE_DEFAULT):
            raise InvalidParameterValue(f"Fixed key material is {KEY_BYTES} bytes, for a Type=1 key.")
        key = Key(
            key_id=check_key_id(key_id) if key_id else str(uuid.uuid4()),
            account=caller.account,
            region=caller.region,
            alias=alias,
            description=description,
            usage=KeyUsage(usage),
            origin=Origin.EXTERNAL if external else Origin.TENCENT_KMS,
            state=KeyState.PENDING_IMPORT if external else KeyState.ENABLED,
            create_time=int(self._clock.now()),
            tags=check_tags(tags),
            cipher=SymmetricCipher.AES_256_GCM if made_by_kms else self.symmetric_cipher,
        )
        if external:
            wrapped = None
        else:
            secret = self._generate(spec) if spec.key_pair else material or spec.generate()
            wrapped = self._trust.wrap(secret, key_material(key.key_id, 1, key.account, key.region))
        try:
            self._store.insert_key(key, wrapped)
        except AliasTaken:
            raise AliasAlreadyExists(
                f"Alias {alias!r} is already used by another key in this region (or the KeyId exists)."
            ) from None
        return key

    def _generate(self, spec: UsageSpec) -> bytes:
        """A new private key (or post-quantum seed), generated a bounded number at a time."""
        return self.generations.run(spec.generate)

    def material_of(self, caller: Caller, key_id: str, version: int = 1) -> bytes:
        """A version's unwrapped material, for checking a seed file's fixed material; never for the API."""
        return self._ring.material(self._ring.owned(caller, key_id, fresh=True), version)

    def describe(self, caller: Caller, key_id: str) -> Key:
        return self._ring.owned(caller, check_key_id(key_id))

    def describe_many(self, caller: Caller, key_ids: Sequence[str]) -> list[Key]:
        """The metadata of each named key the caller has; ids it has no key for are left out."""
        return self._lifecycle.describe_many(caller, key_ids)

    def tags(self, caller: Caller, key_id: str) -> tuple[Tag, ...]:
        return self._store.key_tags(self._ring.owned(caller, check_key_id(key_id)).key_id)

    def versions(self, caller: Caller, key_id: str) -> list[KeyVersion]:
        """Every version of the key, oldest first (rotations add them), without material."""
        return self._store.key_versions(self._ring.owned(caller, check_key_id(key_id)).key_id)

    def retag(self, caller: Caller, key_id: str, add: Sequence[Tag] = (), remove: Sequence[str] = ()) -> None:
        """Add (or overwrite) tags and remove tag keys of a key whose state allows an update."""
        checked = check_tags(add)
        key = self._lifecycle.apply(caller, [key_id], Operation.UPDATE, lambda stored, moved: None)[0]
        self._store.retag_key(key.key_id, checked, remove)

    def key_id_of_alias(self, caller: Caller, alias: str) -> str | None:
        """The id of the caller's key with this alias in its region (AWS names keys alias/<alias>)."""
        return self._store.key_id_of_alias(caller.account, caller.region, alias)

    def list(self, query: KeyQuery) -> tuple[int, list[Key]]:
        check_tag_filters(self._store, query.account, query.region, query.tag_filters)
        return self._store.list_keys(query)

    def count(self, caller: Caller) -> int:
        """The caller's keys in its region that count against its quota (all but those pending deletion)."""
        return self._store.count_keys(caller.account, caller.region)

    def update_alias(self, caller: Caller, key_id: str, alias: str) -> None:
        check_alias(alias)
        try:
            self._lifecycle.change(caller, [key_id], Operation.UPDATE, lambda k: replace(k, alias=alias))
        except AliasTaken:
            raise AliasAlreadyExists(f"Alias {alias!r} is already used by another key in this region.") from None

    def update_description(self, caller: Caller, key_id: str, description: str) -> None:
        check_description(description)
        self._lifecycle.change(caller, [key_id], Operation.UPDATE, lambda k: replace(k, description=description))

    def enable(self, caller: Caller, key_ids: Sequence[str]) -> None:
        self._lifecycle.apply_to_batch(caller, key_ids, Operation.ENABLE)

    def disable(self, caller: Caller, key_ids: Sequence[str]) -> None:
        plan = unless_bound(self._store, "disable", self._lifecycle.changing())
        self._lifecycle.apply(caller, check_key_batch(key_ids), Operation.DISABLE, plan)

    def archive(self, caller: Caller, key_id: str) -> None:
        self._lifecycle.change(caller, [key_id], Operation.ARCHIVE)

    def cancel_archive(self, caller: Caller, key_id: str) -> None:
        self._lifecycle.change(caller, [key_id], Operation.CANCEL_ARCHIVE)

    def schedule_deletion(self, caller: Caller, key_id: str, pending_window_days: int) -> int:
        date = self._lifecycle.deletion_date(pending_window_days)
        plan = unless_bound(
            self._store, "schedule deletion of", self._lifecycle.changing(lambda k: replace(k, deletion_date=date))
        )
        self._lifecycle.apply(caller, [key_id], Operation.SCHEDULE_DELETION, plan)
        return date

    def cancel_deletion(self, caller: Caller, key_id: str) -> None:
        def back(key: Key) -> Key:
            # A key without material (imported, never or no longer) goes back to waiting for it.
            has_material = self._store.get_wrapped_version(key.key_id, key.current_version) is not None
            return replace(key, deletion_date=0, state=key.state if has_material else KeyState.PENDING_IMPORT)

        self._lifecycle.change(caller, [key_id], Operation.CANCEL_DELETION, back)

    def purge_due(self) -> int:
        """Destroy every key whose deletion window has passed; returns how many were destroyed."""
        now = int(self._clock.now())
        purged = 0
        for key_id in self._store.due_deletions(now):
            if self._store.purge_key(key_id, now):
                self._ring.forget(key_id)
                purged += 1
        return purged
