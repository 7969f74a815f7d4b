"""Asymmetric keys: public keys out, RSA and SM2 decryption and signatures in, the private key never
leaves."""

from dataclasses import dataclass

from openkms.crypto import asymmetric, post_quantum, sm2
from openkms.crypto.aead import AuthenticationFailed
from openkms.crypto.ciphertext import CiphertextHeader
from openkms.crypto.usages import USAGES
from openkms.domain.errors import (
    DecryptFailed,
    InvalidKeyUsage,
    InvalidParameterValue,
    InvalidPlaintext,
)
from openkms.domain.limits import PLAINTEXT_MAX_BYTES, SM2_CIPHERTEXT_MAX_BYTES
from openkms.domain.models import Caller, Key, KeyUsage
from openkms.service.keyring import KeyRing
from openkms.service.states import Operation, next_state
from openkms.service.validation import check_key_id

DEFAULT_RETURN_ALGORITHM = "SM2"
MESSAGE_TYPES = ("RAW", "DIGEST")
KEY_PAIR_USAGES = tuple(usage for usage, spec in USAGES.items() if spec.key_pair)
PUBLIC_KEY_ENCRYPTION = {
    KeyUsage.ASYMMETRIC_DECRYPT_RSA_2048: ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"),
    KeyUsage.ASYMMETRIC_DECRYPT_SM2: ("SM2_C1C3C2_ASN1",),
}
"""The algorithms a decryption key pair's public key encrypts with, in the forms its Decrypt takes."""


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    der: bytes
    pem: str


