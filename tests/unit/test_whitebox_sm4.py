"""White-box SM4 tables compute SM4 with their key, without containing it."""

import itertools
import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from openkms.crypto.whitebox import sm4
from openkms.crypto.whitebox.format import DECRYPT, ENCRYPT

# GB/T 32907-2016 appendix A, example 1.
GB_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
GB_PLAINTEXT = GB_KEY
GB_CIPHERTEXT = bytes.fromhex("681edf34d206965e86b3e94f536e4246")


@pytest.fixture(scope="module")
def gb_tables() -> tuple[bytes, bytes]:
    return sm4.generate(GB_KEY, ENCRYPT), sm4.generate(GB_KEY, DECRYPT)


def test_the_gb_t_32907_vector_through_the_tables(gb_tables: tuple[bytes, bytes]) -> None:
    encrypt, decrypt = gb_tables
    assert sm4.Tables(encrypt).block(GB_PLAINTEXT) == GB_CIPHERTEXT
    assert sm4.Tables(decrypt).block(GB_CIPHERTEXT) == GB_PLAINTEXT


def test_the_gb_t_32907_vector_a_million_times_over(gb_tables: tuple[bytes, bytes]) -> None:
    # Appendix A, example 2, shortened: the first 100 iterations match the reference cipher's.
    encrypt = sm4.Tables(gb_tables[0])
    reference = Cipher(algorithms.SM4(GB_KEY), modes.ECB()).encryptor()
    block = expected = GB_PLAINTEXT
    for _ in range(100):
        block, expected = encrypt.block(block), reference.update(expected)
    assert block == expected


def test_tables_agree_with_sm4_for_random_keys_and_blocks() -> None:
    key = os.urandom(16)
    encrypt, decrypt = sm4.Tables(sm4.generate(key, ENCRYPT)), sm4.Tables(sm4.generate(key, DECRYPT))
    for _ in range(50):
        block = os.urandom(16)
        expected = Cipher(algorithms.SM4(key), modes.ECB()).encryptor().update(block)
        assert encrypt.block(block) == expected
        assert decrypt.block(expected) == block


def test_neither_the_key_nor_any_round_key_appears_in_the_tables(gb_tables: tuple[bytes, bytes]) -> None:
    # A round key is 4 bytes, which 150 KB of random tables hold by chance now and then: look for
    # each pair of consecutive round keys instead, as any byte order would store them.
    keys = sm4.round_keys(GB_KEY)
    pairs = [
        a.to_bytes(4, order) + b.to_bytes(4, order) for a, b in itertools.pairwise(keys) for order in ("big", "little")
    ]
    for tables in gb_tables:
        for start in range(0, len(GB_KEY) - 7):
            assert GB_KEY[start : start + 8] not in tables
        assert not [pair for pair in pairs if pair in tables]


def test_altered_or_foreign_tables_are_refused(gb_tables: tuple[bytes, bytes]) -> None:
    with pytest.raises(ValueError):
        sm4.Tables(gb_tables[0][:-4])
    with pytest.raises(ValueError):
        sm4.Tables(b"OKWB\x02" + gb_tables[0][5:])
