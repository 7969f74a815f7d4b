"""Envelope encryption of files and streams, as a user does it: library and command line."""

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from openkms.envelope.client import ContextMismatch, DataKeyCache, Envelope, KmsRefused
from openkms.envelope.format import MAGIC, NotAnEnvelope, Tampered, Truncated
from tests.sdk import call
from tests.serverproc import Server, openkms_command

CHUNK = 1024


@pytest.fixture
def key_id(server: Server) -> str:
    created: str = call(server.client(), "CreateKey", Alias=f"envelope-{os.urandom(4).hex()}")["KeyId"]
    return created


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 300_000])
def test_round_trips(server: Server, key_id: str, size: int) -> None:
    client = server.client()
    data = os.urandom(size)
    sealed = Envelope(client, key_id, {"file": "a.bin"}, chunk_bytes=CHUNK).encrypt(data)
    assert sealed.startswith(MAGIC)
    assert Envelope.decrypt(client, sealed, {"file": "a.bin"}) == data
    assert Envelope.decrypt(client, sealed) == data, "the context is in the file; checking it is optional"


def sealed_file(server: Server, key_id: str, size: int = 4 * CHUNK + 100) -> tuple[bytes, bytes]:
    data = os.urandom(size)
    return data, Envelope(server.client(), key_id, {"k": "v"}, chunk_bytes=CHUNK).encrypt(data)


def chunk_offsets(sealed: bytes) -> list[int]:
    header_length = int.from_bytes(sealed[8:12], "big")
    offsets, position = [], 12 + header_length
    while position < len(sealed):
        offsets.append(position)
        position += 4 + int.from_bytes(sealed[position : position + 4], "big")
    return offsets


def test_every_kind_of_damage_is_detected(server: Server, key_id: str) -> None:
    client = server.client()
    data, sealed = sealed_file(server, key_id)
    offsets = chunk_offsets(sealed)
    assert len(offsets) == 5

    def refused(damaged: bytes) -> type[Exception]:
        with pytest.raises((Tampered, Truncated, NotAnEnvelope, KmsRefused)) as caught:
            Envelope.decrypt(client, damaged)
        return type(caught.value)

    flipped = bytearray(sealed)
    flipped[offsets[2] + 10] ^= 1
    assert refused(bytes(flipped)) is Tampered
    second, third = (sealed[offsets[1] : offsets[2]], sealed[offsets[2] : offsets[3]])
    assert refused(sealed[: offsets[1]] + third + second + sealed[offsets[3] :]) is Tampered, "reordered"
    assert refused(sealed[: offsets[-1]]) is Truncated, "the final chunk is missing"
    assert refused(sealed[: offsets[2] + 50]) is Truncated, "cut inside a chunk"
    assert refused(sealed + b"more") is Tampered, "data after the final chunk"
    assert refused(sealed[: offsets[1]] + sealed[offsets[2] :]) is Tampered, "a chunk removed"
    assert refused(b"not an envelope at all") is NotAnEnvelope
    header = bytearray(sealed)
    header[20] ^= 1
    assert refused(bytes(header)) in (Tampered, KmsRefused)

    _, other = sealed_file(server, key_id)
    spliced = sealed[: offsets[2]] + other[chunk_offsets(other)[2] :]
    assert refused(spliced) is Tampered, "a chunk from another file"
    assert Envelope.decrypt(client, sealed) == data


def test_wrong_context_and_unusable_key(server: Server, key_id: str) -> None:
    client = server.client()
    _, sealed = sealed_file(server, key_id)
    with pytest.raises(ContextMismatch):
        Envelope.decrypt(client, sealed, {"k": "other"})
    call(client, "DisableKey", KeyId=key_id)
    with pytest.raises(KmsRefused) as refused:
        Envelope.decrypt(client, sealed)
    assert refused.value.code == "ResourceUnavailable.CmkDisabled"
    with pytest.raises(KmsRefused):
        Envelope(client, key_id).encrypt(b"x")


