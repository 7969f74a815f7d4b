"""Credential lookups as the API makes them."""

from openkms.domain.models import Credential
from openkms.server.runtime import Runtime


def test_an_unknown_secret_id_is_remembered_briefly_until_a_credential_change_is_heard(runtime: Runtime) -> None:
    """A flood of made-up SecretIds reads the store once each, not once a request; a credential made
    meanwhile (by any process) is usable as soon as its change is heard, which is at the next look."""
    assert runtime.credentials.access("AKIDlater") is None
    assert runtime.credentials.access("AKIDlater") is None
    assert "AKIDlater" in runtime.credentials._unknown, "remembered while nothing changes"
    wrapped = runtime.trust.wrap(b"0123456789abcdef", b"unused")
    runtime.store.insert_credential(Credential("AKIDlater", "100000000001", 0), wrapped, b"seal")
    runtime.feed.sync()
    assert runtime.credentials._unknown == {}
