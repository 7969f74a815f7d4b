"""Every key usage OpenKMS knows, in one table: the family of key it makes, what it is for, the
algorithm ListAlgorithms names, whether that algorithm is a Chinese national standard, and how a new
key's secret is made. Crypto, the services, rendering and ListAlgorithms all read this table; nothing
else classifies key usages."""

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from openkms.crypto import asymmetric, post_quantum, sm2
from openkms.crypto.aead import new_key
from openkms.domain.models import KeyUsage


class Family(enum.Enum):
    SYMMETRIC = "symmetric"
    ASYMMETRIC = "asymmetric"
    POST_QUANTUM = "post-quantum"
    HMAC = "hmac"


class Purpose(enum.Enum):
    ENCRYPT_DECRYPT = "encrypt-decrypt"
    SIGN_VERIFY = "sign-verify"
    GENERATE_VERIFY_MAC = "generate-verify-mac"


@dataclass(frozen=True)
class UsageSpec:
    family: Family
    purpose: Purpose
    algorithm: str
    """As ListAlgorithms names it; empty for symmetric keys, whose cipher is the server's (AES_256 or SM4)."""
    national: bool
    """SM2 (the cipher decides for symmetric keys): KeyMetadata.Type 4 instead of 2."""
    generate: Callable[[], bytes]
    """A new key's secret: 256-bit material, a private key as PKCS#8 DER, or a post-quantum seed."""
    public_key: Callable[[bytes], tuple[bytes, str]] | None = None
    """The secret's public key as (SubjectPublicKeyInfo DER, PEM); None for symmetric keys."""

    @property
    def key_pair(self) -> bool:
        """Asymmetric and post-quantum keys: a private key (or seed) with a public key."""
        return self.family in (Family.ASYMMETRIC, Family.POST_QUANTUM)

    @property
    def encrypts(self) -> bool:
        """The symmetric keys Encrypt, Decrypt and the data-key actions use; the only keys that rotate
        or take imported material. Every other key is made by KMS, never rotated, used while Enabled."""
        return self.family is Family.SYMMETRIC


USAGES: Mapping[KeyUsage, UsageSpec] = MappingProxyType(
    {
        KeyUsage.ENCRYPT_DECRYPT: UsageSpec(Family.SYMMETRIC, Purpose.ENCRYPT_DECRYPT, "", False, new_key),
        KeyUsage.ASYMMETRIC_DECRYPT_RSA_2048: UsageSpec(
            Family.ASYMMETRIC,
            Purpose.ENCRYPT_DECRYPT,
            "RSA_2048",
            False,
            asymmetric.new_rsa_2048,
            asymmetric.public_key,
        ),
        KeyUsage.ASYMMETRIC_DECRYPT_SM2: UsageSpec(
            Family.ASYMMETRIC,
            Purpose.ENCRYPT_DECRYPT,
            "SM2",
            True,
            sm2.new_private_key,
            sm2.public_key,
        ),
        KeyUsage.ASYMMETRIC_SIGN_VERIFY_SM2: UsageSpec(
            Family.ASYMMETRIC,
            Purpose.SIGN_VERIFY,
            "SM2",
            True,
            sm2.new_private_key,
            sm2.public_key,
        ),
        KeyUsage.ASYMMETRIC_SIGN_VERIFY_RSA_2048: UsageSpec(
            Family.ASYMMETRIC,
            Purpose.SIGN_VERIFY,
            "RSA_2048",
            False,
            asymmetric.new_rsa_2048,
            asymmetric.public_key,
        ),
        KeyUsage.ASYMMETRIC_SIGN_VERIFY_ECC: UsageSpec(
            Family.ASYMMETRIC,
            Purpose.SIGN_VERIFY,
            "ECC",
            False,
            asymmetric.new_ecc_p256,
            asymmetric.public_key,
        ),
        KeyUsage.ASYMMETRIC_SIGN_VERIFY_ECDSA384: UsageSpec(
            Family.ASYMMETRIC,
            Purpose.SIGN_VERIFY,
            "ECDSA384",
            False,
            asymmetric.new_ecc_p384,
            asymmetric.public_key,
        ),
        KeyUsage.PQC_ENCRYPT_DECRYPT_ML_KEM_768: UsageSpec(
            Family.POST_QUANTUM,
            Purpose.ENCRYPT_DECRYPT,
            "ML_KEM_768",
            False,
            post_quantum.new_kem_seed,
            post_quantum.kem_public_key,
        ),
        KeyUsage.HMAC_256: UsageSpec(Family.HMAC, Purpose.GENERATE_VERIFY_MAC, "HMAC_256", False, new_key),
        KeyUsage.PQC_SIGN_VERIFY_ML_DSA_65: UsageSpec(
            Family.POST_QUANTUM,
            Purpose.SIGN_VERIFY,
            "ML_DSA_65",
            False,
            post_quantum.new_dsa_seed,
            post_quantum.dsa_public_key,
        ),
    }
)
