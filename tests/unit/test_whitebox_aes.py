"""White-box AES-256 tables compute AES-256 with their key, without containing it."""

import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from openkms.crypto.whitebox import aes
from openkms.crypto.whitebox.format import DECRYPT, ENCRYPT

# FIPS-197 appendix C.3: AES-256.
FIPS_KEY = bytes(range(32))
FIPS_PLAINTEXT = bytes.fromhex("00112233445566778899aabbccddeeff")
FIPS_CIPHERTEXT = bytes.fromhex("8ea2b7ca516745bfeafc49904b496089")


@pytest.fixture(scope="module")
def fips_tables() -> tuple[bytes, bytes]:
    return aes.generate(FIPS_KEY, ENCRYPT), aes.generate(FIPS_KEY, DECRYPT)


def test_the_fips_197_vector_through_the_tables(fips_tables: tuple[bytes, bytes]) -> None:
    encrypt, decrypt = fips_tables
    assert aes.Tables(encrypt).block(FIPS_PLAINTEXT) == FIPS_CIPHERTEXT
    assert aes.Tables(decrypt).block(FIPS_CIPHERTEXT) == FIPS_PLAINTEXT


def test_the_key_schedule_is_fips_197s() -> None:
    # FIPS-197 A.3: the last round key of the key 603deb10...
    key = bytes.fromhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
    assert aes.round_keys(key)[-1] == bytes.fromhex("fe4890d1e6188d0b046df344706c631e")


def test_tables_agree_with_aes_for_random_keys_and_blocks() -> None:
    key = os.urandom(32)
    encrypt, decrypt = aes.Tables(aes.generate(key, ENCRYPT)), aes.Tables(aes.generate(key, DECRYPT))
    for _ in range(20):
        block = os.urandom(16)
        expected = Cipher(algorithms.AES(key), modes.ECB()).encryptor().update(block)
        assert encrypt.block(block) == expected
        assert decrypt.block(expected) == block


def test_two_generations_of_one_key_share_no_tables_but_compute_the_same(fips_tables: tuple[bytes, bytes]) -> None:
    again = aes.generate(FIPS_KEY, ENCRYPT)
    assert again != fips_tables[0]
    assert aes.Tables(again).block(FIPS_PLAINTEXT) == FIPS_CIPHERTEXT


def test_neither_the_key_nor_any_round_key_appears_in_the_tables(fips_tables: tuple[bytes, bytes]) -> None:
    secrets = [FIPS_KEY, *aes.round_keys(FIPS_KEY)]
    for tables in fips_tables:
        for secret in secrets:
            for start in range(0, len(secret) - 7):
                assert secret[start : start + 8] not in tables


def test_altered_or_foreign_tables_are_refused(fips_tables: tuple[bytes, bytes]) -> None:
    encrypt, _ = fips_tables
    with pytest.raises(ValueError):
        aes.Tables(encrypt[:-1])
    with pytest.raises(ValueError):
        aes.Tables(b"NOPE" + encrypt[4:])
