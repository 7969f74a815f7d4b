"""The ciphertext format and the canonical EncryptionContext, as properties."""

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openkms.crypto import ciphertext
from openkms.crypto.aead import new_key
from openkms.crypto.context import canonical_context, parse_context
from openkms.domain.errors import InvalidCiphertext, InvalidParameter

KEY = new_key()
HEADER = ciphertext.CiphertextHeader(str(uuid.uuid4()), 7)
contexts = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4)


@given(st.binary(max_size=4096), contexts)
def test_round_trip(plaintext: bytes, context: dict[str, str]) -> None:
    aad = canonical_context(context)
    blob = ciphertext.encrypt(KEY, HEADER, plaintext, aad)
    assert ciphertext.parse_header(blob) == HEADER
    assert ciphertext.decrypt(KEY, blob, aad) == plaintext
    assert len(blob) == ciphertext.HEADER_BYTES + len(plaintext) + 16


@settings(max_examples=200)
@given(st.binary(min_size=1, max_size=64), st.data())
def test_any_altered_byte_is_refused_with_one_error(plaintext: bytes, data: st.DataObject) -> None:
    blob = bytearray(ciphertext.encrypt(KEY, HEADER, plaintext, b""))
    position = data.draw(st.integers(0, len(blob) - 1))
    blob[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(InvalidCiphertext) as refused:
        ciphertext.decrypt(KEY, bytes(blob), b"") if bytes(blob)[0] == 1 else ciphertext.parse_header(bytes(blob))
    assert str(refused.value) == ciphertext.OPAQUE_MESSAGE


@given(st.binary(max_size=ciphertext.MIN_BLOB_BYTES - 1))
def test_short_blobs_are_refused(blob: bytes) -> None:
    with pytest.raises(InvalidCiphertext):
        ciphertext.parse_header(blob)


def test_truncation_is_refused() -> None:
    blob = ciphertext.encrypt(KEY, HEADER, b"some plaintext", b"")
    with pytest.raises(InvalidCiphertext):
        ciphertext.decrypt(KEY, blob[:-1], b"")


def test_the_key_id_and_version_are_authenticated() -> None:
    blob = ciphertext.encrypt(KEY, HEADER, b"x", b"")
    other = ciphertext.encrypt(KEY, ciphertext.CiphertextHeader(str(uuid.uuid4()), 7), b"x", b"")
    spliced = other[:21] + blob[21:]
    with pytest.raises(InvalidCiphertext):
        ciphertext.decrypt(KEY, spliced, b"")


@given(contexts, contexts)
def test_canonical_context_is_injective(a: dict[str, str], b: dict[str, str]) -> None:
    assert (canonical_context(a) == canonical_context(b)) == (a == b)


def test_known_collisions_of_naive_joins_do_not_collide() -> None:
    assert canonical_context({"a": "bc"}) != canonical_context({"ab": "c"})
    assert canonical_context({"a": "b", "c": "d"}) != canonical_context({"a": "b\x00c", "": "d"})


@given(contexts)
def test_key_order_and_whitespace_do_not_matter(context: dict[str, str]) -> None:
    import json

    forwards = json.dumps(context)
    backwards = json.dumps(dict(reversed(list(context.items()))), indent=2)
    assert canonical_context(parse_context(forwards)) == canonical_context(parse_context(backwards))


def test_empty_context_is_no_context() -> None:
    assert canonical_context(parse_context("{}")) == canonical_context(parse_context(None)) == b""


@pytest.mark.parametrize("text", ["x", "[]", '"s"', '{"a": 1}', '{"a": null}', '{"a": "1", "a": "2"}', "{" * 5000])
def test_malformed_contexts(text: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_context(text)


@given(st.binary(max_size=256), st.sampled_from(sorted(ciphertext.SUITES)))
def test_each_cipher_opens_only_its_own_blobs(plaintext: bytes, cipher: str) -> None:
    blob = ciphertext.encrypt(KEY, HEADER, plaintext, b"", cipher)
    assert len(blob) == ciphertext.HEADER_BYTES + len(plaintext) + 16, "one format for every cipher"
    assert ciphertext.decrypt(KEY, blob, b"", cipher) == plaintext
    for other in set(ciphertext.SUITES) - {cipher}:
        with pytest.raises(InvalidCiphertext):
            ciphertext.decrypt(KEY, blob, b"", other)
