"""The client side of white-box keys: encrypt and decrypt with a white-box key's tables alone, with no
key and no call to KMS. A key's EncryptKey and DecryptKey (CreateWhiteBoxKey, DescribeWhiteBoxKey,
DescribeWhiteBoxDecryptKey) are its tables, Base64-encoded; EncryptByWhiteBox's ciphertext decrypts
here. The mode is CBC with PKCS#7 padding and a 16-byte IV, for AES-256 and SM4 alike
(docs/whitebox-format.md).

    from openkms import whitebox
    plaintext = whitebox.decrypt(decrypt_key, iv, ciphertext)
"""

import base64
import binascii
import functools
from typing import Protocol

from openkms.crypto.whitebox import aes, sm4
from openkms.crypto.whitebox.format import AES_256, DECRYPT, ENCRYPT, Header

BLOCK = 16


class WhiteBoxError(ValueError):
    """Tables that are not a white-box key's, of the wrong direction, or a ciphertext they do not open."""


class _Tables(Protocol):
    direction: int

    def block(self, data: bytes) -> bytes: ...


def _raw(key: bytes | str) -> bytes:
    if isinstance(key, bytes):
        return key
    try:
        return base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise WhiteBoxError("a white-box key is its tables, Base64-encoded") from None


@functools.lru_cache(maxsize=16)
def _load(raw: bytes) -> _Tables:
    try:
        header = Header.unpack(raw)
        return aes.Tables(raw) if header.algorithm == AES_256 else sm4.Tables(raw)
    except ValueError as exc:
        raise WhiteBoxError(str(exc)) from None


def _tables(key: bytes | str, direction: int) -> _Tables:
    tables = _load(_raw(key))
    if tables.direction != direction:
        wanted = "an EncryptKey" if direction == ENCRYPT else "a DecryptKey"
        raise WhiteBoxError(f"these tables are the other direction's: this needs {wanted}")
    return tables


def _iv(iv: bytes) -> bytes:
    if len(iv) != BLOCK:
        raise WhiteBoxError(f"the InitializationVector is {BLOCK} bytes; got {len(iv)}")
    return iv


def encrypt(encrypt_key: bytes | str, iv: bytes, plaintext: bytes) -> bytes:
    """CBC with PKCS#7 padding under the EncryptKey's tables: what EncryptByWhiteBox returns for the
    same key, IV and plaintext."""
    tables, previous = _tables(encrypt_key, ENCRYPT), _iv(iv)
    pad = BLOCK - len(plaintext) % BLOCK
    padded = plaintext + bytes([pad]) * pad
    out = bytearray()
    for start in range(0, len(padded), BLOCK):
        chunk = padded[start : start + BLOCK]
        previous = tables.block(bytes(a ^ b for a, b in zip(chunk, previous, strict=True)))
        out += previous
    return bytes(out)


def decrypt(decrypt_key: bytes | str, iv: bytes, ciphertext: bytes) -> bytes:
    """The plaintext of a CBC/PKCS#7 ciphertext (EncryptByWhiteBox's) under the DecryptKey's tables."""
    tables, previous = _tables(decrypt_key, DECRYPT), _iv(iv)
    if not ciphertext or len(ciphertext) % BLOCK:
        raise WhiteBoxError(f"a ciphertext is a non-zero multiple of {BLOCK} bytes; got {len(ciphertext)}")
    out = bytearray()
    for start in range(0, len(ciphertext), BLOCK):
        chunk = ciphertext[start : start + BLOCK]
        out += bytes(a ^ b for a, b in zip(tables.block(chunk), previous, strict=True))
        previous = chunk
    pad = out[-1]
    if not 1 <= pad <= BLOCK or out[-pad:] != bytes([pad]) * pad:
        raise WhiteBoxError("the ciphertext does not decrypt under these tables and IV (bad padding)")
    return bytes(out[:-pad])
