"""SM4 and SM4-GCM against published known answers: GB/T 32907-2016 Appendix A and RFC 8998 Appendix A.2."""

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from openkms.crypto.aead import sm4_open, sm4_seal

KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def test_sm4_block_known_answer() -> None:
    encryptor = Cipher(algorithms.SM4(KEY), modes.ECB()).encryptor()
    assert (encryptor.update(KEY) + encryptor.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_gcm_known_answer() -> None:
    nonce = bytes.fromhex("00001234567800000000ABCD")
    associated = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    expected = bytes.fromhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC"
    )
    assert sm4_seal(KEY, nonce, plaintext, associated) == expected
    assert sm4_open(KEY, nonce, expected, associated) == plaintext
