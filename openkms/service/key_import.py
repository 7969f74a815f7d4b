"""Bring your own key: import parameters, importing wrapped material, and deleting it."""

import hmac
import secrets
from dataclasses import dataclass, replace

from openkms.crypto.aead import AuthenticationFailed
from openkms.crypto.asymmetric import WRAPPING_PADDINGS, material_digest, new_wrapping_key, rsa_unwrap
from openkms.domain.errors import (
    DecryptMaterialError,
    ImportTokenExpired,
    InvalidImportKeyMaterial,
    InvalidParameter,
    InvalidParameterValue,
    MaterialNotMatch,
    NotExternalKey,
)
from openkms.domain.limits import IMPORT_PARAMETERS_VALID_SECONDS, IMPORTED_MATERIAL_BYTES, VALID_TO_MAX
from openkms.domain.models import Caller, ImportToken, Key, KeyState, Origin
from openkms.service.base import KeyServiceBase
from openkms.service.cloud_resources import unless_bound
from openkms.service.states import Operation, next_state
from openkms.service.validation import check_key_id
from openkms.store.base import KeyWrite
from openkms.trust.bindings import import_token as import_token_binding
from openkms.trust.bindings import imported_material_digest, key_material

WRAPPING_KEY_SPEC = "RSA_2048"
IMPORTED_VERSION = 1


@dataclass(frozen=True)
class ImportParameters:
    key_id: str
    token: str
    public_key_der: bytes
    valid_to: int


def _external(key: Key) -> Key:
    if key.origin != Origin.EXTERNAL:
        raise NotExternalKey(f"Key {key.key_id} was created with KMS material (Type=1); only Type=2 keys import.")
    return key


class ImportService(KeyServiceBase):
    def parameters(self, caller: Caller, key_id: str, algorithm: str, key_spec: str) -> ImportParameters:
        if algorithm not in WRAPPING_PADDINGS:
            raise InvalidParameterValue(f"WrappingAlgorithm must be one of {', '.join(WRAPPING_PADDINGS)}.")
        if key_spec != WRAPPING_KEY_SPEC:
            raise InvalidParameterValue(f"WrappingKeySpec must be {WRAPPING_KEY_SPEC}.")
        key = _external(self._ring.owned(caller, check_key_id(key_id), fresh=True))
        next_state(Operation.IMPORT_MATERIAL, key.key_id, key.state)
        private_der, public_der = new_wrapping_key()
        token = secrets.token_urlsafe(32)
        expires_at = int(self._clock.now()) + IMPORT_PARAMETERS_VALID_SECONDS
        wrapped = self._trust.wrap(private_der, import_token_binding(token))
        self._store.insert_import_token(ImportToken(token, key.key_id, algorithm, wrapped, expires_at))
        return ImportParameters(key.key_id, token, public_der, expires_at)

    def import_material(self, caller: Caller, key_id: str, wrapped_material: bytes, token: str, valid_to: int) -> None:
        now = int(self._clock.now())
        if valid_to and not now < valid_to <= VALID_TO_MAX:
            raise InvalidParameterValue(f"ValidTo must be 0 (never) or a future Unix time up to {VALID_TO_MAX}.")
        key = _external(self._ring.owned(caller, check_key_id(key_id), fresh=True))
        next_state(Operation.IMPORT_MATERIAL, key.key_id, key.state)
        material = self._unwrap(self._claim(token, key.key_id, now), wrapped_material)
        if len(material) != IMPORTED_MATERIAL_BYTES:
            raise InvalidImportKeyMaterial(
                f"Key material must be {IMPORTED_MATERIAL_BYTES * 8} bits; "
                f"the unwrapped material is {len(material) * 8}."
            )
        digest = material_digest(material)
        if key.wrapped_material_digest:
            known = self._trust.unwrap(key.wrapped_material_digest, imported_material_digest(key.key_id))
            if not hmac.compare_digest(known, digest):
                raise MaterialNotMatch(f"Key {key.key_id} accepts only the material imported into it before.")

        def plan(stored: Key, moved: Key) -> KeyWrite:
            recorded = stored.wrapped_material_digest or self._trust.wrap(
                digest, imported_material_digest(stored.key_id)
            )
            imported = replace(moved, valid_to=valid_to, wrapped_material_digest=recorded)
            wrapped = self._trust.wrap(
                material, key_material(stored.key_id, IMPORTED_VERSION, stored.account, stored.region)
            )
            return KeyWrite(imported, stored.revision, new_version=(IMPORTED_VERSION, wrapped))

        self._lifecycle.apply(caller, [key.key_id], Operation.IMPORT_MATERIAL, plan)

    def delete_material(self, caller: Caller, key_id: str) -> None:
        def plan(stored: Key, moved: Key) -> KeyWrite:
            _external(stored)
            return KeyWrite(replace(moved, state=KeyState.PENDING_IMPORT), stored.revision, drop_material=True)

        self._lifecycle.apply(
            caller, [key_id], Operation.DELETE_MATERIAL, unless_bound(self._store, "delete the material of", plan)
        )

    def expire_due(self) -> int:
        """Destroy imported material whose ValidTo has passed; returns how many keys lost it."""
        expired = 0
        for key_id in self._store.due_expirations(int(self._clock.now())):
            key = self._store.get_key(key_id)
            if key is not None:
                self._ring.expire_material(key)
                expired += 1
        return expired

    def _claim(self, token: str, key_id: str, now: int) -> ImportToken:
        claimed = self._store.claim_import_token(token)
        if claimed is None or claimed.key_id != key_id:
            raise InvalidParameter("ImportToken was not issued for this key by GetParametersForImport.")
        if claimed.used:
            raise ImportTokenExpired("ImportToken was already used; call GetParametersForImport for a new one.")
        if claimed.expires_at < now:
            raise ImportTokenExpired("ImportToken has expired; call GetParametersForImport for a new one.")
        return claimed

    def _unwrap(self, claimed: ImportToken, wrapped_material: bytes) -> bytes:
        private_der = self._trust.unwrap(claimed.wrapped_private_key, import_token_binding(claimed.token))
        try:
            return rsa_unwrap(private_der, claimed.wrapping_algorithm, wrapped_material)
        except AuthenticationFailed:
            raise DecryptMaterialError(
                f"EncryptedKeyMaterial does not decrypt with the import public key using {claimed.wrapping_algorithm}."
            ) from None