def test_a_data_key_cache_saves_kms_calls_within_its_bounds(server: Server, key_id: str) -> None:
    client = server.client()
    calls = 0
    original = client.GenerateDataKey

    def counting(request: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(request)

    client.GenerateDataKey = counting
    envelope = Envelope(client, key_id, {"tenant": "a"}, cache=DataKeyCache(max_messages=3, max_bytes=10_000))
    sealed = [envelope.encrypt(os.urandom(100)) for _ in range(7)]
    assert calls == 3, "one data key for every three messages"
    envelope.encrypt(os.urandom(20_000))
    assert calls == 4, "a message over the byte bound gets a fresh key"
    assert len({s[: 12 + int.from_bytes(s[8:12], "big")] for s in sealed}) == 7, "each file its own salt"
    for message in sealed:
        assert len(Envelope.decrypt(client, message, {"tenant": "a"})) == 100


class PatternSource:
    """`size` bytes of a repeatable pattern, produced as read: constant memory for any size."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB

    def read(self, size: int = -1) -> bytes:
        take = min(self.left, len(self.block) if size < 0 else size)
        self.left -= take
        return (self.block * (take // len(self.block) + 1))[:take]


class HashingSink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def test_several_hundred_megabytes_in_constant_memory(server: Server, key_id: str, tmp_path: Path) -> None:
    size = 300 * 1024 * 1024
    client = server.client()
    sealed = tmp_path / "big.okms"
    with sealed.open("wb") as target:
        assert Envelope(client, key_id, {"job": "backup"}).encrypt_stream(PatternSource(size), target) == size
    expected = hashlib.sha256()
    pattern = PatternSource(size)
    while block := pattern.read(1 << 20):
        expected.update(block)
    sink = HashingSink()
    with sealed.open("rb") as source:
        assert Envelope.decrypt_stream(client, source, sink, {"job": "backup"}) == size  # type: ignore[arg-type]
    assert sink.digest.hexdigest() == expected.hexdigest()


def run(server: Server, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        openkms_command(
            *args, "--endpoint", server.endpoint, "--credentials", str(server.data_dir / "credentials.json")
        ),
        input=data,
        capture_output=True,
        timeout=120,
    )


def test_command_line_files_and_pipes(server: Server, key_id: str, tmp_path: Path) -> None:
    plain = tmp_path / "report.pdf"
    plain.write_bytes(os.urandom(200_000))
    sealed = tmp_path / "report.pdf.okms"
    done = run(
        server, "encrypt", "--key-id", key_id, "--context", "doc=report", "--in", str(plain), "--out", str(sealed)
    )
    assert done.returncode == 0, done.stderr
    back = tmp_path / "back.pdf"
    done = run(server, "decrypt", "--context", "doc=report", "--in", str(sealed), "--out", str(back))
    assert done.returncode == 0, done.stderr
    assert back.read_bytes() == plain.read_bytes()

    piped = run(server, "encrypt", "--key-id", key_id, data=b"from a pipe")
    assert piped.returncode == 0, piped.stderr
    assert run(server, "decrypt", data=piped.stdout).stdout == b"from a pipe"

    assert run(server, "decrypt", "--context", "doc=other", "--in", str(sealed)).returncode == 4
    assert run(server, "decrypt", data=sealed.read_bytes()[:-10]).returncode == 5
    damaged = bytearray(sealed.read_bytes())
    damaged[-20] ^= 1
    assert run(server, "decrypt", data=bytes(damaged)).returncode == 6
    assert run(server, "decrypt", data=b"plain text").returncode == 6
    unknown = run(server, "encrypt", "--key-id", "00000000-0000-4000-8000-000000000000", data=b"x")
    assert unknown.returncode == 3 and b"CmkNotFound" in unknown.stderr
    failed_out = tmp_path / "never.pdf"
    assert run(server, "decrypt", "--in", str(sealed), "--out", str(failed_out), "--context", "doc=x").returncode == 4
    assert not failed_out.exists(), "a failed decryption leaves no output file"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "nor a temporary one"
