"""Imported material honours ValidTo and import tokens expire (injected clock), across restarts."""

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from openkms.config.values import Config
from openkms.domain.clock import FixedClock
from openkms.domain.errors import ImportTokenExpired, KeyStateNotSupported
from openkms.domain.limits import IMPORT_PARAMETERS_VALID_SECONDS
from openkms.domain.models import Caller, KeyState
from openkms.server.runtime import Runtime, build_runtime

CALLER = Caller("100000000001", "ap-guangzhou")
OAEP = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)


def import_into(runtime: Runtime, key_id: str, material: bytes, valid_to: int = 0) -> None:
    parameters = runtime.imports.parameters(CALLER, key_id, "RSAES_OAEP_SHA_256", "RSA_2048")
    public = serialization.load_der_public_key(parameters.public_key_der)
    assert isinstance(public, rsa.RSAPublicKey)
    runtime.imports.import_material(CALLER, key_id, public.encrypt(material, OAEP), parameters.token, valid_to)


def test_material_expires_at_valid_to(runtime: Runtime, clock: FixedClock) -> None:
    key = runtime.keys.create(CALLER, "expiring", key_type=2)
    material = os.urandom(32)
    import_into(runtime, key.key_id, material, valid_to=int(clock.now()) + 100)
    blob = runtime.crypto.encrypt(CALLER, key.key_id, b"short-lived").blob

    clock.advance(99)
    assert runtime.crypto.decrypt(CALLER, blob).plaintext == b"short-lived"
    clock.advance(1)
    with pytest.raises(KeyStateNotSupported):
        runtime.crypto.decrypt(CALLER, blob)
    assert runtime.keys.describe(CALLER, key.key_id).state == KeyState.PENDING_IMPORT
    assert runtime.store.get_wrapped_version(key.key_id, 1) is None, "expired material is destroyed"

    import_into(runtime, key.key_id, material)
    assert runtime.crypto.decrypt(CALLER, blob).plaintext == b"short-lived"


def test_the_sweep_expires_material_after_a_restart(tmp_path: Path, clock: FixedClock) -> None:
    config = Config(data_dir=tmp_path / "data")
    first = build_runtime(config, clock)
    key = first.keys.create(CALLER, "expiring", key_type=2)
    import_into(first, key.key_id, os.urandom(32), valid_to=int(clock.now()) + 60)
    first.close()

    clock.advance(61)
    second = build_runtime(config, clock)
    try:
        assert second.maintenance.run_once() == {"keys whose imported material expired": 1}
        assert second.store.get_key(key.key_id).state == KeyState.PENDING_IMPORT  # type: ignore[union-attr]
        assert second.store.get_wrapped_version(key.key_id, 1) is None
    finally:
        second.close()


def test_import_tokens_expire_after_24_hours(runtime: Runtime, clock: FixedClock) -> None:
    key = runtime.keys.create(CALLER, "late", key_type=2)
    parameters = runtime.imports.parameters(CALLER, key.key_id, "RSAES_OAEP_SHA_256", "RSA_2048")
    public = serialization.load_der_public_key(parameters.public_key_der)
    assert isinstance(public, rsa.RSAPublicKey)
    clock.advance(IMPORT_PARAMETERS_VALID_SECONDS + 1)
    with pytest.raises(ImportTokenExpired):
        runtime.imports.import_material(CALLER, key.key_id, public.encrypt(os.urandom(32), OAEP), parameters.token, 0)