class AsymmetricService:
    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    def _usable(self, caller: Caller, key_id: str, usages: tuple[KeyUsage, ...]) -> tuple[Key, bytes]:
        key = self._ring.owned(caller, check_key_id(key_id))
        if key.usage not in usages:
            raise InvalidKeyUsage(f"Key {key.key_id} has KeyUsage {key.usage.value}; this needs {' or '.join(usages)}.")
        next_state(Operation.USE_KEY_PAIR, key.key_id, key.state)  # asymmetric keys work while Enabled
        return key, self._ring.material(key, key.current_version)

    def public_key(self, caller: Caller, key_id: str) -> PublicKey:
        key, private = self._usable(caller, key_id, KEY_PAIR_USAGES)
        public_key = USAGES[key.usage].public_key
        assert public_key is not None  # every key pair's usage has one
        der, pem = public_key(private)
        return PublicKey(key.key_id, der, pem)

    def encrypt(self, caller: Caller, key_id: str, algorithm: str, plaintext: bytes) -> tuple[str, bytes]:
        """What anyone holding the key pair's public key can compute alone, computed here for clients
        that ask KMS to (AWS's Encrypt under an asymmetric key); rsa_decrypt and sm2_decrypt undo it."""
        key, private = self._usable(caller, key_id, tuple(PUBLIC_KEY_ENCRYPTION))
        algorithms = PUBLIC_KEY_ENCRYPTION[key.usage]
        if algorithm not in algorithms:
            raise InvalidParameterValue(
                f"Key {key.key_id} ({key.usage.value}) encrypts with {' or '.join(algorithms)}, not {algorithm[:40]!r}."
            )
        public_key = USAGES[key.usage].public_key
        assert public_key is not None  # every key pair's usage has one
        try:
            return key.key_id, asymmetric.encrypt_to(public_key(private)[1], algorithm, plaintext)
        except ValueError:
            raise InvalidPlaintext(
                f"The plaintext ({len(plaintext)} bytes) is too long for {algorithm}: RSA-2048 with OAEP takes "
                "at most 214 bytes (SHA-1) or 190 (SHA-256); encrypt a data key with it, not the data."
            ) from None

    def pq_encrypt(self, caller: Caller, key_id: str, plaintext: bytes) -> tuple[str, bytes]:
        if not 0 < len(plaintext) <= PLAINTEXT_MAX_BYTES:
            raise InvalidPlaintext(f"PlainText is 1-{PLAINTEXT_MAX_BYTES} bytes; got {len(plaintext)}.")
        key, seed = self._usable(caller, key_id, (KeyUsage.PQC_ENCRYPT_DECRYPT_ML_KEM_768,))
        header = CiphertextHeader(key.key_id, key.current_version)
        return key.key_id, post_quantum.encrypt(seed, header, plaintext)

    def pq_decrypt(self, caller: Caller, blob: bytes) -> tuple[str, bytes]:
        header = post_quantum.parse_header(blob)
        key, seed = self._usable(caller, header.key_id, (KeyUsage.PQC_ENCRYPT_DECRYPT_ML_KEM_768,))
        return key.key_id, post_quantum.decrypt(seed, blob)

    def pq_sign(self, caller: Caller, key_id: str, message: bytes) -> bytes:
        _, seed = self._usable(caller, key_id, (KeyUsage.PQC_SIGN_VERIFY_ML_DSA_65,))
        return post_quantum.sign(seed, _checked_message(message))

    def pq_verify(self, caller: Caller, key_id: str, message: bytes, signature: bytes) -> bool:
        _, seed = self._usable(caller, key_id, (KeyUsage.PQC_SIGN_VERIFY_ML_DSA_65,))
        return post_quantum.verify(seed, _checked_message(message), signature)

    def rsa_decrypt(self, caller: Caller, key_id: str, ciphertext: bytes, algorithm: str) -> tuple[str, bytes]:
        if algorithm not in asymmetric.WRAPPING_PADDINGS:
            raise InvalidParameterValue(f"Algorithm must be one of {', '.join(asymmetric.WRAPPING_PADDINGS)}.")
        key, private = self._usable(caller, key_id, (KeyUsage.ASYMMETRIC_DECRYPT_RSA_2048,))
        try:
            return key.key_id, asymmetric.rsa_unwrap(private, algorithm, ciphertext)
        except AuthenticationFailed:
            raise DecryptFailed(f"The ciphertext does not decrypt with key {key.key_id} and {algorithm}.") from None

    def sm2_decrypt(self, caller: Caller, key_id: str, ciphertext: bytes) -> tuple[str, bytes]:
        if not 0 < len(ciphertext) <= SM2_CIPHERTEXT_MAX_BYTES:
            raise InvalidParameterValue(
                f"An SM2 Ciphertext is 1-{SM2_CIPHERTEXT_MAX_BYTES} bytes before Base64; got {len(ciphertext)}."
            )
        key, private = self._usable(caller, key_id, (KeyUsage.ASYMMETRIC_DECRYPT_SM2,))
        try:
            return key.key_id, sm2.decrypt(private, ciphertext)
        except AuthenticationFailed:
            raise DecryptFailed(
                f"The ciphertext does not decrypt with key {key.key_id}; it must be SM2 C1C3C2_ASN1."
            ) from None

    def _checked(self, caller: Caller, key_id: str, algorithm: str, message: bytes, message_type: str) -> bytes:
        chosen = asymmetric.SIGN_ALGORITHMS.get(algorithm)
        if chosen is None:
            raise InvalidParameterValue(f"Algorithm must be one of {', '.join(asymmetric.SIGN_ALGORITHMS)}.")
        if message_type not in MESSAGE_TYPES:
            raise InvalidParameterValue("MessageType must be RAW or DIGEST.")
        if message_type == "DIGEST" and len(message) != chosen.digest_bytes:
            raise InvalidParameterValue(f"A {algorithm} digest is {chosen.digest_bytes} bytes; got {len(message)}.")
        if message_type == "RAW" and not 0 < len(message) <= PLAINTEXT_MAX_BYTES:
            raise InvalidParameterValue(f"A RAW message is 1-{PLAINTEXT_MAX_BYTES} bytes; got {len(message)}.")
        _, private = self._usable(caller, key_id, (chosen.key_usage,))
        return private

    def sign(self, caller: Caller, key_id: str, algorithm: str, message: bytes, message_type: str) -> bytes:
        private = self._checked(caller, key_id, algorithm, message, message_type)
        return asymmetric.sign(private, algorithm, message, message_type == "DIGEST")

    def verify(
        self, caller: Caller, key_id: str, algorithm: str, message: bytes, signature: bytes, message_type: str
    ) -> bool:
        private = self._checked(caller, key_id, algorithm, message, message_type)
        return asymmetric.verify(private, algorithm, message, signature, message_type == "DIGEST")

    def encrypt_for_caller(self, public_key_pem: str, algorithm: str | None, plaintext: bytes) -> bytes:
        """A plaintext KMS returns, encrypted to the caller's own public key (EncryptionPublicKey)."""
        chosen = algorithm or DEFAULT_RETURN_ALGORITHM
        if chosen not in asymmetric.WRAPPING_PADDINGS and chosen not in asymmetric.SM2_RETURN_FORMATS:
            raise InvalidParameterValue(f"EncryptionAlgorithm {chosen[:40]!r} is not an algorithm KMS knows.")
        try:
            return asymmetric.encrypt_to(public_key_pem, chosen, plaintext)
        except ValueError as exc:
            raise InvalidParameterValue(
                f"EncryptionPublicKey cannot take this plaintext with {chosen}: {exc}. It must be a PEM public "
                "key: SM2 for SM2 and SM2_C1C3C2_ASN1 (the default is SM2), RSA for the RSAES algorithms; OAEP "
                "with RSA-2048 takes at most 190 bytes (SHA-256) or 214 (SHA-1)."
            ) from None


def _checked_message(message: bytes) -> bytes:
    if not 0 < len(message) <= PLAINTEXT_MAX_BYTES:
        raise InvalidParameterValue(f"Message is 1-{PLAINTEXT_MAX_BYTES} bytes; got {len(message)}.")
    return message
