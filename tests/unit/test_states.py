"""The key state machine, state by state: what each operation does and how it refuses."""

import pytest

from openkms.domain import errors
from openkms.domain.models import DataKeyState, KeyState
from openkms.service.states import DataKeyOperation, Operation, next_data_key_state, next_state

E, D, PD, PI, A = (
    KeyState.ENABLED,
    KeyState.DISABLED,
    KeyState.PENDING_DELETE,
    KeyState.PENDING_IMPORT,
    KeyState.ARCHIVED,
)

EXPECTED: dict[Operation, dict[KeyState, KeyState | type[errors.KmsError]]] = {
    Operation.ENCRYPT: {
        E: E,
        D: errors.KeyDisabled,
        PD: errors.KeyStateNotSupported,
        PI: errors.KeyStateNotSupported,
        A: errors.KeyArchived,
    },
    Operation.DECRYPT: {
        E: E,
        D: errors.KeyDisabled,
        PD: errors.KeyStateNotSupported,
        PI: errors.KeyStateNotSupported,
        A: A,
    },
    Operation.USE_KEY_PAIR: {
        E: E,
        D: errors.KeyDisabled,
        PD: errors.KeyStateNotSupported,
        PI: errors.KeyStateNotSupported,
        A: errors.KeyArchived,
    },
    Operation.ENABLE: {
        E: E,
        D: E,
        PD: errors.KeyStateNotSupported,
        PI: errors.KeyStateNotSupported,
        A: errors.KeyStateNotSupported,
    },
    Operation.DISABLE: {E: D, D: D, PD: errors.KeyStateNotSupported, PI: errors.KeyStateNotSupported, A: D},
    Operation.SCHEDULE_DELETION: {
        E: errors.KeyShouldBeDisabled,
        D: PD,
        PD: errors.KeyShouldBeDisabled,
        PI: PD,
        A: errors.KeyShouldBeDisabled,
    },
    Operation.CANCEL_DELETION: {
        E: errors.KeyNotPendingDelete,
        D: errors.KeyNotPendingDelete,
        PD: D,
        PI: errors.KeyNotPendingDelete,
        A: errors.KeyNotPendingDelete,
    },
    Operation.ARCHIVE: {
        E: A,
        D: errors.KeyStateNotSupported,
        PD: errors.KeyStateNotSupported,
        PI: errors.KeyStateNotSupported,
        A: A,
    },
    Operation.CANCEL_ARCHIVE: {
        E: E,
        D: errors.KeyStateNotSupported,
        PD: errors.KeyStateNotSupported,
        PI: errors.KeyStateNotSupported,
        A: E,
    },
    Operation.UPDATE: {E: E, D: D, PD: errors.KeyStateNotSupported, PI: PI, A: A},
    Operation.ROTATE: {
        E: E,
        D: errors.KeyDisabled,
        PD: errors.KeyStateNotSupported,
        PI: errors.KeyStateNotSupported,
        A: errors.KeyArchived,
    },
    Operation.IMPORT_MATERIAL: {
        E: E,
        D: errors.KeyStateNotSupported,
        PD: errors.KeyStateNotSupported,
        PI: E,
        A: errors.KeyStateNotSupported,
    },
    Operation.DELETE_MATERIAL: {E: PI, D: PI, PD: errors.KeyStateNotSupported, PI: PI, A: PI},
}


@pytest.mark.parametrize("operation", list(Operation))
@pytest.mark.parametrize("state", list(KeyState))
def test_transition(operation: Operation, state: KeyState) -> None:
    expected = EXPECTED[operation][state]
    if isinstance(expected, KeyState):
        assert next_state(operation, "k", state) == expected
    else:
        with pytest.raises(expected) as refused:
            next_state(operation, "k", state)
        assert type(refused.value) is expected
        assert state.value in str(refused.value)


DE, DD, DPD = DataKeyState.ENABLED, DataKeyState.DISABLED, DataKeyState.PENDING_DELETE
DATA_KEY_EXPECTED: dict[DataKeyOperation, dict[DataKeyState, DataKeyState | type[errors.KmsError]]] = {
    DataKeyOperation.USE: {DE: DE, DD: errors.DataKeyDisabled, DPD: errors.DataKeyPendingDelete},
    DataKeyOperation.READ_CIPHERTEXT: {DE: DE, DD: DD, DPD: errors.DataKeyPendingDelete},
    DataKeyOperation.ENABLE: {DE: DE, DD: DE, DPD: errors.DataKeyStateNotSupported},
    DataKeyOperation.DISABLE: {DE: DD, DD: DD, DPD: errors.DataKeyStateNotSupported},
    DataKeyOperation.SCHEDULE_DELETION: {DE: DPD, DD: DPD, DPD: errors.DataKeyStateNotSupported},
    DataKeyOperation.CANCEL_DELETION: {DE: errors.DataKeyNotPendingDelete, DD: errors.DataKeyNotPendingDelete, DPD: DD},
    DataKeyOperation.UPDATE: {DE: DE, DD: DD, DPD: errors.DataKeyStateNotSupported},
}


@pytest.mark.parametrize("operation", list(DataKeyOperation))
@pytest.mark.parametrize("state", list(DataKeyState))
def test_data_key_transition(operation: DataKeyOperation, state: DataKeyState) -> None:
    expected = DATA_KEY_EXPECTED[operation][state]
    if isinstance(expected, DataKeyState):
        assert next_data_key_state(operation, "d", state) == expected
    else:
        with pytest.raises(expected) as refused:
            next_data_key_state(operation, "d", state)
        assert type(refused.value) is expected
        assert "EnableKey" not in str(refused.value), "key hints do not leak into data key messages"
