"""Post-quantum known answers.

ML-DSA-65: key generation from NIST's ACVP vectors (FIPS 204, ML-DSA-keyGen-FIPS204, tcId 26).
ML-KEM-768: Wycheproof's testvectors_v1/mlkem_768_test.json tcId 1 (source CCTV/strcmp; final FIPS 203,
where rho = SHA3-512(d || k) — the draft-era ACVP keyGen files predate that and cannot match).
OpenKMS keeps PQ private keys as their seeds (d || z for ML-KEM, xi for ML-DSA), so deriving the
published public key from the published seed, and the published shared secret from the published
ciphertext, is what proves the key hierarchy right.

Public keys are 1,184 and 1,952 bytes; the tests hold their SHA-256 (computed from the published keys)
rather than the whole keys. The ML-KEM ciphertext is held whole: decapsulation needs it."""

import hashlib
import struct
import uuid

from openkms.crypto import post_quantum
from openkms.crypto.aead import derive_key, seal
from openkms.crypto.ciphertext import CiphertextHeader

ACVP_TC26_SEED = bytes.fromhex("8AB6448BF58F897D528A8DE9F8E59329AC929A9CDE7EDF3E27E01BC9EF128A67")
ACVP_TC26_PK_SHA256 = "b0cc1d6464e1528a478108d4be94be4aca4c7ae69d9595b1e6b752713442022a"
ACVP_TC26_PK_HEAD = bytes.fromhex("49DE190622B0681761A9DB044015BF812760429001FDFF5FC8")
ACVP_TC26_PK_TAIL = bytes.fromhex("BBABEBDCE1B816769D66F9BC72DE319E1EC39E8F979E49B61C")
ML_DSA_65_PUBLIC_KEY_BYTES = 1952

WYCHEPROOF_TC1_SEED = bytes.fromhex(
    "cbfc4405d1b2a3a386c94c25e0f2d5f5ee92cb0388ff4d6aa04223086d51c3fd"
    "24752da14c9fc3b8ae0d9e4a8b1016b8d8fc69e229c03ea2ef08a4ae0cffc37f"
)
WYCHEPROOF_TC1_EK_SHA256 = "67fe2cb60768d55758c67bfd5842692dedb14513d581c48db2cd3adf94568106"
WYCHEPROOF_TC1_SHARED_SECRET = bytes.fromhex("76c10bb1d86d96d7eb18e298363e51f7728e113f455df7d15017940ed3541451")
WYCHEPROOF_TC1_CIPHERTEXT = bytes.fromhex(
    "00e96c44eb5f5380d80b4cb05d608971a28fbe838b912b558bf9676c6c67c9692ed6ea063fc47b70d5d6004825c269b9"
    "cb8e68b5728d67f44844d97686a11154e3cbd4a6f9e47524d93d851bdce480d7762ded09be53d17cce3ee28dc5a06911"
    "c062b99b218355dd5822108c55e2c67f7ea0b74b6189b33b4589d8ff9d0c867d13edaaf1c5f724675320beda3e6acc67"
    "3c048fa04a1b30f899227d5a555e08a412a47b7db75eb118a8844a71b186880426f6bb6e77186d18e753cbcce93c9fb7"
    "6c729875b4d473eeca8dab9941969faef04df9ce3178e7341eab416d28bb7aee12bfb8f4c3df814eff45a0187329079a"
    "cfc41a8e8dba7b08d111f02e37a1d2b69e57eef808fcc6ae23385534a420a93dfb6a95c73e2f1016177c4fe9d3ced769"
    "e277293aaceded6d07efc7890eaa885bd1e73f9e5da2b9cfda0d44cbc9090705ac2ce3e7bcd7775b593c706e45ddc97d"
    "3a65d9b7e73673f9473df5bfec689671f73e7f6ee77c730a8ebda1f0b2c112a71904d6f28a51d8d479f8323fb485e722"
    "f5c4d5857e95989a9cbaf273efd04fc3cbde98baa9969e095e88accecfbd12ef2155497a5b15fe91a70d1106b91a5683"
    "63bfc2d6736cc8138cbc41ddf1e54fd40511e27d89e2c26c027b63c156e2bbb998faaed3d72186f0cc626dad39a782dc"
    "da2087fd13a9498e10b41b685646a227ea1166a5632c195983f4aba2b718b4074030d57126d34c38349892007acbea9e"
    "393b967dc3146b270f080a1f0bee90d65a095a6352a7718ed1717a8025a2bd38c66d120baf4247676a1fe044a57ce268"
    "c078f8ff46cc26fe4f9c7a03d6467adacb8418d26273662bce1f7bc00b906e0088e95dc0fb419e2232e85aac77b9e7cd"
    "563e604de5e1d3e9693dcd3b19865cf4250773691e7e0af9c2755cd31f49d1f96708f3ba2f0b98184525abb869e12d5c"
    "ea0ac1740181a875035300b05a54b8d42ee3b4ae92b06e43cd807e2b096c977f23c61ef8c989c52ed83754076dea1323"
    "f639250bef61bdf903bf7961cec89ba6942d9d0647ac9c8195d93ed8abcedf25754644035719a5a0a1c8c0798912726a"
    "9a8258e4c10ae7485322ed9ba331f6f090c4b492a4fcf53d753cd34f28ec0443fce0724f43c89a3942169d5099a8f743"
    "0f38691ebce2e3fe4f600d82c7ccedf60673f8e5d4c1a9f84b8b5b23f5ed63defb6a7205e0a8b105bdc6ff4568fc78cb"
    "4456b02fedb7f4c48f6fd6b69216a3319821039db40e19a31a0b0c9d471d5a7a73865d26f8be3595525b1ec4a8579efd"
    "07ea98e2602e2bffdfd8febc5c7b4c736d326b5030ccc6faf9420a9c156a8f4516b9fff675459dfdcd4ef85d7adbdffd"
    "60f4a39628e399cc752c2e99ab2f431dc765e7c9d206bfe32649fbef4ef48b1d7936fc74766d724350ee2245a8d5f23f"
    "bc6c7ed8b57168ce1e864e49d7f8c475dcda140bd42473825b3c72eb8c54780188813011e1962a503f9b516e13226de6"
    "375b204733b0192183c8f55e870e61cf8947c3191790bc0b657bc43aebc9d86c"
)
ML_KEM_768_PUBLIC_KEY_BYTES = 1184


