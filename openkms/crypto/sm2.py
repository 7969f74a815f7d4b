"""SM2 (GB/T 32918, GM/T 0003) with SM3, by Tongsuo: the OpenSSL fork maintained for the Chinese national
algorithms, through its Python binding `tongsuopy`.

pyca/cryptography has no SM2, and pure-Python SM2 manages about a hundred signatures a second. tongsuopy
exposes key generation, serialization and SM2-with-SM3 signatures (with the standard user id
1234567812345678 in Z) but not SM2 encryption or signing a precomputed digest; for those this module
calls Tongsuo's EVP_PKEY functions through the same cffi binding tongsuopy itself uses.
"""

from typing import Any

from tongsuopy.backends.tongsuo.backend import backend as _backend
from tongsuopy.crypto import hashes as _hashes
from tongsuopy.crypto import serialization as _serialization
from tongsuopy.crypto.asymciphers import ec as _ec
from tongsuopy.crypto.exceptions import InternalError, InvalidSignature, UnsupportedAlgorithm

from openkms.crypto.aead import AuthenticationFailed

_ffi: Any = _backend._ffi
_lib: Any = _backend._lib

DIGEST_BYTES = 32
"""SM3 output, and so the size of a DIGEST message: SM3(Z || M), Z computed with the standard user id."""

POINT_BYTES = 32
UNCOMPRESSED_POINT = b"\x04"


def new_private_key() -> bytes:
    """A fresh SM2 private key as PKCS#8 DER."""
    private = _ec.generate_private_key(_ec.SM2())
    der: bytes = private.private_bytes(
        _serialization.Encoding.DER, _serialization.PrivateFormat.PKCS8, _serialization.NoEncryption()
    )
    return der


def _private(der: bytes) -> Any:
    return _serialization.load_der_private_key(der, None)


def public_key(private_der: bytes) -> tuple[bytes, str]:
    """(SubjectPublicKeyInfo DER, PEM) of an SM2 private key."""
    public = _private(private_der).public_key()
    der: bytes = public.public_bytes(_serialization.Encoding.DER, _serialization.PublicFormat.SubjectPublicKeyInfo)
    pem: bytes = public.public_bytes(_serialization.Encoding.PEM, _serialization.PublicFormat.SubjectPublicKeyInfo)
    return der, pem.decode()


def sign(private_der: bytes, message: bytes, digest: bool) -> bytes:
    """An SM2 signature (DER): of SM3(Z || message), or of `message` itself when it is that digest."""
    private = _private(private_der)
    if not digest:
        signature: bytes = private.sign(message, _ec.ECDSA(_hashes.SM3()))
        return signature
    ctx = _pkey_ctx(private._evp_pkey)
    _check(_lib.EVP_PKEY_sign_init(ctx))
    return _evp_output(_lib.EVP_PKEY_sign, ctx, message)


def verify(private_der: bytes, message: bytes, signature: bytes, digest: bool) -> bool:
    public = _private(private_der).public_key()
    if not digest:
        try:
            public.verify(signature, message, _ec.ECDSA(_hashes.SM3()))
        except (InvalidSignature, ValueError, InternalError):  # a malformed DER signature is InternalError
            _backend._consume_errors()
            return False
        return True
    ctx = _pkey_ctx(public._evp_pkey)
    _check(_lib.EVP_PKEY_verify_init(ctx))
    verified = _lib.EVP_PKEY_verify(ctx, signature, len(signature), message, len(message)) == 1
    _backend._consume_errors()
    return bool(verified)


def decrypt(private_der: bytes, ciphertext: bytes) -> bytes:
    """Decrypt a C1C3C2_ASN1 ciphertext (GM/T 0009), as OpenSSL and Tongsuo write it."""
    ctx = _pkey_ctx(_private(private_der)._evp_pkey)
    _check(_lib.EVP_PKEY_decrypt_init(ctx))
    try:
        return _evp_output(_lib.EVP_PKEY_decrypt, ctx, ciphertext)
    except ValueError:
        raise AuthenticationFailed from None


def is_sm2_public_key(public_pem: bytes) -> bool:
    try:
        public = _serialization.load_pem_public_key(public_pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        _backend._consume_errors()
        return False
    return isinstance(public, _ec.EllipticCurvePublicKey) and isinstance(public.curve, _ec.SM2)


def encrypt_to(public_pem: bytes, plaintext: bytes, asn1: bool) -> bytes:
    """Encrypt to a caller's SM2 public key: C1C3C2_ASN1, or (asn1=False) the raw C1 || C3 || C2 with C1
    the uncompressed point 04 || x || y."""
    public = _serialization.load_pem_public_key(public_pem)
    ctx = _pkey_ctx(public._evp_pkey)
    _check(_lib.EVP_PKEY_encrypt_init(ctx))
    encoded = _evp_output(_lib.EVP_PKEY_encrypt, ctx, plaintext)
    return encoded if asn1 else c1c3c2_from_asn1(encoded)


def c1c3c2_from_asn1(encoded: bytes) -> bytes:
    """SEQUENCE { INTEGER x, INTEGER y, OCTET STRING C3, OCTET STRING C2 } -> 04 || x || y || C3 || C2."""
    reader = _DerReader(encoded)
    body = _DerReader(reader.take(0x30))
    x = int.from_bytes(body.take(0x02), "big")
    y = int.from_bytes(body.take(0x02), "big")
    c3, c2 = body.take(0x04), body.take(0x04)
    return UNCOMPRESSED_POINT + x.to_bytes(POINT_BYTES, "big") + y.to_bytes(POINT_BYTES, "big") + c3 + c2


class _DerReader:
    """Just enough DER to take apart the one structure Tongsuo writes; not a general parser."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def take(self, tag: int) -> bytes:
        if self._data[self._at] != tag:
            raise ValueError("unexpected DER tag")
        length = self._data[self._at + 1]
        start = self._at + 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(self._data[start : start + count], "big")
            start += count
        self._at = start + length
        return self._data[start : self._at]


def _evp_output(function: Any, ctx: Any, data: bytes) -> bytes:
    """Call an EVP_PKEY sign/encrypt/decrypt function the OpenSSL way: once for the size, once for real."""
    size = _ffi.new("size_t *")
    _check(function(ctx, _ffi.NULL, size, data, len(data)))
    out = _ffi.new("unsigned char[]", max(size[0], 1))
    _check(function(ctx, out, size, data, len(data)))
    return bytes(_ffi.buffer(out)[: size[0]])


def _pkey_ctx(evp_pkey: Any) -> Any:
    ctx = _lib.EVP_PKEY_CTX_new(evp_pkey, _ffi.NULL)
    _check(0 if ctx == _ffi.NULL else 1)
    return _ffi.gc(ctx, _lib.EVP_PKEY_CTX_free)


def _check(result: int) -> None:
    if result != 1:
        _backend._consume_errors()
        raise ValueError("Tongsuo SM2 operation failed")
