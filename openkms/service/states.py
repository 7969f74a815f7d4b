"""The key state machine: the single place that says which operation is allowed in which state.

Each rule lists the states an operation may start from and the state it leads to; every other state
is refused with the error named for it (or the rule's default refusal).
"""

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from openkms.errors import (
    KeyArchived,
    KeyDisabled,
    KeyNotPendingDelete,
    KeyShouldBeDisabled,
    KeyStateNotSupported,
    KmsError,
)
from openkms.models import KeyState

E, D, PD, PI, A = (
    KeyState.ENABLED,
    KeyState.DISABLED,
    KeyState.PENDING_DELETE,
    KeyState.PENDING_IMPORT,
    KeyState.ARCHIVED,
)


class Operation(enum.Enum):
    ENCRYPT = "encrypt with"
    DECRYPT = "decrypt with"
    ENABLE = "enable"
    DISABLE = "disable"
    SCHEDULE_DELETION = "schedule deletion of"
    CANCEL_DELETION = "cancel deletion of"
    ARCHIVE = "archive"
    CANCEL_ARCHIVE = "cancel archiving of"
    UPDATE = "update"


@dataclass(frozen=True)
class Rule:
    moves: Mapping[KeyState, KeyState]
    otherwise: type[KmsError] = KeyStateNotSupported
    refusals: Mapping[KeyState, type[KmsError]] = field(default_factory=dict)


_IN_USE_REFUSALS = MappingProxyType({D: KeyDisabled, A: KeyArchived})

RULES: Mapping[Operation, Rule] = MappingProxyType(
    {
        Operation.ENCRYPT: Rule({E: E}, refusals=_IN_USE_REFUSALS),
        Operation.DECRYPT: Rule({E: E, A: A}, refusals=_IN_USE_REFUSALS),
        Operation.ENABLE: Rule({E: E, D: E}),
        Operation.DISABLE: Rule({E: D, D: D, A: D}),
        Operation.SCHEDULE_DELETION: Rule({D: PD}, otherwise=KeyShouldBeDisabled),
        Operation.CANCEL_DELETION: Rule({PD: D}, otherwise=KeyNotPendingDelete),
        Operation.ARCHIVE: Rule({E: A, A: A}),
        Operation.CANCEL_ARCHIVE: Rule({A: E, E: E}),
        Operation.UPDATE: Rule({E: E, D: D, A: A, PI: PI}),
    }
)

_HINTS: Mapping[KeyState, str] = {
    D: " Enable it with EnableKey first.",
    A: " Archived keys only decrypt; CancelKeyArchive makes it encrypt again.",
    PD: " CancelKeyDeletion returns it to Disabled.",
}


def next_state(operation: Operation, key_id: str, state: KeyState) -> KeyState:
    """The state `operation` leads to from `state`, or the refusal for doing it there."""
    rule = RULES[operation]
    if state in rule.moves:
        return rule.moves[state]
    refusal = rule.refusals.get(state, rule.otherwise)
    raise refusal(f"Cannot {operation.value} key {key_id}: it is {state.value}.{_HINTS.get(state, '')}")
