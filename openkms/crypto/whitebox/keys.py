"""A white-box key on the server: its key, its two table sets, and encryption with the key itself
(EncryptByWhiteBox), in the mode the client side (openkms.whitebox) decrypts: CBC with PKCS#7."""

import secrets

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from openkms.crypto.whitebox import aes, sm4
from openkms.crypto.whitebox.format import DECRYPT, ENCRYPT

KEY_BYTES = {"AES_256": aes.KEY_BYTES, "SM4": sm4.KEY_BYTES}
BLOCK_BITS = 128


def new_key(algorithm: str) -> bytes:
    return secrets.token_bytes(KEY_BYTES[algorithm])


def tables(algorithm: str, key: bytes) -> tuple[bytes, bytes]:
    """(EncryptKey, DecryptKey): the encryption and decryption tables of the key, serialized."""
    construction = aes if algorithm == "AES_256" else sm4
    return construction.generate(key, ENCRYPT), construction.generate(key, DECRYPT)


def encrypt(algorithm: str, key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(BLOCK_BITS).padder()
    padded = padder.update(plaintext) + padder.finalize()
    cipher = algorithms.AES(key) if algorithm == "AES_256" else algorithms.SM4(key)
    encryptor = Cipher(cipher, modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()
