"""SM2 and SM3 against the published known answers: GM/T 0003.5-2012 Annex A (SM2 on the recommended
curve) and GM/T 0004-2012 Annex A (SM3)."""

from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec

from openkms.crypto import sm2

# GM/T 0003.5-2012 A.2: the key pair, the message, its digest e = SM3(Z || M) with the standard user id,
# and the signature (r, s) made with k = 59276E27...; A.3: "encryption standard" encrypted with that k.
PRIVATE_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
PUBLIC_X = 0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020
PUBLIC_Y = 0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13
MESSAGE = b"message digest"
DIGEST_E = bytes.fromhex("F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640")
SIGNATURE_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
SIGNATURE_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
CIPHERTEXT_ASN1 = bytes.fromhex(
    "307C022004EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73022100E858F9D81E5430A57B36DAAB8F950A3C"
    "64E6EE6A63094D99283AFF767E124DF0042059983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766041321886C"
    "A989CA9C7D58087307CA93092D651EFA"
)
CIPHERTEXT_RAW = bytes.fromhex(
    "0404EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A6309"
    "4D99283AFF767E124DF059983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD876621886CA989CA9C7D58087307CA"
    "93092D651EFA"
)


def der_integer(value: int) -> bytes:
    body = value.to_bytes(33, "big").lstrip(b"\x00")
    body = b"\x00" + body if body[0] & 0x80 else body
    return bytes([0x02, len(body)]) + body


def published_signature() -> bytes:
    body = der_integer(SIGNATURE_R) + der_integer(SIGNATURE_S)
    return bytes([0x30, len(body)]) + body


def published_private_key() -> bytes:
    private = ec.derive_private_key(PRIVATE_D, ec.SM2())
    der: bytes = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return der


def test_sm3_known_answers() -> None:
    for message, expected in (
        (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
        (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
    ):
        digest = hashes.Hash(hashes.SM3())
        digest.update(message)
        assert digest.finalize().hex() == expected


def test_the_published_key_pair() -> None:
    public_der, _ = sm2.public_key(published_private_key())
    point = PUBLIC_X.to_bytes(32, "big") + PUBLIC_Y.to_bytes(32, "big")
    assert public_der.endswith(b"\x04" + point)


def test_the_published_signature_verifies_as_raw_message_and_as_digest() -> None:
    private = published_private_key()
    assert sm2.verify(private, MESSAGE, published_signature(), digest=False), "Z uses the standard user id"
    assert sm2.verify(private, DIGEST_E, published_signature(), digest=True), "a DIGEST is SM3(Z || M)"
    assert not sm2.verify(private, MESSAGE + b".", published_signature(), digest=False)


def test_signatures_made_here_verify_both_ways() -> None:
    private = published_private_key()
    assert sm2.verify(private, DIGEST_E, sm2.sign(private, MESSAGE, digest=False), digest=True)
    assert sm2.verify(private, MESSAGE, sm2.sign(private, DIGEST_E, digest=True), digest=False)


def test_the_published_ciphertext_decrypts() -> None:
    assert sm2.decrypt(published_private_key(), CIPHERTEXT_ASN1) == b"encryption standard"


def testc1c3c2_from_asn1_is_the_published_layout() -> None:
    assert sm2.c1c3c2_from_asn1(CIPHERTEXT_ASN1) == CIPHERTEXT_RAW
