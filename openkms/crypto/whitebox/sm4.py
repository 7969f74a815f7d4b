"""White-box SM4: tables and affine encodings that encrypt (or decrypt) single blocks with one key, in
which neither the key nor a round key appears, after Xiao and Lai (2009).

SM4's state is four 32-bit words; round i makes X[i+4] = X[i] ^ T(X[i+1] ^ X[i+2] ^ X[i+3] ^ rk[i]),
T = L(four S-boxes). Between rounds every word is kept under its own random affine encoding
P(x) = M·x ^ c (M a random invertible 32×32 bit matrix). Each round publishes:
- three matrices and a constant that take the encoded X[i+1..3] to their XOR under a random
  byte-wise affine encoding E (four random invertible 8×8 matrices and a constant);
- four tables, one per byte, that undo E's byte encoding, add the round key's byte, apply the S-box and
  that byte's share of L, and encode the result with a random affine Q (the four outputs XOR to
  Q(T(...)));
- two matrices and a constant that take the encoded X[i] and Q(T(...)) to X[i+4] under its encoding.
The four last words are decoded by four published affine maps, so the output is the plain block.
Decryption tables are the same construction with the round keys reversed. Lin and Lai (2010) recover
the key from this construction with about 2^47 work: see docs/whitebox-format.md for what such tables
are for.
"""

import secrets
import struct
from collections.abc import Sequence

from openkms.crypto.whitebox import gf2
from openkms.crypto.whitebox.format import DECRYPT, SM4, Header

ROUNDS = 32
BLOCK = 16
KEY_BYTES = 16
WORD_MASK = 0xFFFFFFFF
# GB/T 32907-2016: the S-box, FK and CK.
SBOX = bytes.fromhex(
    "d690e9fecce13db716b614c228fb2c052b679a762abe04c3aa44132649860699"
    "9c4250f491ef987a33540b43edcfac62e4b31ca9c908e89580df94fa758f3fa6"
    "4707a7fcf37317ba83593c19e6854fa8686b81b27164da8bf8eb0f4b70569d35"
    "1e240e5e6358d1a225227c3b01217887d40046579fd327524c3602e7a0c4c89e"
    "eabf8ad240c738b5a3f7f2cef96115a1e0ae5da49b341a55ad933230f58cb1e3"
    "1df6e22e8266ca60c02923ab0d534e6fd5db3745defd8e2f03ff6a726d6c5b51"
    "8d1baf92bbddbc7f11d95c411f105ad80ac13188a5cd7bbd2d74d012b8e5b4b0"
    "8969974a0c96777e65b9f109c56ec68418f07dec3adc4d2079ee5f3ed7cb3948"
)
FK = (0xA3B1BAC6, 0x56AA3350, 0x677D9197, 0xB27022DC)
CK = tuple(int.from_bytes(bytes(((4 * i + j) * 7) % 256 for j in range(4)), "big") for i in range(ROUNDS))
_WORD = struct.Struct(">I")
_MATRIX = struct.Struct(">32I")
_TABLE = struct.Struct(">256I")
ROUND_BYTES = 5 * _MATRIX.size + 2 * _WORD.size + 4 * _TABLE.size
OUTPUT_BYTES = 4 * (_MATRIX.size + _WORD.size)


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & WORD_MASK


def _tau(x: int) -> int:
    return int.from_bytes(bytes(SBOX[b] for b in x.to_bytes(4, "big")), "big")


def _l(b: int) -> int:
    return b ^ _rotl(b, 2) ^ _rotl(b, 10) ^ _rotl(b, 18) ^ _rotl(b, 24)


def round_keys(key: bytes) -> list[int]:
    """SM4's key schedule (GB/T 32907-2016 7.3): the 32 round keys."""
    if len(key) != KEY_BYTES:
        raise ValueError("white-box SM4 takes a 16-byte key")
    k = [word ^ fk for word, fk in zip(struct.unpack(">4I", key), FK, strict=True)]
    for i in range(ROUNDS):
        t = _tau(k[i + 1] ^ k[i + 2] ^ k[i + 3] ^ CK[i])
        k.append(k[i] ^ t ^ _rotl(t, 13) ^ _rotl(t, 23))
    return k[4:]


def _affine() -> tuple[gf2.Matrix, gf2.Matrix, int]:
    """A random affine encoding x -> M·x ^ c: (M, M^-1, c)."""
    matrix, inverse = gf2.random_invertible(32)
    return matrix, inverse, secrets.randbits(32)