def test_ml_dsa_65_key_generation_matches_acvp() -> None:
    der, _ = post_quantum.dsa_public_key(ACVP_TC26_SEED)
    raw = der[-ML_DSA_65_PUBLIC_KEY_BYTES:]  # SubjectPublicKeyInfo ends with the raw key
    assert raw.startswith(ACVP_TC26_PK_HEAD) and raw.endswith(ACVP_TC26_PK_TAIL)
    assert hashlib.sha256(raw).hexdigest() == ACVP_TC26_PK_SHA256


def test_signatures_from_the_acvp_key_verify() -> None:
    signature = post_quantum.sign(ACVP_TC26_SEED, b"known-answer key")
    assert post_quantum.verify(ACVP_TC26_SEED, b"known-answer key", signature)
    assert not post_quantum.verify(ACVP_TC26_SEED, b"another message", signature)


def test_ml_kem_768_key_generation_matches_wycheproof() -> None:
    der, _ = post_quantum.kem_public_key(WYCHEPROOF_TC1_SEED)
    raw = der[-ML_KEM_768_PUBLIC_KEY_BYTES:]
    assert hashlib.sha256(raw).hexdigest() == WYCHEPROOF_TC1_EK_SHA256


def test_ml_kem_768_decryption_recovers_the_published_shared_secret() -> None:
    """A blob whose KEM part is the published ciphertext and whose AEAD key comes from the published
    shared secret opens only if decapsulation yields exactly that secret."""
    key_id = str(uuid.uuid4())
    kem_head = struct.pack(">B16sI", post_quantum.PQ_FORMAT, uuid.UUID(key_id).bytes, 1)
    nonce = bytes(12)
    head = kem_head + WYCHEPROOF_TC1_CIPHERTEXT + nonce
    blob = head + seal(derive_key(WYCHEPROOF_TC1_SHARED_SECRET, post_quantum.LABEL), nonce, b"known answer", head)
    assert post_quantum.parse_header(blob) == CiphertextHeader(key_id, 1)
    assert post_quantum.decrypt(WYCHEPROOF_TC1_SEED, blob) == b"known answer"
