"""White-box AES-256: lookup tables that encrypt (or decrypt) single blocks with one key, in which the
key and its round keys appear nowhere, after Chow, Eisen, Johnson and van Oorschot (2002).

Every round but the last is 16 Ty tables and a network of XOR tables. A Ty table merges, for one state
byte, the round key's byte (added before the S-box), the S-box and that byte's column of MixColumns
into one 8-bit -> 32-bit table; each of its eight output nibbles is scrambled by its own random 4-bit
bijection. The four Ty outputs of a column are XORed nibble by nibble through 8-bit -> 4-bit tables
that undo their inputs' bijections and scramble their output with new ones; the last layer's output
bijections are the state's encoding, which the next round's Ty tables undo on input. The last round
is 16 plain 8-bit tables (S-box between two round keys). Decryption tables are the same construction
over FIPS-197's equivalent inverse cipher. Chow's 8- and 32-bit mixing bijections are left out: they
would double the tables' size for strength that published attacks (Billet, Gilbert, Ech-Chatbi 2004)
remove anyway; see docs/whitebox-format.md for what these tables do and do not protect.

Tables are generated with the key (on the server) and evaluated without it (openkms.whitebox).
"""

import secrets
import struct
from collections.abc import Sequence

from openkms.crypto.whitebox.format import (
    AES_256,
    ENCRYPT,
    Header,
    pack_nibbles,
    unpack_nibbles,
)

ROUNDS = 14
BLOCK = 16
KEY_BYTES = 32
XOR_LAYERS = 3
"""Per column: a0 ^ a1, a2 ^ a3, then the two sums."""
NIBBLES = 8
TY_TABLE_BYTES = 256 * 4
XOR_TABLE_BYTES = 128
_TY = struct.Struct("<256I")


def _xtime(a: int) -> int:
    a <<= 1
    return a ^ 0x11B if a & 0x100 else a


def _field_tables() -> tuple[list[int], list[int]]:
    """Powers of the generator 3 in GF(2^8) and their logarithms."""
    exp, log = [0] * 510, [0] * 256
    value = 1
    for power in range(255):
        exp[power] = exp[power + 255] = value
        log[value] = power
        value ^= _xtime(value)  # value * 3
    return exp, log


_EXP, _LOG = _field_tables()


def _gmul(a: int, b: int) -> int:
    return _EXP[_LOG[a] + _LOG[b]] if a and b else 0


def _sbox() -> tuple[list[int], list[int]]:
    sbox, inverse = [0] * 256, [0] * 256
    for value in range(256):
        # Multiplicative inverse in GF(2^8), then the affine map of FIPS-197 5.1.1.
        inv = _EXP[255 - _LOG[value]] if value else 0
        s = inv
        for shift in range(1, 5):
            s ^= ((inv << shift) | (inv >> (8 - shift))) & 0xFF
        s ^= 0x63
        sbox[value], inverse[s] = s, value
    return sbox, inverse


