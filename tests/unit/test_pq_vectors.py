"""Post-quantum known answers: ML-DSA-65 key generation from NIST's ACVP vectors (FIPS 204,
ML-DSA-keyGen-FIPS204, tcId 26). OpenKMS keeps ML-DSA private keys as their 32-byte seed, so deriving
the published public key from the published seed is what proves the key hierarchy right.

The public key is 1,952 bytes; the test holds its SHA-256 (computed from the published key) and its first
and last bytes rather than the whole key."""

import hashlib

from openkms.crypto import post_quantum

ACVP_TC26_SEED = bytes.fromhex("8AB6448BF58F897D528A8DE9F8E59329AC929A9CDE7EDF3E27E01BC9EF128A67")
ACVP_TC26_PK_SHA256 = "b0cc1d6464e1528a478108d4be94be4aca4c7ae69d9595b1e6b752713442022a"
ACVP_TC26_PK_HEAD = bytes.fromhex("49DE190622B0681761A9DB044015BF812760429001FDFF5FC8")
ACVP_TC26_PK_TAIL = bytes.fromhex("BBABEBDCE1B816769D66F9BC72DE319E1EC39E8F979E49B61C")
ML_DSA_65_PUBLIC_KEY_BYTES = 1952


def test_ml_dsa_65_key_generation_matches_acvp() -> None:
    der, _ = post_quantum.public_key(post_quantum.SIGN_USAGE, ACVP_TC26_SEED)
    raw = der[-ML_DSA_65_PUBLIC_KEY_BYTES:]  # SubjectPublicKeyInfo ends with the raw key
    assert raw.startswith(ACVP_TC26_PK_HEAD) and raw.endswith(ACVP_TC26_PK_TAIL)
    assert hashlib.sha256(raw).hexdigest() == ACVP_TC26_PK_SHA256


def test_signatures_from_the_acvp_key_verify() -> None:
    signature = post_quantum.sign(ACVP_TC26_SEED, b"known-answer key")
    assert post_quantum.verify(ACVP_TC26_SEED, b"known-answer key", signature)
    assert not post_quantum.verify(ACVP_TC26_SEED, b"another message", signature)
