"""Checks of caller-supplied values against the API's limits (openkms.domain.limits)."""

import re
from collections.abc import Callable, Sequence

from openkms.domain.errors import InvalidAlias, InvalidKeyId, InvalidParameterValue, KmsError
from openkms.domain.limits import ALIAS_PATTERN, BATCH_MAX_KEY_IDS, DESCRIPTION_MAX_BYTES, RESERVED_ALIAS_PREFIX

UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def check_key_id(key_id: str) -> str:
    if not UUID_PATTERN.fullmatch(key_id):
        raise InvalidKeyId(f"KeyId {key_id[:80]!r} is not a key id; key ids are lowercase UUIDs.")
    return key_id


def check_alias(alias: str) -> str:
    if not ALIAS_PATTERN.fullmatch(alias):
        raise InvalidAlias(
            f"Alias must be 1-60 letters, digits, '-' or '_', starting with a letter or digit; got {alias[:80]!r}."
        )
    if alias.startswith(RESERVED_ALIAS_PREFIX):
        raise InvalidAlias(f"Aliases starting with {RESERVED_ALIAS_PREFIX!r} are reserved for cloud products.")
    return alias


def check_description(description: str, limit: int = DESCRIPTION_MAX_BYTES) -> str:
    size = len(description.encode())
    if size > limit:
        raise InvalidParameterValue(f"Description is {size} bytes in UTF-8; at most {limit} are allowed.")
    return description


def check_batch(
    ids: Sequence[str],
    field: str,
    check_one: Callable[[str], str],
    duplicated: type[KmsError],
    most: int = BATCH_MAX_KEY_IDS,
) -> Sequence[str]:
    """A batch of ids (KeyIds, DataKeyIds): 1 to `most` well-formed ids, each named once."""
    if not ids:
        raise InvalidParameterValue(f"{field} must name at least one id.")
    if len(ids) > most:
        raise InvalidParameterValue(f"{field} names {len(ids)} ids; at most {most} are allowed.")
    if len(set(ids)) != len(ids):
        raise duplicated(f"{field} names the same id more than once.")
    for one in ids:
        check_one(one)
    return ids
