"""Key rotation: new versions on a schedule or on demand; every older version keeps decrypting."""

import threading
import uuid
from dataclasses import replace

from openkms.crypto.aead import new_key
from openkms.crypto.usages import USAGES
from openkms.domain.clock import Clock
from openkms.domain.errors import (
    ExternalKeyCannotRotate,
    InvalidKeyUsage,
    InvalidParameterValue,
    RotateRateLimited,
    RotateTaskRunning,
)
from openkms.domain.limits import (
    MANUAL_ROTATION_INTERVAL_SECONDS,
    ROTATE_DEFAULT_DAYS,
    ROTATE_MAX_DAYS,
    ROTATE_MIN_DAYS,
    SECONDS_PER_DAY,
)
from openkms.domain.models import Caller, Key, KeyState, KeyVersion, Origin, Rotation
from openkms.service.base import KeyPlan, KeyServiceBase
from openkms.service.keyring import KeyRing
from openkms.service.lifecycle import ConcurrentModification
from openkms.service.states import Operation
from openkms.store.base import KeyStore, KeyWrite
from openkms.trust.base import RootOfTrust
from openkms.trust.bindings import key_material


def _check_rotatable(key: Key) -> None:
    if key.origin == Origin.EXTERNAL:
        raise ExternalKeyCannotRotate(f"Key {key.key_id} holds imported material; such keys cannot rotate.")
    if not USAGES[key.usage].encrypts:
        raise InvalidKeyUsage(f"Key {key.key_id} is {key.usage.value}; only symmetric keys rotate.")


class RotationService(KeyServiceBase):
    def __init__(self, store: KeyStore, trust: RootOfTrust, ring: KeyRing, clock: Clock) -> None:
        super().__init__(store, trust, ring, clock)
        self._rotating: set[str] = set()
        self._rotating_lock = threading.Lock()

    def enable(self, caller: Caller, key_id: str, rotate_days: int | None = None) -> None:
        days = ROTATE_DEFAULT_DAYS if rotate_days is None else rotate_days
        if not ROTATE_MIN_DAYS <= days <= ROTATE_MAX_DAYS:
            raise InvalidParameterValue(
                f"RotateDays must be between {ROTATE_MIN_DAYS} and {ROTATE_MAX_DAYS}; got {days}."
            )
        next_time = int(self._clock.now()) + days * SECONDS_PER_DAY

        def enabled(key: Key) -> Key:
            _check_rotatable(key)
            return replace(key, rotation_enabled=True, rotate_days=days, next_rotate_time=next_time)

        self._lifecycle.change(caller, [key_id], Operation.UPDATE, enabled)

    def disable(self, caller: Caller, key_id: str) -> None:
        def disabled(key: Key) -> Key:
            _check_rotatable(key)
            return replace(key, rotation_enabled=False, next_rotate_time=0)

        self._lifecycle.change(caller, [key_id], Operation.UPDATE, disabled)

    def status(self, caller: Caller, key_id: str) -> Key:
        return self._ring.owned(caller, key_id)

    def rotations(self, caller: Caller, key_id: str) -> list[KeyVersion]:
        """The versions rotations made (every one after the first), oldest first."""
        key = self._ring.owned(caller, key_id)
        _check_rotatable(key)
        return [version for version in self._store.key_versions(key.key_id) if version.version > 1]

    def rotate_now(self, caller: Caller, key_id: str) -> str:
        """Rotate on demand (at most once per MANUAL_ROTATION_INTERVAL_SECONDS); returns a task id."""
        now = int(self._clock.now())

        def plan(stored: Key, moved: Key) -> KeyWrite | None:
            _check_rotatable(stored)
            if stored.last_rotate_time and now - stored.last_rotate_time < MANUAL_ROTATION_INTERVAL_SECONDS:
                raise RotateRateLimited(
                    f"Key {key_id} was rotated at {stored.last_rotate_time}; a key rotates at most once "
                    f"per {MANUAL_ROTATION_INTERVAL_SECONDS // 3600} hours."
                )
            return self._rotation(now, Rotation.ON_DEMAND)(stored, moved)

        running = RotateTaskRunning(f"Key {key_id} is being rotated by another request; retry shortly.")
        with self._rotating_lock:
            if key_id in self._rotating:
                raise running
            self._rotating.add(key_id)
        try:
            self._lifecycle.apply(caller, [key_id], Operation.ROTATE, plan)
        except ConcurrentModification:
            raise running from None
        finally:
            with self._rotating_lock:
                self._rotating.discard(key_id)
        return str(uuid.uuid4())

    def rotate_due(self) -> int:
        """Rotate every key whose rotation time has come, once even with several processes sweeping."""
        now = int(self._clock.now())
        rotated = 0
        for key_id in self._store.due_rotations(now):
            key = self._store.get_key(key_id)
            if key is None or not key.rotation_enabled or key.next_rotate_time > now or key.state != KeyState.ENABLED:
                continue
            write = self._rotation(now, Rotation.AUTOMATIC)(key, key)
            assert write is not None
            if self._store.update_keys([write]):  # False: another process rotated (or changed) it first
                rotated += 1
            self._ring.forget(key_id)
        return rotated

    def _rotation(self, now: int, rotation: Rotation) -> KeyPlan:
        def plan(stored: Key, moved: Key) -> KeyWrite:
            version = stored.current_version + 1
            wrapped = self._trust.wrap(new_key(), key_material(stored.key_id, version, stored.account, stored.region))
            next_time = now + stored.rotate_days * SECONDS_PER_DAY if stored.rotation_enabled else 0
            rotated = replace(moved, current_version=version, last_rotate_time=now, next_rotate_time=next_time)
            return KeyWrite(rotated, stored.revision, new_version=(version, wrapped), rotation=rotation)

        return plan
