"""The root-of-trust contract, for the master key file and for a PKCS#11 token (SoftHSM2)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from openkms.trust.base import RootOfTrust, UnwrapFailed
from openkms.trust.keyfile import MasterKeyFile
from tests.softhsm import make_token


@pytest.fixture(params=["keyfile", "pkcs11"])
def open_trust(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    if request.param == "keyfile":
        yield lambda: MasterKeyFile.open_or_create(tmp_path / "master.key")
        return
    from openkms.trust.pkcs11 import Pkcs11RootOfTrust

    token = make_token(tmp_path)
    for name, value in token.env.items():
        monkeypatch.setenv(name, value)
    opened: list[Pkcs11RootOfTrust] = []

    def factory() -> Pkcs11RootOfTrust:
        trust = Pkcs11RootOfTrust(token.module, token.label, token.pin_file.read_text().strip())
        opened.append(trust)
        return trust

    yield factory
    for trust in opened:
        trust.close()


def test_wrap_round_trip_bound_to_its_binding(open_trust: object) -> None:
    trust: RootOfTrust = open_trust()  # type: ignore[operator]
    material = os.urandom(32)
    wrapped = trust.wrap(material, b"key-1")
    assert material not in wrapped
    assert trust.unwrap(wrapped, b"key-1") == material
    assert trust.wrap(material, b"key-1") != wrapped, "every wrap has a fresh nonce"
    with pytest.raises(UnwrapFailed):
        trust.unwrap(wrapped, b"key-2")
    tampered = bytearray(wrapped)
    tampered[-1] ^= 1
    with pytest.raises(UnwrapFailed):
        trust.unwrap(bytes(tampered), b"key-1")
    with pytest.raises(UnwrapFailed):
        trust.unwrap(b"\x07" + wrapped[1:], b"key-1")


def test_the_same_master_key_after_reopening(open_trust: object) -> None:
    first: RootOfTrust = open_trust()  # type: ignore[operator]
    wrapped = first.wrap(b"persistent material", b"k")
    second: RootOfTrust = open_trust()  # type: ignore[operator]
    assert second.key_id == first.key_id
    assert second.unwrap(wrapped, b"k") == b"persistent material"


def test_the_hsm_master_key_never_leaves_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openkms.trust.pkcs11 import Pkcs11RootOfTrust

    token = make_token(tmp_path)
    for name, value in token.env.items():
        monkeypatch.setenv(name, value)
    trust = Pkcs11RootOfTrust(token.module, token.label, "4321")
    try:
        assert trust.extractable() is False
        wrapped = trust.wrap(b"material", b"b")
        trust._session.close()  # the session is lost (HSM restarted, token re-inserted)
        assert trust.unwrap(wrapped, b"b") == b"material", "a lost session is reopened and the call retried"
    finally:
        trust.close()