def generate(key: bytes, direction: int) -> bytes:
    """The tables of one direction of SM4 with `key`, serialized (docs/whitebox-format.md)."""
    keys = round_keys(key)
    if direction == DECRYPT:
        keys.reverse()
    identity = tuple(1 << r for r in range(32))
    # Word encodings: the input words are plain; each new word gets a random one.
    encodings: list[tuple[gf2.Matrix, gf2.Matrix, int]] = [(identity, identity, 0)] * 4
    out = bytearray(Header(SM4, direction, ROUNDS).pack())
    for i in range(ROUNDS):
        blocks = [gf2.random_invertible(8) for _ in range(4)]
        e_matrix = gf2.block_diagonal([b for b, _ in blocks], 8)
        e_inverses = [inv for _, inv in blocks]
        e_constant = secrets.randbits(32)
        # E(X[i+1] ^ X[i+2] ^ X[i+3]) from the three encoded words: sum of E·P^-1(w) plus one constant.
        constant = 0
        for j in (1, 2, 3):
            _, inverse, c = encodings[i + j]
            change = gf2.multiply(e_matrix, inverse)
            out += _MATRIX.pack(*change)
            constant ^= gf2.apply(change, c)
        out_matrix, out_inverse = gf2.random_invertible(32)
        out_encoding = gf2.byte_tables(out_matrix)
        shares = [secrets.randbits(32) for _ in range(4)]
        q_constant = shares[0] ^ shares[1] ^ shares[2] ^ shares[3]
        tables = []
        for k in range(4):  # byte k of the word, k = 0 the lowest
            shift = 8 * k
            round_key_byte = (keys[i] >> shift) & 0xFF
            undo = e_inverses[k]
            e_byte = (e_constant >> shift) & 0xFF
            table = []
            for encoded in range(256):
                plain = gf2.apply(undo, encoded ^ e_byte)
                contribution = _l(SBOX[plain ^ round_key_byte] << shift)
                table.append(_times(out_encoding, contribution) ^ shares[k])
            tables.append(table)
        # X[i+4] = X[i] ^ T: under its new encoding N, from P_i(X[i]) and Q(T).
        new = _affine()
        n_matrix, _, n_constant = new
        _, p_inverse, p_constant = encodings[i]
        from_word = gf2.multiply(n_matrix, p_inverse)
        from_t = gf2.multiply(n_matrix, out_inverse)
        out += _MATRIX.pack(*from_word) + _MATRIX.pack(*from_t)
        out += _WORD.pack(constant ^ e_constant)
        out += _WORD.pack(gf2.apply(from_word, p_constant) ^ gf2.apply(from_t, q_constant) ^ n_constant)
        for table in tables:
            out += _TABLE.pack(*table)
        encodings.append(new)
    # SM4's output is the last four words in reverse order, decoded.
    for _, inverse, c in reversed(encodings[-4:]):
        out += _MATRIX.pack(*inverse) + _WORD.pack(gf2.apply(inverse, c))
    return bytes(out)


class Tables:
    """Loaded tables of one direction, ready to run blocks through."""

    def __init__(self, blob: bytes) -> None:
        header = Header.unpack(blob)
        if header.algorithm != SM4 or header.rounds != ROUNDS:
            raise ValueError("these are not white-box SM4 tables")
        if len(blob) != Header.SIZE + ROUNDS * ROUND_BYTES + OUTPUT_BYTES:
            raise ValueError("white-box SM4 tables are truncated or padded")
        self.direction = header.direction
        offset = Header.SIZE
        self._rounds: list[tuple[list[list[list[int]]], int, int, list[list[int]]]] = []
        for _ in range(ROUNDS):
            matrices = []
            for _ in range(5):
                matrices.append(gf2.byte_tables(_MATRIX.unpack_from(blob, offset)))
                offset += _MATRIX.size
            (sum_constant,) = _WORD.unpack_from(blob, offset)
            (next_constant,) = _WORD.unpack_from(blob, offset + 4)
            offset += 8
            tables = []
            for _ in range(4):
                tables.append(list(_TABLE.unpack_from(blob, offset)))
                offset += _TABLE.size
            self._rounds.append((matrices, sum_constant, next_constant, tables))
        self._output = []
        for _ in range(4):
            matrix = gf2.byte_tables(_MATRIX.unpack_from(blob, offset))
            (constant,) = _WORD.unpack_from(blob, offset + _MATRIX.size)
            self._output.append((matrix, constant))
            offset += _MATRIX.size + _WORD.size

    def block(self, data: bytes) -> bytes:
        if len(data) != BLOCK:
            raise ValueError("a block is 16 bytes")
        words = list(struct.unpack(">4I", data))
        for i, (matrices, sum_constant, next_constant, tables) in enumerate(self._rounds):
            a1, a2, a3, from_word, from_t = matrices
            z = _times(a1, words[i + 1]) ^ _times(a2, words[i + 2]) ^ _times(a3, words[i + 3]) ^ sum_constant
            t = tables[0][z & 0xFF] ^ tables[1][(z >> 8) & 0xFF] ^ tables[2][(z >> 16) & 0xFF] ^ tables[3][z >> 24]
            words.append(_times(from_word, words[i]) ^ _times(from_t, t) ^ next_constant)
        last = words[-4:][::-1]
        return b"".join(
            _WORD.pack(_times(matrix, word) ^ constant)
            for word, (matrix, constant) in zip(last, self._output, strict=True)
        )


def _times(tables: Sequence[Sequence[int]], word: int) -> int:
    return (
        tables[0][word & 0xFF] ^ tables[1][(word >> 8) & 0xFF] ^ tables[2][(word >> 16) & 0xFF] ^ tables[3][word >> 24]
    )
