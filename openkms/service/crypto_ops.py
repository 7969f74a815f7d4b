"""Symmetric operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateRandom."""

import functools
from dataclasses import dataclass

from openkms.crypto import asymmetric, ciphertext
from openkms.crypto.aead import random_bytes
from openkms.crypto.context import canonical_context, parse_context
from openkms.crypto.usages import USAGES
from openkms.domain.errors import (
    InvalidCiphertext,
    InvalidKeyUsage,
    InvalidParameterValue,
    InvalidPlaintext,
    KeyNotFound,
    MissingParameter,
)
from openkms.domain.limits import (
    DATA_KEY_MAX_BYTES,
    DATA_KEY_MIN_BYTES,
    DATA_KEY_SPECS,
    PLAINTEXT_MAX_BYTES,
    RANDOM_MAX_BYTES,
    RANDOM_MIN_BYTES,
)
from openkms.domain.models import Caller, Key
from openkms.service.generation import Generations
from openkms.service.keyring import KeyRing
from openkms.service.states import Operation, next_state
from openkms.service.validation import check_key_id


@dataclass(frozen=True)
class Sealed:
    key_id: str
    blob: bytes


@dataclass(frozen=True)
class Opened:
    key_id: str
    plaintext: bytes


@dataclass(frozen=True)
class Resealed:
    source_key_id: str
    key_id: str
    blob: bytes
    re_encrypted: bool


@dataclass(frozen=True)
class DataKey:
    key_id: str
    plaintext: bytes
    blob: bytes


class CryptoService:
    def __init__(self, ring: KeyRing, generations: Generations | None = None) -> None:
        """`generations`: the process's turns for generating key pairs (GenerateDataKeyPair's RSA)."""
        self._ring = ring
        self._generations = generations

    def encrypt(self, caller: Caller, key_id: str, plaintext: bytes, context: str | None = None) -> Sealed:
        if len(plaintext) > PLAINTEXT_MAX_BYTES:
            raise InvalidPlaintext(
                f"Plaintext is {len(plaintext)} bytes; Encrypt takes at most {PLAINTEXT_MAX_BYTES}. "
                "Use GenerateDataKey to encrypt larger data locally."
            )
        aad = canonical_context(parse_context(context))
        return self._seal(caller, key_id, plaintext, aad)

    def decrypt(self, caller: Caller, blob: bytes, context: str | None = None) -> Opened:
        aad = canonical_context(parse_context(context))
        key, plaintext = self._open(caller, blob, aad)
        return Opened(key.key_id, plaintext)

    def re_encrypt(
        self,
        caller: Caller,
        blob: bytes,
        destination_key_id: str | None = None,
        source_context: str | None = None,
        destination_context: str | None = None,
    ) -> Resealed:
        source_aad = canonical_context(parse_context(source_context))
        destination_aad = canonical_context(parse_context(destination_context))
        source, plaintext = self._open(caller, blob, source_aad)
        destination_id = destination_key_id or source.key_id
        if destination_id == source.key_id and destination_aad == source_aad:
            version = ciphertext.parse_header(blob).key_version
            if version == self._usable(caller, source.key_id, Operation.ENCRYPT).current_version:
                return Resealed(source.key_id, source.key_id, blob, re_encrypted=False)
        sealed = self._seal(caller, destination_id, plaintext, destination_aad)
        return Resealed(source.key_id, sealed.key_id, sealed.blob, re_encrypted=True)

    def generate_data_key(
        self,
        caller: Caller,
        key_id: str,
        key_spec: str | None = None,
        number_of_bytes: int | None = None,
        context: str | None = None,
    ) -> DataKey:
        size = data_key_size(key_spec, number_of_bytes)
        aad = canonical_context(parse_context(context))
        plaintext = random_bytes(size)
        sealed = self._seal(caller, key_id, plaintext, aad)
        return DataKey(sealed.key_id, plaintext, sealed.blob)

    def generate_data_key_pair(
        self, caller: Caller, key_id: str, spec: str, context: str | None = None
    ) -> tuple[DataKey, bytes]:
        """A fresh key pair for the caller to use locally: its private key as a data key (PKCS#8 DER,
        and sealed under `key_id` as Encrypt would seal it), and its public key (DER)."""
        if spec not in asymmetric.DATA_KEY_PAIRS:
            raise InvalidParameterValue(f"KeyPairSpec must be one of {', '.join(asymmetric.DATA_KEY_PAIRS)}.")
        aad = canonical_context(parse_context(context))
        key = self._usable(caller, check_key_id(key_id), Operation.ENCRYPT)  # before the costly generation
        make = functools.partial(asymmetric.new_data_key_pair, spec)
        private, public = self._generations.run(make) if self._generations else make()
        sealed = self._seal(caller, key.key_id, private, aad)
        return DataKey(sealed.key_id, private, sealed.blob), public

    def generate_random(self, number_of_bytes: int) -> bytes:
        if not RANDOM_MIN_BYTES <= number_of_bytes <= RANDOM_MAX_BYTES:
            raise InvalidParameterValue(
                f"NumberOfBytes must be between {RANDOM_MIN_BYTES} and {RANDOM_MAX_BYTES}; got {number_of_bytes}."
            )
        return random_bytes(number_of_bytes)

    def _usable(self, caller: Caller, key_id: str, operation: Operation) -> Key:
        key = self._ring.owned(caller, key_id)
        next_state(operation, key.key_id, key.state)
        if not USAGES[key.usage].encrypts:
            raise InvalidKeyUsage(
                f"Key {key.key_id} has KeyUsage {key.usage.value}; only ENCRYPT_DECRYPT keys encrypt and decrypt."
            )
        return key

    def _seal(self, caller: Caller, key_id: str, plaintext: bytes, aad: bytes) -> Sealed:
        key = self._usable(caller, check_key_id(key_id), Operation.ENCRYPT)
        material = self._ring.material(key, key.current_version)
        header = ciphertext.CiphertextHeader(key.key_id, key.current_version)
        return Sealed(key.key_id, ciphertext.encrypt(material, header, plaintext, aad, key.cipher.value))

    def _open(self, caller: Caller, blob: bytes, aad: bytes) -> tuple[Key, bytes]:
        header = ciphertext.parse_header(blob)
        key = self._usable(caller, header.key_id, Operation.DECRYPT)
        try:
            material = self._ring.material(key, header.key_version)
        except KeyNotFound:
            raise InvalidCiphertext(ciphertext.OPAQUE_MESSAGE) from None
        return key, ciphertext.decrypt(material, blob, aad, key.cipher.value)


def data_key_size(key_spec: str | None, number_of_bytes: int | None) -> int:
    if number_of_bytes is not None:
        if not DATA_KEY_MIN_BYTES <= number_of_bytes <= DATA_KEY_MAX_BYTES:
            raise InvalidParameterValue(
                f"NumberOfBytes must be between {DATA_KEY_MIN_BYTES} and {DATA_KEY_MAX_BYTES}; got {number_of_bytes}."
            )
        return number_of_bytes
    if key_spec is None:
        raise MissingParameter("GenerateDataKey needs KeySpec (AES_128 or AES_256) or NumberOfBytes.")
    if key_spec not in DATA_KEY_SPECS:
        raise InvalidParameterValue(f"KeySpec must be one of {', '.join(DATA_KEY_SPECS)}; got {key_spec[:32]!r}.")
    return DATA_KEY_SPECS[key_spec]
