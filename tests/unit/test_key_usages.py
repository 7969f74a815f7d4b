"""The one table of key usages: every usage the API names is in it, and what it says holds."""

from openkms.api.actions.service import ASYMMETRIC_ALGORITHMS, SIGN_VERIFY_ALGORITHMS
from openkms.crypto.usages import USAGES, Family, Purpose
from openkms.domain.models import KeyUsage


def test_every_key_usage_has_one_row() -> None:
    assert set(USAGES) == set(KeyUsage)


def test_every_key_pair_generates_a_secret_whose_public_key_it_can_show() -> None:
    for usage, spec in USAGES.items():
        secret = spec.generate()
        if spec.key_pair:
            assert spec.public_key is not None, usage
            der, pem = spec.public_key(secret)
            assert der and pem.startswith("-----BEGIN PUBLIC KEY-----"), usage
        else:
            assert spec.public_key is None and len(secret) == 32, usage


def test_list_algorithms_reports_each_key_pair_usage_under_its_purpose() -> None:
    listed = {row["KeyUsage"]: row["Algorithm"] for row in ASYMMETRIC_ALGORITHMS + SIGN_VERIFY_ALGORITHMS}
    assert listed == {usage.value: spec.algorithm for usage, spec in USAGES.items() if spec.key_pair}
    assert {row["KeyUsage"] for row in SIGN_VERIFY_ALGORITHMS} == {
        usage.value for usage, spec in USAGES.items() if spec.purpose is Purpose.SIGN_VERIFY
    }


def test_national_standard_usages_are_the_sm2_ones() -> None:
    assert {usage for usage, spec in USAGES.items() if spec.national} == {
        KeyUsage.ASYMMETRIC_DECRYPT_SM2,
        KeyUsage.ASYMMETRIC_SIGN_VERIFY_SM2,
    }
    assert [usage for usage, spec in USAGES.items() if spec.family is Family.SYMMETRIC] == [KeyUsage.ENCRYPT_DECRYPT]
