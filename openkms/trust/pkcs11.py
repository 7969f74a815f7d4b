"""A root of trust inside a PKCS#11 token (an HSM; SoftHSM2 in tests): the master wrapping key is an
AES-256 key generated in the token as sensitive and non-extractable, so it never leaves it.

Wrapped format: version 0x02 | key id (8) | nonce (12) | AES-256-GCM ciphertext and tag, computed by
the token with associated data WRAP_LABEL || key id || binding. Key material unwrapped here is cached
by the key ring, so the token is not on every request's path. A lost session (token removed and put
back, HSM restarted) is reopened and the operation retried once, as Barbican's p11_crypto does.
"""

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism
from pkcs11.exceptions import (
    DeviceError,
    DeviceRemoved,
    GeneralError,
    PKCS11Error,
    SessionClosed,
    SessionHandleInvalid,
    TokenNotPresent,
    UserAlreadyLoggedIn,
)
from pkcs11.mechanisms import GCMParams

from openkms.domain.errors import RootOfTrustUnavailable
from openkms.trust.base import RootOfTrustError, UnwrapFailed

WRAP_FORMAT_PKCS11 = 2
WRAP_LABEL = b"OpenKMS wrap v1\x00"
DEFAULT_KEY_LABEL = "openkms-master"
_ID_BYTES, _NONCE_BYTES = 8, 12
_LOST_SESSION = (SessionClosed, SessionHandleInvalid, DeviceRemoved, DeviceError, TokenNotPresent)
T = TypeVar("T")


class Pkcs11Error(RootOfTrustError):
    pass


class Pkcs11RootOfTrust:
    def __init__(
        self,
        module: Path,
        token_label: str,
        pin: str,
        key_label: str = DEFAULT_KEY_LABEL,
        may_create: bool = True,
    ) -> None:
        """`may_create`: make the master key in the token if it has none (for a new store only: beside
        stored secrets, a new key would open none of them)."""
        self._module, self._token_label, self._pin, self._key_label = str(module), token_label, pin, key_label
        self._lock = threading.Lock()
        self._session: Any = None
        self._key: Any = None
        try:
            self._open(may_create)
        except pkcs11.NoSuchKey:
            raise Pkcs11Error(
                f"PKCS#11 token {token_label!r} has no key labelled {key_label!r}, but the store holds secrets "
                "wrapped by one: use the token that holds it (restore it from the HSM's backup); refusing to "
                "make a new one."
            ) from None
        except PKCS11Error as exc:
            raise Pkcs11Error(f"PKCS#11 token {token_label!r} via {module}: {type(exc).__name__}") from None
        key: Any = self._key
        self._id = bytes(key[Attribute.ID])

    def _open(self, may_create: bool = False) -> None:
        token = pkcs11.lib(self._module).get_token(token_label=self._token_label)
        try:
            self._session = token.open(user_pin=self._pin, rw=True)
        except UserAlreadyLoggedIn:
            # PKCS#11 logs in per application: a second session of this process shares the login.
            self._session = token.open(rw=True)
        try:
            self._key = self._session.get_key(key_type=KeyType.AES, label=self._key_label)
        except pkcs11.NoSuchKey:
            if not may_create:
                raise
            self._key = self._session.generate_key(
                KeyType.AES,
                256,
                label=self._key_label,
                id=os.urandom(_ID_BYTES),
                store=True,
                template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )

    def _with_session(self, operation: Callable[[Any], T]) -> T:
        with self._lock:
            try:
                return operation(self._key)
            except _LOST_SESSION:
                pass
            try:
                self._open()  # once: if the token is really gone, the request is refused as retryable
                return operation(self._key)
            except (*_LOST_SESSION, pkcs11.exceptions.NoSuchToken, pkcs11.NoSuchKey) as exc:
                raise RootOfTrustUnavailable(
                    f"The HSM (PKCS#11 token {self._token_label!r}) cannot be reached right now "
                    f"({type(exc).__name__}); nothing was changed. Retry shortly."
                ) from None

    @property
    def key_id(self) -> str:
        return self._id.hex()

    def wrap(self, material: bytes, binding: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        params = GCMParams(nonce, WRAP_LABEL + self._id + binding, 128)
        sealed = self._with_session(
            lambda key: key.encrypt(material, mechanism=Mechanism.AES_GCM, mechanism_param=params)
        )
        return bytes([WRAP_FORMAT_PKCS11]) + self._id + nonce + bytes(sealed)

    def unwrap(self, wrapped: bytes, binding: bytes) -> bytes:
        head = 1 + _ID_BYTES + _NONCE_BYTES
        if len(wrapped) < head + 16 or wrapped[0] != WRAP_FORMAT_PKCS11:
            raise UnwrapFailed("wrapped key material is malformed, or not wrapped by a PKCS#11 token")
        if wrapped[1 : 1 + _ID_BYTES] != self._id:
            raise UnwrapFailed("wrapped under a different master key")
        params = GCMParams(wrapped[1 + _ID_BYTES : head], WRAP_LABEL + self._id + binding, 128)
        try:
            return bytes(
                self._with_session(
                    lambda key: key.decrypt(wrapped[head:], mechanism=Mechanism.AES_GCM, mechanism_param=params)
                )
            )
        except GeneralError:
            raise UnwrapFailed("wrapped key material does not authenticate") from None

    def extractable(self) -> bool:
        """Whether the token would let the master key out (it must not); for checks and tests."""
        return bool(self._with_session(lambda key: key[Attribute.EXTRACTABLE]))

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None
