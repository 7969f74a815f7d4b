"""Flattened form parameters and type checks against the SDK's own field list."""

import pytest

from openkms.api.errors import ApiError
from openkms.api.schema import ACTIONS, SDK_ACTIONS, check_params, unflatten


def test_all_69_actions_are_described() -> None:
    assert len(SDK_ACTIONS) == 69 and set(SDK_ACTIONS) <= set(ACTIONS)


def test_unflatten_lists_and_objects() -> None:
    pairs = [
        ("Alias", "a"),
        ("Tags.0.TagKey", "env"),
        ("Tags.0.TagValue", "dev"),
        ("Tags.1.TagKey", "t"),
        ("Tags.1.TagValue", "v"),
    ]
    assert unflatten(pairs) == {
        "Alias": "a",
        "Tags": [{"TagKey": "env", "TagValue": "dev"}, {"TagKey": "t", "TagValue": "v"}],
    }
    assert unflatten([("KeyIds.1", "b"), ("KeyIds.0", "a")]) == {"KeyIds": ["a", "b"]}


@pytest.mark.parametrize(
    "pairs",
    [
        [("KeyIds.0", "a"), ("KeyIds.2", "c")],
        [("KeyIds.00", "a")],
        [("KeyIds", "a"), ("KeyIds.0", "b")],
        [("KeyId", "a"), ("KeyId", "b")],
        [("0", "a")],
    ],
)
def test_malformed_flattening(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(ApiError):
        unflatten(pairs)


def test_form_values_become_typed() -> None:
    assert check_params("ListKeys", {"Offset": "5", "Limit": "20"}, form=True) == {"Offset": 5, "Limit": 20}
    with pytest.raises(ApiError) as refused:
        check_params("ListKeys", {"Offset": "five"}, form=True)
    assert refused.value.code == "InvalidParameter"


def test_json_values_must_already_be_typed() -> None:
    with pytest.raises(ApiError) as refused:
        check_params("ListKeys", {"Offset": "5"}, form=False)
    assert refused.value.code == "InvalidParameter"


def test_nested_structures_are_checked() -> None:
    with pytest.raises(ApiError) as refused:
        check_params("CreateKey", {"Alias": "a", "Tags": [{"TagKey": "k"}]}, form=False)
    assert refused.value.code == "MissingParameter"
    with pytest.raises(ApiError) as refused:
        check_params("CreateKey", {"Alias": "a", "Tags": [{"TagKey": "k", "TagValue": "v", "Other": "x"}]}, form=False)
    assert refused.value.code == "UnknownParameter"