SBOX, INV_SBOX = _sbox()
MIX = ((2, 3, 1, 1), (1, 2, 3, 1), (1, 1, 2, 3), (3, 1, 1, 2))
INV_MIX = ((14, 11, 13, 9), (9, 14, 11, 13), (13, 9, 14, 11), (11, 13, 9, 14))
# The state is column-major (byte 4c + r is row r of column c). ShiftRows moves row r left by r:
# byte i = 4c + r of the shifted state comes from byte 4((c + r) % 4) + r; InvShiftRows moves it right.
SHIFT = tuple(4 * ((i // 4 + i % 4) % 4) + i % 4 for i in range(BLOCK))
INV_SHIFT = tuple(4 * ((i // 4 - i % 4) % 4) + i % 4 for i in range(BLOCK))


def round_keys(key: bytes) -> list[bytes]:
    """AES-256's key schedule (FIPS-197 5.2): the 15 round keys."""
    if len(key) != KEY_BYTES:
        raise ValueError("white-box AES-256 takes a 32-byte key")
    words = [list(key[i : i + 4]) for i in range(0, KEY_BYTES, 4)]
    rcon = 1
    for i in range(8, 4 * (ROUNDS + 1)):
        word = list(words[i - 1])
        if i % 8 == 0:
            word = [SBOX[b] for b in word[1:] + word[:1]]
            word[0] ^= rcon
            rcon = _xtime(rcon)
        elif i % 8 == 4:
            word = [SBOX[b] for b in word]
        words.append([a ^ b for a, b in zip(words[i - 8], word, strict=True)])
    return [bytes(b for word in words[4 * r : 4 * r + 4] for b in word) for r in range(ROUNDS + 1)]


def _mix_column(matrix: Sequence[Sequence[int]], column: Sequence[int]) -> list[int]:
    return [_gmul(matrix[row][0], column[0]) ^ _gmul(matrix[row][1], column[1])
            ^ _gmul(matrix[row][2], column[2]) ^ _gmul(matrix[row][3], column[3]) for row in range(4)]  # fmt: skip


def _direction(
    key: bytes, direction: int
) -> tuple[list[int], tuple[int, ...], tuple[tuple[int, ...], ...], list[bytes]]:
    """(S-box, byte shift, mixing matrix, round keys in use order) of one direction."""
    keys = round_keys(key)
    if direction == ENCRYPT:
        return SBOX, SHIFT, MIX, keys
    # FIPS-197 5.3.5, the equivalent inverse cipher: the middle round keys pass through InvMixColumns.
    middle = [b"".join(bytes(_mix_column(INV_MIX, k[c : c + 4])) for c in range(0, BLOCK, 4)) for k in keys[1:-1]]
    return INV_SBOX, INV_SHIFT, INV_MIX, [keys[-1], *reversed(middle), keys[0]]


def _bijection() -> list[int]:
    values = list(range(16))
    for i in range(15, 0, -1):
        j = secrets.randbelow(i + 1)
        values[i], values[j] = values[j], values[i]
    return values


def _inverse(bijection: Sequence[int]) -> list[int]:
    inverse = [0] * 16
    for plain, encoded in enumerate(bijection):
        inverse[encoded] = plain
    return inverse


def generate(key: bytes, direction: int) -> bytes:
    """The tables of one direction of AES-256 with `key`, serialized (docs/whitebox-format.md)."""
    sbox, shift, mix, keys = _direction(key, direction)
    identity = list(range(16))
    # state_codes[p] = (bijection of the low nibble, of the high nibble) of state byte p between rounds.
    state_codes = [(identity, identity)] * BLOCK
    out = bytearray(Header(AES_256, direction, ROUNDS).pack())
    for r in range(1, ROUNDS):
        round_key = keys[r - 1]
        ty_codes: list[list[list[int]]] = []
        for i in range(BLOCK):
            source, row = shift[i], i % 4
            low, high = _inverse(state_codes[source][0]), _inverse(state_codes[source][1])
            codes = [_bijection() for _ in range(NIBBLES)]
            ty_codes.append(codes)
            table = bytearray(TY_TABLE_BYTES)
            for encoded in range(256):
                plain = (high[encoded >> 4] << 4) | low[encoded & 15]
                t = sbox[plain ^ round_key[source]]
                word = 0
                for out_row in range(4):
                    word |= _gmul(mix[out_row][row], t) << (8 * out_row)
                scrambled = 0
                for n in range(NIBBLES):
                    scrambled |= codes[n][(word >> (4 * n)) & 15] << (4 * n)
                table[4 * encoded : 4 * encoded + 4] = scrambled.to_bytes(4, "little")
            out += table
        next_codes: list[tuple[list[int], list[int]]] = []
        for c in range(4):
            column = [_bijection() for _ in range(NIBBLES)]
            a0, a1, a2, a3 = (ty_codes[4 * c + j] for j in range(4))
            first = [_bijection() for _ in range(NIBBLES)]
            second = [_bijection() for _ in range(NIBBLES)]
            for left, right, result in ((a0, a1, first), (a2, a3, second), (first, second, column)):
                for n in range(NIBBLES):
                    out += _xor_table(left[n], right[n], result[n])
            next_codes += [(column[2 * j], column[2 * j + 1]) for j in range(4)]
        state_codes = next_codes
    last, final = keys[ROUNDS - 1], keys[ROUNDS]
    for i in range(BLOCK):
        source = shift[i]
        low, high = _inverse(state_codes[source][0]), _inverse(state_codes[source][1])
        out += bytes(sbox[((high[e >> 4] << 4) | low[e & 15]) ^ last[source]] ^ final[i] for e in range(256))
    return bytes(out)


def _xor_table(left: Sequence[int], right: Sequence[int], result: Sequence[int]) -> bytes:
    """Input (left code << 4) | right code; output result(left^-1 ^ right^-1)."""
    left_plain, right_plain = _inverse(left), _inverse(right)
    return pack_nibbles([result[left_plain[e >> 4] ^ right_plain[e & 15]] for e in range(256)])


class Tables:
    """Loaded tables of one direction, ready to run blocks through."""

    def __init__(self, blob: bytes) -> None:
        header = Header.unpack(blob)
        if header.algorithm != AES_256 or header.rounds != ROUNDS:
            raise ValueError("these are not white-box AES-256 tables")
        self.direction = header.direction
        self._shift = SHIFT if header.direction == ENCRYPT else INV_SHIFT
        offset = Header.SIZE
        expected = offset + (ROUNDS - 1) * (BLOCK * TY_TABLE_BYTES + 4 * XOR_LAYERS * NIBBLES * XOR_TABLE_BYTES)
        if len(blob) != expected + BLOCK * 256:
            raise ValueError("white-box AES-256 tables are truncated or padded")
        self._ty: list[list[list[int]]] = []
        self._xor: list[list[list[int]]] = []
        for _ in range(1, ROUNDS):
            self._ty.append([list(_TY.unpack_from(blob, offset + k * TY_TABLE_BYTES)) for k in range(BLOCK)])
            offset += BLOCK * TY_TABLE_BYTES
            count = 4 * XOR_LAYERS * NIBBLES
            self._xor.append(
                [
                    unpack_nibbles(blob[offset + k * XOR_TABLE_BYTES : offset + (k + 1) * XOR_TABLE_BYTES])
                    for k in range(count)
                ]
            )
            offset += count * XOR_TABLE_BYTES
        self._last = [list(blob[offset + k * 256 : offset + (k + 1) * 256]) for k in range(BLOCK)]

    def block(self, data: bytes) -> bytes:
        if len(data) != BLOCK:
            raise ValueError("a block is 16 bytes")
        state = list(data)
        shift = self._shift
        for ty, xor in zip(self._ty, self._xor, strict=True):
            following = [0] * BLOCK
            for c in range(4):
                base = 4 * c
                a0 = ty[base][state[shift[base]]]
                a1 = ty[base + 1][state[shift[base + 1]]]
                a2 = ty[base + 2][state[shift[base + 2]]]
                a3 = ty[base + 3][state[shift[base + 3]]]
                tables = xor[c * 24 : c * 24 + 24]
                word = _xor32(tables[16:24], _xor32(tables[0:8], a0, a1), _xor32(tables[8:16], a2, a3))
                following[base : base + 4] = word.to_bytes(4, "little")
            state = following
        last = self._last
        return bytes(last[i][state[shift[i]]] for i in range(BLOCK))


def _xor32(tables: Sequence[Sequence[int]], left: int, right: int) -> int:
    """Eight nibble XOR tables over two encoded words (unrolled: the hot loop of a block)."""
    t0, t1, t2, t3, t4, t5, t6, t7 = tables
    return (
        t0[((left & 0xF) << 4) | (right & 0xF)]
        | t1[(left & 0xF0) | ((right >> 4) & 0xF)] << 4
        | t2[((left >> 4) & 0xF0) | ((right >> 8) & 0xF)] << 8
        | t3[((left >> 8) & 0xF0) | ((right >> 12) & 0xF)] << 12
        | t4[((left >> 12) & 0xF0) | ((right >> 16) & 0xF)] << 16
        | t5[((left >> 16) & 0xF0) | ((right >> 20) & 0xF)] << 20
        | t6[((left >> 20) & 0xF0) | ((right >> 24) & 0xF)] << 24
        | t7[((left >> 24) & 0xF0) | (right >> 28)] << 28
    )
