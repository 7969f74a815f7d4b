"""The state machines of keys, hosted data keys and white-box keys: the single place that says which operation is
allowed in which state.

Each rule lists the states an operation may start from and the state it leads to; every other state
is refused with the error named for it (or the rule's default refusal).
"""

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, TypeVar

from openkms.domain.errors import (
    DataKeyDisabled,
    DataKeyNotPendingDelete,
    DataKeyPendingDelete,
    DataKeyStateNotSupported,
    KeyArchived,
    KeyDisabled,
    KeyNotPendingDelete,
    KeyShouldBeDisabled,
    KeyStateNotSupported,
    KmsError,
    WhiteBoxKeyDisabled,
    WhiteBoxKeyShouldBeDisabled,
)
from openkms.domain.models import DataKeyState, KeyState, WhiteBoxState

S = TypeVar("S", KeyState, DataKeyState, WhiteBoxState)

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
    USE_KEY_PAIR = "use"
    """Sign, verify, decrypt with or read the public key of an asymmetric (or post-quantum) key, or
    compute a MAC with an HMAC key."""
    ENABLE = "enable"
    DISABLE = "disable"
    SCHEDULE_DELETION = "schedule deletion of"
    CANCEL_DELETION = "cancel deletion of"
    ARCHIVE = "archive"
    CANCEL_ARCHIVE = "cancel archiving of"
    UPDATE = "update"
    ROTATE = "rotate"
    IMPORT_MATERIAL = "import material into"
    DELETE_MATERIAL = "delete the imported material of"


class DataKeyOperation(enum.Enum):
    USE = "get the plaintext of"
    READ_CIPHERTEXT = "get the ciphertext of"
    ENABLE = "enable"
    DISABLE = "disable"
    SCHEDULE_DELETION = "schedule deletion of"
    CANCEL_DELETION = "cancel deletion of"
    UPDATE = "update"


class WhiteBoxOperation(enum.Enum):
    USE = "use"
    """EncryptByWhiteBox, DescribeWhiteBoxDecryptKey."""
    ENABLE = "enable"
    DISABLE = "disable"
    DELETE = "delete"
    UPDATE = "update"


@dataclass(frozen=True)
class Rule(Generic[S]):
    moves: Mapping[S, S]
    otherwise: type[KmsError] = KeyStateNotSupported
    refusals: Mapping[S, type[KmsError]] = field(default_factory=dict)


_IN_USE_REFUSALS = MappingProxyType({D: KeyDisabled, A: KeyArchived})

RULES: Mapping[Operation, Rule[KeyState]] = MappingProxyType(
    {
        Operation.ENCRYPT: Rule({E: E}, refusals=_IN_USE_REFUSALS),
        Operation.DECRYPT: Rule({E: E, A: A}, refusals=_IN_USE_REFUSALS),
        Operation.USE_KEY_PAIR: Rule({E: E}, refusals=_IN_USE_REFUSALS),
        Operation.ENABLE: Rule({E: E, D: E}),
        Operation.DISABLE: Rule({E: D, D: D, A: D}),
        # A key that never received imported material can be deleted too; cancelling returns it to
        # PendingImport (the service knows whether material exists).
        Operation.SCHEDULE_DELETION: Rule({D: PD, PI: PD}, otherwise=KeyShouldBeDisabled),
        Operation.CANCEL_DELETION: Rule({PD: D}, otherwise=KeyNotPendingDelete),
        Operation.ARCHIVE: Rule({E: A, A: A}),
        Operation.CANCEL_ARCHIVE: Rule({A: E, E: E}),
        Operation.UPDATE: Rule({E: E, D: D, A: A, PI: PI}),
        Operation.ROTATE: Rule({E: E}, refusals=_IN_USE_REFUSALS),
        Operation.IMPORT_MATERIAL: Rule({E: E, PI: E}),
        Operation.DELETE_MATERIAL: Rule({E: PI, D: PI, A: PI, PI: PI}),
    }
)

DE, DD, DPD = DataKeyState.ENABLED, DataKeyState.DISABLED, DataKeyState.PENDING_DELETE
_DATA_KEY_PENDING = MappingProxyType({DPD: DataKeyPendingDelete})

DATA_KEY_RULES: Mapping[DataKeyOperation, Rule[DataKeyState]] = MappingProxyType(
    {
        DataKeyOperation.USE: Rule(
            {DE: DE}, DataKeyStateNotSupported, {DD: DataKeyDisabled, DPD: DataKeyPendingDelete}
        ),
        DataKeyOperation.READ_CIPHERTEXT: Rule({DE: DE, DD: DD}, DataKeyStateNotSupported, _DATA_KEY_PENDING),
        DataKeyOperation.ENABLE: Rule({DE: DE, DD: DE}, DataKeyStateNotSupported),
        DataKeyOperation.DISABLE: Rule({DE: DD, DD: DD}, DataKeyStateNotSupported),
        DataKeyOperation.SCHEDULE_DELETION: Rule({DE: DPD, DD: DPD}, DataKeyStateNotSupported),
        DataKeyOperation.CANCEL_DELETION: Rule({DPD: DD}, DataKeyNotPendingDelete),
        DataKeyOperation.UPDATE: Rule({DE: DE, DD: DD}, DataKeyStateNotSupported),
    }
)

WE, WD = WhiteBoxState.ENABLED, WhiteBoxState.DISABLED

WHITEBOX_RULES: Mapping[WhiteBoxOperation, Rule[WhiteBoxState]] = MappingProxyType(
    {
        WhiteBoxOperation.USE: Rule({WE: WE}, WhiteBoxKeyDisabled),
        WhiteBoxOperation.ENABLE: Rule({WE: WE, WD: WE}),
        WhiteBoxOperation.DISABLE: Rule({WE: WD, WD: WD}),
        WhiteBoxOperation.DELETE: Rule({WD: WD}, WhiteBoxKeyShouldBeDisabled),
        WhiteBoxOperation.UPDATE: Rule({WE: WE, WD: WD}),
    }
)

_HINTS: Mapping[KeyState, str] = {
    D: " Enable it with EnableKey first.",
    A: " Archived keys only decrypt; CancelKeyArchive makes it encrypt again.",
    PD: " CancelKeyDeletion returns it to Disabled.",
    PI: " Import its key material first (GetParametersForImport, ImportKeyMaterial).",
}


def _next(rule: Rule[S], action: str, what: str, state: S, hint: str = "") -> S:
    if state in rule.moves:
        return rule.moves[state]
    refusal = rule.refusals.get(state, rule.otherwise)
    raise refusal(f"Cannot {action} {what}: it is {state.value}.{hint}")


def next_state(operation: Operation, key_id: str, state: KeyState) -> KeyState:
    """The state `operation` leads to from `state`, or the refusal for doing it there."""
    return _next(RULES[operation], operation.value, f"key {key_id}", state, _HINTS.get(state, ""))


def next_data_key_state(operation: DataKeyOperation, data_key_id: str, state: DataKeyState) -> DataKeyState:
    return _next(DATA_KEY_RULES[operation], operation.value, f"data key {data_key_id}", state)


def next_whitebox_state(operation: WhiteBoxOperation, key_id: str, state: WhiteBoxState) -> WhiteBoxState:
    hint = " Enable it with EnableWhiteBoxKey first." if state == WD and operation is WhiteBoxOperation.USE else ""
    if operation is WhiteBoxOperation.DELETE and state == WE:
        hint = " Disable it with DisableWhiteBoxKey first."
    return _next(WHITEBOX_RULES[operation], operation.value, f"white-box key {key_id}", state, hint)
