"""openkms.whitebox: CBC with PKCS#7 padding from a white-box key's tables alone, the same bytes as
standard CBC with the key, for AES-256 and SM4."""

import base64
import os

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from openkms import whitebox
from openkms.crypto.whitebox import aes, sm4
from openkms.crypto.whitebox.format import DECRYPT, ENCRYPT

LENGTHS = (0, 1, 15, 16, 17, 31, 32, 33, 255, 4095, 4096)
Keys = tuple[bytes, str, str, type[algorithms.AES] | type[algorithms.SM4]]


@pytest.fixture(scope="module", params=["AES_256", "SM4"])
def white_box(request: pytest.FixtureRequest) -> Keys:
    """(key, EncryptKey, DecryptKey, the cipher) as CreateWhiteBoxKey returns them, with the key for checking."""
    construction, size, cipher = (aes, 32, algorithms.AES) if request.param == "AES_256" else (sm4, 16, algorithms.SM4)
    key = os.urandom(size)
    tables = (base64.b64encode(construction.generate(key, d)).decode() for d in (ENCRYPT, DECRYPT))
    return (key, *tables, cipher)


def standard_cbc(key: bytes, cipher: type[algorithms.AES] | type[algorithms.SM4], iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(cipher(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


@pytest.mark.parametrize("length", LENGTHS)
def test_the_tables_encrypt_and_decrypt_as_standard_cbc_does(white_box: Keys, length: int) -> None:
    key, encrypt_key, decrypt_key, cipher = white_box
    iv, plaintext = os.urandom(16), os.urandom(length)
    expected = standard_cbc(key, cipher, iv, plaintext)
    assert whitebox.encrypt(encrypt_key, iv, plaintext) == expected
    assert whitebox.decrypt(decrypt_key, iv, expected) == plaintext


def test_the_wrong_direction_iv_or_ciphertext_is_refused_plainly(white_box: Keys) -> None:
    key, encrypt_key, decrypt_key, cipher = white_box
    iv = os.urandom(16)
    ciphertext = standard_cbc(key, cipher, iv, b"secret")
    with pytest.raises(whitebox.WhiteBoxError, match="DecryptKey"):
        whitebox.decrypt(encrypt_key, iv, ciphertext)
    with pytest.raises(whitebox.WhiteBoxError, match="16 bytes"):
        whitebox.decrypt(decrypt_key, iv[:8], ciphertext)
    with pytest.raises(whitebox.WhiteBoxError, match="multiple"):
        whitebox.decrypt(decrypt_key, iv, ciphertext[:-1])
    with pytest.raises(whitebox.WhiteBoxError, match="Base64"):
        whitebox.decrypt("not base64!", iv, ciphertext)
    unpadded = Cipher(cipher(key), modes.CBC(iv)).encryptor().update(bytes(16))  # ends in 0: no PKCS#7 padding
    with pytest.raises(whitebox.WhiteBoxError, match="padding"):
        whitebox.decrypt(decrypt_key, iv, unpadded)
