"""Tags on keys and data keys: what a valid set of tags is, and which tags a filter may name."""

from collections.abc import Sequence

from openkms.domain.errors import InvalidParameterValue, TagKeysDuplicated, TagsNotExisted
from openkms.domain.limits import TAG_KEY_MAX_CHARS, TAG_VALUE_MAX_CHARS
from openkms.domain.models import Tag
from openkms.store.base import KeyStore

TagFilters = tuple[tuple[str, tuple[str, ...]], ...]


def check_tags(tags: Sequence[Tag]) -> tuple[Tag, ...]:
    keys = [t.key for t in tags]
    if len(set(keys)) != len(keys):
        raise TagKeysDuplicated("Tags repeat a TagKey; each TagKey may appear once.")
    for tag in tags:
        if not 1 <= len(tag.key) <= TAG_KEY_MAX_CHARS:
            raise InvalidParameterValue(f"A TagKey is 1-{TAG_KEY_MAX_CHARS} characters; got {len(tag.key)}.")
        if len(tag.value) > TAG_VALUE_MAX_CHARS:
            raise InvalidParameterValue(f"A TagValue is at most {TAG_VALUE_MAX_CHARS} characters.")
    return tuple(tags)


def check_tag_filters(store: KeyStore, account: str, region: str, tag_filters: TagFilters) -> None:
    """A filter on a tag key that no key or data key of the account carries names a tag that does not exist."""
    if not tag_filters:
        return
    in_use = store.tag_keys_in_use(account, region)
    for tag_key, _ in tag_filters:
        if tag_key not in in_use:
            raise TagsNotExisted(f"No key or data key in this region carries the tag key {tag_key[:64]!r}.")
