"""Bit matrices over GF(2), for the affine encodings of white-box tables. A matrix is a tuple of row
masks: bit r of M·x is the parity of row r AND x (bit 0 is the least significant)."""

import secrets
from collections.abc import Sequence

Matrix = tuple[int, ...]


def apply(matrix: Sequence[int], vector: int) -> int:
    result = 0
    for row, mask in enumerate(matrix):
        result |= ((mask & vector).bit_count() & 1) << row
    return result


def multiply(left: Sequence[int], right: Sequence[int]) -> Matrix:
    """left · right: apply(left, apply(right, x)) for every x."""
    size = len(right)
    columns = [sum(((right[r] >> c) & 1) << r for r in range(size)) for c in range(size)]
    return tuple(sum(((row & columns[c]).bit_count() & 1) << c for c in range(size)) for row in left)


def inverse(matrix: Sequence[int]) -> Matrix | None:
    """The inverse, or None when the matrix is singular."""
    size = len(matrix)
    rows = [(matrix[r], 1 << r) for r in range(size)]
    for column in range(size):
        pivot = next((r for r in range(column, size) if (rows[r][0] >> column) & 1), None)
        if pivot is None:
            return None
        rows[column], rows[pivot] = rows[pivot], rows[column]
        left, right = rows[column]
        for r in range(size):
            if r != column and (rows[r][0] >> column) & 1:
                rows[r] = (rows[r][0] ^ left, rows[r][1] ^ right)
    return tuple(right for _, right in rows)


def random_invertible(size: int) -> tuple[Matrix, Matrix]:
    """A uniformly random invertible size×size matrix and its inverse."""
    while True:
        matrix = tuple(secrets.randbits(size) for _ in range(size))
        inverted = inverse(matrix)
        if inverted is not None:
            return matrix, inverted


def block_diagonal(blocks: Sequence[Sequence[int]], block_size: int) -> Matrix:
    """One matrix acting on each block_size-bit slice of a vector with its own block (block 0: lowest bits)."""
    rows: list[int] = []
    for index, block in enumerate(blocks):
        rows += [mask << (index * block_size) for mask in block]
    return tuple(rows)


def columns(matrix: Sequence[int]) -> list[int]:
    """Column c as a mask: M·(1 << c)."""
    return [sum(((mask >> c) & 1) << r for r, mask in enumerate(matrix)) for c in range(len(matrix))]


def byte_tables(matrix: Sequence[int]) -> list[list[int]]:
    """For a 32×32 matrix, four 256-entry tables whose XOR over a word's bytes is M·x (byte 0: lowest)."""
    cols = columns(matrix)
    tables = []
    for k in range(4):
        table = [0] * 256
        for value in range(1, 256):
            low = (value & -value).bit_length() - 1
            table[value] = table[value & (value - 1)] ^ cols[8 * k + low]
        tables.append(table)
    return tables
