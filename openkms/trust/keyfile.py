"""A root of trust held in a master key file (32 random bytes, mode 0600) in the data folder.

Wrapped format: version (1) | master key id (8) | nonce (12) | AES-256-GCM(material) with tag.
Associated data: WRAP_LABEL || master key id || binding.
"""

import os
import stat
import threading
from pathlib import Path

from openkms.crypto.aead import (
    KEY_BYTES,
    NONCE_BYTES,
    AuthenticationFailed,
    SealingKey,
    derive_key,
    new_key,
    random_bytes,
)
from openkms.trust.base import RootOfTrustError, UnwrapFailed

WRAP_FORMAT_V1 = 1
WRAP_LABEL = b"OpenKMS wrap v1\x00"
_ID_BYTES = 8


class MasterKeyFileError(RootOfTrustError):
    pass


class MasterKeyFile:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise MasterKeyFileError(f"a master key is {KEY_BYTES} bytes")
        self._wrapping_key = SealingKey(derive_key(master_key, b"OpenKMS wrapping key\x00"))
        self._id = derive_key(master_key, b"OpenKMS master key id\x00")[:_ID_BYTES]

    @classmethod
    def create(cls, path: Path) -> "MasterKeyFile":
        """Write a new master key; refuses to overwrite one (that would orphan every key)."""
        material = new_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, material)
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_directory(path.parent)
        return cls(material)

    @classmethod
    def load(cls, path: Path) -> "MasterKeyFile":
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise MasterKeyFileError(
                f"{path} is readable by other users (mode {stat.S_IMODE(mode):o}); run chmod 600 on it."
            )
        material = path.read_bytes()
        if len(material) != KEY_BYTES:
            raise MasterKeyFileError(f"{path} is {len(material)} bytes long; a master key is {KEY_BYTES}.")
        return cls(material)

    @classmethod
    def open_or_create(cls, path: Path) -> "MasterKeyFile":
        return cls.load(path) if path.exists() else cls.create(path)

    @property
    def key_id(self) -> str:
        return self._id.hex()

    def wrap(self, material: bytes, binding: bytes) -> bytes:
        nonce = random_bytes(NONCE_BYTES)
        head = bytes([WRAP_FORMAT_V1]) + self._id + nonce
        return head + self._wrapping_key.seal(nonce, material, WRAP_LABEL + self._id + binding)

    def unwrap(self, wrapped: bytes, binding: bytes) -> bytes:
        head_len = 1 + _ID_BYTES + NONCE_BYTES
        if len(wrapped) < head_len + 16 or wrapped[0] != WRAP_FORMAT_V1:
            raise UnwrapFailed("wrapped key material is malformed")
        if wrapped[1 : 1 + _ID_BYTES] != self._id:
            raise UnwrapFailed("wrapped under a different master key")
        nonce = wrapped[1 + _ID_BYTES : head_len]
        try:
            return self._wrapping_key.open(nonce, wrapped[head_len:], WRAP_LABEL + self._id + binding)
        except AuthenticationFailed:
            raise UnwrapFailed("wrapped key material does not authenticate") from None


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


PRIMARY_FILE = "master.key"
NEXT_FILE = "master.key.next"
RETIRED_PATTERN = "master-retired-*.key"


def wrapped_by(wrapped: bytes) -> str:
    """The id of the master key that wrapped a blob (keyfile format), or "" if it is not one."""
    return wrapped[1 : 1 + _ID_BYTES].hex() if len(wrapped) > _ID_BYTES and wrapped[0] == WRAP_FORMAT_V1 else ""


class MasterKeyRing:
    """The master key files of a data folder as one root of trust: `master.key` wraps; it, a key being
    rotated in (`master.key.next`) and retired keys (`master-retired-<id>.key`) all unwrap what they
    wrapped. A blob from a key this process has not loaded yet (another process is rotating) makes it
    read the folder again, so a rotation needs no restart."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._keys: dict[str, MasterKeyFile] = {}
        if not (directory / PRIMARY_FILE).exists() and any(directory.glob(RETIRED_PATTERN)):
            raise MasterKeyFileError(
                f"{directory} has retired master keys but no {PRIMARY_FILE}: its keys were migrated to an HSM "
                "(start with --trust pkcs11), or the master key file is missing; refusing to make a new one."
            )
        self._primary = MasterKeyFile.open_or_create(directory / PRIMARY_FILE)
        self.reload()

    def reload(self) -> None:
        with self._lock:
            self._primary = MasterKeyFile.load(self._directory / PRIMARY_FILE)
            keys = {self._primary.key_id: self._primary}
            candidates = [self._directory / NEXT_FILE, *sorted(self._directory.glob(RETIRED_PATTERN))]
            for path in candidates:
                if path.exists():
                    key = MasterKeyFile.load(path)
                    keys[key.key_id] = key
            self._keys = keys

    @property
    def key_id(self) -> str:
        return self._primary.key_id

    def wrap(self, material: bytes, binding: bytes) -> bytes:
        return self._primary.wrap(material, binding)

    def unwrap(self, wrapped: bytes, binding: bytes) -> bytes:
        key = self._keys.get(wrapped_by(wrapped))
        if key is None:
            self.reload()
            key = self._keys.get(wrapped_by(wrapped))
            if key is None:
                raise UnwrapFailed("wrapped under a master key this data folder does not hold")
        return key.unwrap(wrapped, binding)
