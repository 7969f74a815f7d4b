"""The key state machine, state by state: what each operation does and how it refuses."""

import pytest

from openkms import errors
from openkms.models import KeyState
from openkms.service.states import Operation, next_state

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
        PI: errors.KeyShouldBeDisabled,
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
