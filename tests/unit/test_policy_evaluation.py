"""CAM-style policies evaluated in process: what a restricted credential may do (the end-to-end suite,
tests/e2e/test_authorization.py, is the contract; this checks the rules in milliseconds)."""

import json

import pytest

from openkms.auth.policy import PolicySet, Resource, parse_policy
from openkms.domain.errors import InvalidParameterValue

KEY = "qcs::kms:ap-guangzhou:uin/100000000001:key/k1"
OTHER = "qcs::kms:ap-guangzhou:uin/100000000001:key/k2"


def policies(*statements: dict[str, object]) -> PolicySet:
    document = json.dumps({"version": "2.0", "statement": list(statements)})
    return PolicySet((parse_policy("p", document),))


def resource(name: str = KEY, **context: str) -> Resource:
    return Resource(name, context)


def test_no_policies_is_the_accounts_administrator() -> None:
    assert PolicySet(()).denial("kms:DisableKey", [resource()]) is None


def test_only_what_an_allow_names_is_allowed() -> None:
    allowed = policies({"effect": "allow", "action": "kms:Describe*", "resource": KEY})
    assert allowed.denial("kms:DescribeKey", [resource()]) is None
    assert allowed.denial("kms:describekey", [resource()]) is None, "actions match case-insensitively"
    assert "no policy allows" in str(allowed.denial("kms:DisableKey", [resource()]))
    assert "no policy allows" in str(allowed.denial("kms:DescribeKey", [resource(OTHER)]))


def test_an_explicit_deny_wins_and_a_batch_is_refused_whole() -> None:
    mixed = policies(
        {"effect": "allow", "action": "kms:*", "resource": "*"},
        {"effect": "deny", "action": "kms:Disable*", "resource": KEY},
    )
    assert mixed.denial("kms:DisableKey", [resource(OTHER)]) is None
    assert "denies" in str(mixed.denial("kms:DisableKeys", [resource(OTHER), resource(KEY)]))


@pytest.mark.parametrize(
    ("operator", "values", "context", "allowed"),
    [
        ("string_equal", "acme", {"tenant": "acme"}, True),
        ("string_equal", "acme", {"tenant": "evil"}, False),
        ("string_equal", "acme", {}, False),
        ("string_not_equal", "acme", {"tenant": "evil"}, True),
        ("string_not_equal", "acme", {}, False),
        ("string_like", "ac*", {"tenant": "acme"}, True),
        ("string_not_like", "ac*", {"tenant": "acme"}, False),
    ],
)
def test_conditions_on_the_encryption_context(
    operator: str, values: str, context: dict[str, str], allowed: bool
) -> None:
    conditioned = policies(
        {
            "effect": "allow",
            "action": "kms:Decrypt",
            "resource": "*",
            "condition": {operator: {"kms:EncryptionContext/tenant": values}},
        }
    )
    assert (conditioned.denial("kms:Decrypt", [resource(**context)]) is None) is allowed


def test_a_malformed_document_is_refused() -> None:
    with pytest.raises(InvalidParameterValue):
        parse_policy("bad", json.dumps({"version": "2.0", "statement": [{"effect": "perhaps"}]}))
