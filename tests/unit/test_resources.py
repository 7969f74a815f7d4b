"""Every action of the API says which keys it touches: authorization can never fall through to the
account for a request about a key."""

import base64
import os

import pytest

from openkms.api import schema
from openkms.api.aws.table import AWS_ACTIONS
from openkms.api.resources import RESOURCES, resources_of
from openkms.crypto import ciphertext, post_quantum
from openkms.crypto.ciphertext import CiphertextHeader
from openkms.domain.errors import Unauthorized
from openkms.domain.models import Caller

CALLER = Caller("100000000001", "ap-guangzhou")
PREFIX = "qcs::kms:ap-guangzhou:uin/100000000001:"
KEY = "11111111-1111-4111-8111-111111111111"
CMK = "22222222-2222-4222-8222-222222222222"
DATA_KEY = "33333333-3333-4333-8333-333333333333"
KEY_FIELDS = ("KeyId", "KeyIds", "CiphertextBlob", "DestinationKeyId")
DATA_KEY_FIELDS = ("DataKeyId", "DataKeyIds")


def _owner(caller: Caller, data_key_id: str) -> tuple[str, str] | None:
    return (CMK, '{"tenant":"acme"}') if data_key_id == DATA_KEY else None


def _blob(action: str) -> str:
    header = CiphertextHeader(KEY, 1)
    if action == "PostQuantumCryptoDecrypt":
        sealed = post_quantum.encrypt(os.urandom(64), header, b"x")
    else:
        sealed = ciphertext.encrypt(os.urandom(32), header, b"x", b"")
    return base64.b64encode(sealed).decode()


def _params(action: str) -> dict[str, object]:
    fields = schema.ACTIONS[action]["request"]
    values = {
        "KeyId": KEY,
        "KeyIds": [KEY],
        "DataKeyId": DATA_KEY,
        "DataKeyIds": [DATA_KEY],
        "CiphertextBlob": _blob(action),
        "DestinationKeyId": KEY,
    }
    return {name: value for name, value in values.items() if name in fields}


def test_every_action_of_the_api_and_of_aws_says_what_it_touches() -> None:
    policy_names = {action.policy for action in AWS_ACTIONS.values()}
    assert set(RESOURCES) == set(schema.ACTIONS) | policy_names


@pytest.mark.parametrize("action", sorted(schema.ACTIONS))
def test_an_action_about_a_key_is_authorized_against_that_key(action: str) -> None:
    params = _params(action)
    names = [resource.name for resource in resources_of(action, CALLER, params, _owner)]
    assert f"{PREFIX}*" not in names or not params, f"{action} names a key but is checked against the account"
    if any(field in params for field in KEY_FIELDS):
        assert f"{PREFIX}key/{KEY}" in names, f"{action} is not checked against the key it names"
    if any(field in params for field in DATA_KEY_FIELDS):
        assert f"{PREFIX}datakey/{DATA_KEY}" in names, f"{action} is not checked against its data key"
        assert f"{PREFIX}key/{CMK}" in names, f"{action} is not checked against the data key's CMK"


def test_a_hosted_data_key_carries_its_stored_context_to_both_resources() -> None:
    resources = resources_of("GetDataKeyPlaintext", CALLER, {"DataKeyId": DATA_KEY}, _owner)
    assert [dict(resource.context) for resource in resources] == [{"tenant": "acme"}, {"tenant": "acme"}]


def test_an_action_the_table_does_not_know_is_refused_not_treated_as_account_level() -> None:
    with pytest.raises(Unauthorized):
        resources_of("DescribeSomethingNew", CALLER, {"KeyId": KEY}, _owner)
