"""Key ids become the 16 bytes that ciphertext headers and wrapping bindings carry: exactly what
uuid.UUID gives, for every form it accepts, and the same refusals."""

import uuid

import pytest

from openkms.domain.ids import uuid_bytes


def test_canonical_and_other_forms_give_the_uuid_bytes() -> None:
    for _ in range(1000):
        key = uuid.uuid4()
        for text in (str(key), str(key).upper(), key.hex, "{" + str(key) + "}", "urn:uuid:" + str(key)):
            assert uuid_bytes(text) == key.bytes


@pytest.mark.parametrize(
    "text", ["", "not-a-key", "x" * 36, "0123456 -0123-0123-0123-012345678901", "01234567-0123-0123-0123-01234567890"]
)
def test_what_is_not_a_uuid_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        uuid_bytes(text)
