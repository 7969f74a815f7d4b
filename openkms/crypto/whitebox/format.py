"""The header every white-box table set starts with, and the packing of 4-bit tables
(docs/whitebox-format.md)."""

import struct
from collections.abc import Sequence
from dataclasses import dataclass

MAGIC = b"OKWB"
VERSION = 1
AES_256, SM4 = 1, 2
ALGORITHM_NAMES = {AES_256: "AES_256", SM4: "SM4"}
ENCRYPT, DECRYPT = 1, 2
_HEADER = struct.Struct(">4sBBBB")


@dataclass(frozen=True)
class Header:
    algorithm: int
    direction: int
    rounds: int

    SIZE = _HEADER.size

    def pack(self) -> bytes:
        return _HEADER.pack(MAGIC, VERSION, self.algorithm, self.direction, self.rounds)

    @classmethod
    def unpack(cls, blob: bytes) -> "Header":
        if len(blob) < cls.SIZE:
            raise ValueError("these are not OpenKMS white-box tables")
        magic, version, algorithm, direction, rounds = _HEADER.unpack_from(blob)
        if magic != MAGIC or version != VERSION:
            raise ValueError("these are not OpenKMS white-box tables (or of a version this library does not read)")
        if algorithm not in ALGORITHM_NAMES or direction not in (ENCRYPT, DECRYPT):
            raise ValueError("white-box tables of an unknown algorithm or direction")
        return cls(algorithm, direction, rounds)


def pack_nibbles(values: Sequence[int]) -> bytes:
    """Two 4-bit entries a byte: entry 2k in the low nibble of byte k, entry 2k + 1 in the high one."""
    return bytes(values[k] | (values[k + 1] << 4) for k in range(0, len(values), 2))


def unpack_nibbles(packed: bytes) -> list[int]:
    values: list[int] = []
    for byte in packed:
        values += (byte & 15, byte >> 4)
    return values
