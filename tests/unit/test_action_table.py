"""The one table of served actions names only actions of the API, and says where each runs."""

from openkms.api import schema
from openkms.api.actions.table import ACTIONS, unless_hosted


def test_every_action_of_the_api_is_served_and_nothing_else() -> None:
    assert set(ACTIONS) == set(schema.ACTIONS)
    assert len(schema.SDK_ACTIONS) == 69
    assert set(schema.EXTENSION_ACTIONS) == {"ListAuditEvents", "ListKeyVersions", "ListKeyTags"}


def test_generate_data_key_leaves_the_loop_only_to_store_the_data_key() -> None:
    assert ACTIONS["GenerateDataKey"].runs_on_loop is unless_hosted
    assert unless_hosted({"KeyId": "k"}) and not unless_hosted({"KeyId": "k", "IsHostedByKms": 1})


def test_writes_never_run_on_the_event_loop() -> None:
    writes = ("Create", "Update", "Enable", "Disable", "Schedule", "Cancel", "Import", "Delete", "Rotate", "Archive")
    on_loop = {name for name, action in ACTIONS.items() if action.runs_on_loop({})}
    assert {name for name in on_loop if name.startswith(writes)} == set()
