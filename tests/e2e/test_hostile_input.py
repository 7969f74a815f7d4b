"""Whatever a client sends, the answer is a documented error or a success: never InternalError, never
a 5xx, and a refused request changes nothing."""

import hashlib
import json
import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openkms.api import schema
from tests.raw import raw_post, response_of
from tests.sdk import call
from tests.serverproc import Server

LONE_SURROGATE = "\ud800"
HUGE = (2**63, 2**64 - 1, 2**64, 2**63 - 1, -1, 10**30)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    server = Server(tmp_path_factory.mktemp("hostile") / "data").start()
    client = server.client()
    key_id = call(client, "CreateKey", Alias="fuzzed")["KeyId"]
    blob = call(client, "Encrypt", KeyId=key_id, Plaintext="aGk=")["CiphertextBlob"]
    hosted = call(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", IsHostedByKms=1, DataKeyName="fz")
    yield server, {"KeyId": key_id, "CiphertextBlob": blob, "DataKeyId": hosted["DataKeyId"]}
    server.stop()


def state_of(data_dir: Path) -> str:
    """A digest of every row the store keeps (the change feed aside)."""
    with sqlite3.connect(f"file:{data_dir / 'openkms.db'}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        digest = hashlib.sha256()
        for table in sorted(t for t in tables if t != "change_log"):
            for row in sorted(db.execute(f"SELECT * FROM {table}"), key=repr):
                digest.update(repr(row).encode())
        return digest.hexdigest()


def leaves(known: dict[str, str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from(HUGE),
        st.floats(allow_nan=False),
        st.text(max_size=40),
        st.sampled_from([*known.values(), LONE_SURROGATE, '{"a":"\\ud800"}', '{"a":"b"}', "AES_256", "aGk="]),
    )


def json_values(known: dict[str, str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves(known),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
        max_leaves=8,
    )


@st.composite
def json_requests(draw: st.DrawFn, known: dict[str, str]) -> tuple[str, dict[str, Any]]:
    action = draw(st.sampled_from(sorted(schema.ACTIONS)))
    names = [*schema.ACTIONS[action]["request"], "Bogus"]
    body = draw(st.dictionaries(st.sampled_from(names), json_values(known), max_size=5))
    return action, body


@st.composite
def form_requests(draw: st.DrawFn, known: dict[str, str]) -> tuple[str, list[tuple[str, str]]]:
    action = draw(st.sampled_from(sorted(schema.ACTIONS)))
    segment = st.one_of(st.sampled_from([*schema.ACTIONS[action]["request"], "0", "1", "TagKey"]), st.text(max_size=5))
    name = st.lists(segment, min_size=1, max_size=6).map(".".join) | st.just("a." * 2000 + "b")
    value = st.one_of(st.text(max_size=20), st.sampled_from([str(v) for v in HUGE]), leaves(known).map(str))
    return action, draw(st.lists(st.tuples(name, value), max_size=5))


def check(server: Server, action: str, body: bytes, content_type: str) -> None:
    before = state_of(server.data_dir)
    reply = raw_post(server, action, body, **{"content-type": content_type})
    document = response_of(reply)
    error = document.get("Error")
    if error is not None:
        assert error["Code"] != "InternalError", (action, body, error)
        assert state_of(server.data_dir) == before, (action, body, error)


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_arbitrary_json_parameters_get_documented_errors(target: tuple[Server, dict[str, str]]) -> None:
    server, known = target

    @SETTINGS
    @given(json_requests(known))
    def run(request: tuple[str, dict[str, Any]]) -> None:
        action, params = request
        check(server, action, json.dumps(params).encode(), "application/json")

    run()


def test_arbitrary_form_parameters_get_documented_errors(target: tuple[Server, dict[str, str]]) -> None:
    server, known = target

    @SETTINGS
    @given(form_requests(known))
    def run(request: tuple[str, list[tuple[str, str]]]) -> None:
        action, pairs = request
        body = urllib.parse.urlencode(pairs, errors="surrogatepass").encode()
        check(server, action, body, "application/x-www-form-urlencoded")

    run()


@pytest.mark.parametrize("action", ["Encrypt", "GenerateDataKey", "Decrypt"])
def test_an_encryption_context_with_a_lone_surrogate_is_a_parameter_error(
    target: tuple[Server, dict[str, str]], action: str
) -> None:
    server, known = target
    params = {"KeyId": known["KeyId"], "Plaintext": "aGk=", "KeySpec": "AES_256"}
    if action == "Decrypt":
        params = {"CiphertextBlob": known["CiphertextBlob"]}
    params = {k: v for k, v in params.items() if k in schema.ACTIONS[action]["request"]}
    body = json.dumps({**params, "EncryptionContext": '{"a":"\\ud800"}'}).encode()
    assert response_of(raw_post(server, action, body))["Error"]["Code"] == "InvalidParameter"


@pytest.mark.parametrize("action,field", [("ListKeys", "Offset"), ("ListDataKeyDetail", "DataKeyLen")])
def test_integers_past_64_bits_signed_are_a_parameter_error(
    target: tuple[Server, dict[str, str]], action: str, field: str
) -> None:
    server, _ = target
    for value in (2**63, 2**64 - 1):
        body = json.dumps({field: value}).encode()
        assert response_of(raw_post(server, action, body))["Error"]["Code"] == "InvalidParameter"


def test_a_form_name_nested_thousands_deep_is_a_parameter_error(target: tuple[Server, dict[str, str]]) -> None:
    server, _ = target
    body = urllib.parse.urlencode({"a." * 2000 + "b": "1"}).encode()
    reply = raw_post(server, "ListKeys", body, **{"content-type": "application/x-www-form-urlencoded"})
    assert response_of(reply)["Error"]["Code"] == "InvalidParameter"
