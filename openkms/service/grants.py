"""Grants: standing permissions for one principal to use one key for some operations, as AWS KMS has
them (CreateGrant, ListGrants, RetireGrant, RevokeGrant, ListRetirableGrants).

A grant adds to what a credential's policies allow and never overrides a policy's explicit deny. It
takes effect the moment CreateGrant returns (there is no eventual consistency to bridge here, so grant
tokens are accepted and add nothing). A principal is a credential of the key's own account, named by
its SecretId, as `arn:aws:iam::<account>:user/<SecretId>`, or as `arn:aws:iam::<account>:root` (every
credential of the account): OpenKMS keys are used by their own account only.
"""

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openkms.crypto.usages import USAGES
from openkms.domain.clock import Clock
from openkms.domain.errors import (
    GrantNotFound,
    InvalidParameterValue,
    KeyStateNotSupported,
    MissingParameter,
    UnsupportedOperation,
)
from openkms.domain.limits import (
    GRANT_CONTEXT_OPERATIONS,
    GRANT_NAME_PATTERN,
    GRANT_OPERATIONS,
    GRANT_PRINCIPAL_MAX,
    GRANTS_PER_KEY,
)
from openkms.domain.models import Caller, Grant, KeyState
from openkms.service.keyring import KeyRing
from openkms.store.base import KeyStore

SECRET_ID = re.compile(r"[A-Za-z0-9]{1,128}")
ARN = re.compile(r"arn:aws:iam::(?P<account>[^:]*):(?P<name>root|user/[A-Za-z0-9]{1,128})")
GRANT_ID_BYTES = 32


@dataclass(frozen=True)
class GrantTerms:
    """What a new grant would allow: a grant that lets its grantee create grants lets it give no more."""

    operations: tuple[str, ...]
    context_subset: Mapping[str, str] | None = None
    context_equals: Mapping[str, str] | None = None


@dataclass(frozen=True)
class GrantUse:
    """What a request asks of a grant, beyond the operation and key: the grant it retires, the terms
    of the grant it creates."""

    retiring: str | None = None
    creating: GrantTerms | None = None


def principal_names(account: str, secret_id: str) -> tuple[str, ...]:
    """Every name by which a grant may name the credential."""
    return (secret_id, f"arn:aws:iam::{account}:user/{secret_id}", f"arn:aws:iam::{account}:root")


def check_principal(account: str, value: object, field: str, required: bool = True) -> str:
    if value is None or value == "":
        if required:
            raise MissingParameter(f"{field} is required.")
        return ""
    if not isinstance(value, str) or len(value) > GRANT_PRINCIPAL_MAX:
        raise InvalidParameterValue(f"{field} is text of at most {GRANT_PRINCIPAL_MAX} characters.")
    if SECRET_ID.fullmatch(value):
        return value
    found = ARN.fullmatch(value)
    if found is None:
        raise InvalidParameterValue(
            f"{field} must name a credential: its SecretId, arn:aws:iam::<account>:user/<SecretId>, or "
            "arn:aws:iam::<account>:root for every credential of the account."
        )
    if found["account"] != account:
        raise UnsupportedOperation(f"{field} names another account: OpenKMS keys are used by their own account only.")
    return value


def check_terms(operations: object, context_subset: object = None, context_equals: object = None) -> GrantTerms:
    if not isinstance(operations, list) or not operations:
        raise MissingParameter("Operations is required: a list of grant operations.")
    unknown = [op for op in operations if op not in GRANT_OPERATIONS]
    if unknown:
        raise InvalidParameterValue(
            f"Operations: {str(unknown[0])[:64]!r} is not one of {', '.join(GRANT_OPERATIONS)}."
        )
    subset, equals = (
        _context(context_subset, "EncryptionContextSubset"),
        _context(context_equals, "EncryptionContextEquals"),
    )
    if subset is not None and equals is not None:
        raise InvalidParameterValue("Constraints take EncryptionContextSubset or EncryptionContextEquals, not both.")
    if (subset is not None or equals is not None) and not set(operations) <= GRANT_CONTEXT_OPERATIONS:
        raise InvalidParameterValue(
            "An EncryptionContext constraint applies only to operations that take a context; "
            f"{', '.join(sorted(set(operations) - GRANT_CONTEXT_OPERATIONS))} take none."
        )
    return GrantTerms(tuple(dict.fromkeys(operations)), subset, equals)


def _context(value: object, field: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidParameterValue(f"{field} must be a map of strings to strings.")
    return dict(value)


def _context_fits(grant: Grant, context: Mapping[str, str]) -> bool:
    if grant.context_equals is not None and dict(context) != dict(grant.context_equals):
        return False
    subset = grant.context_subset or {}
    return all(context.get(k) == v for k, v in subset.items())


def _within(terms: GrantTerms, grant: Grant) -> bool:
    """Whether `terms` give no more than `grant` does: its operations at most, its constraints at least."""
    if not set(terms.operations) <= set(grant.operations):
        return False
    if grant.context_equals is not None:
        return terms.context_equals is not None and dict(terms.context_equals) == dict(grant.context_equals)
    required = grant.context_subset or {}
    given = terms.context_equals if terms.context_equals is not None else terms.context_subset or {}
    return all(given.get(k) == v for k, v in required.items())


class GrantService:
    def __init__(self, store: KeyStore, ring: KeyRing, clock: Clock) -> None:
        self._store = store
        self._ring = ring
        self._clock = clock

    def create(self, caller: Caller, key_id: str, grantee: str, terms: GrantTerms, retiring: str, name: str) -> Grant:
        if name and not GRANT_NAME_PATTERN.fullmatch(name):
            raise InvalidParameterValue("Name is 1-256 characters of letters, digits and : / _ -.")
        key = self._ring.owned(caller, key_id, fresh=True)
        constrained = terms.context_subset is not None or terms.context_equals is not None
        if constrained and not USAGES[key.usage].encrypts:
            raise InvalidParameterValue(
                f"Key {key.key_id} is {key.usage.value}: EncryptionContext constraints apply to symmetric "
                "encryption keys only (nothing else binds a context)."
            )
        if key.state == KeyState.PENDING_DELETE:
            raise KeyStateNotSupported(f"Key {key.key_id} is pending deletion: it takes no new grants.")
        grant = Grant(
            grant_id=secrets.token_hex(GRANT_ID_BYTES),
            key_id=key.key_id,
            account=caller.account,
            grantee=grantee,
            operations=terms.operations,
            create_time=int(self._clock.now()),
            name=name,
            retiring=retiring,
            context_subset=terms.context_subset,
            context_equals=terms.context_equals,
        )
        return self._store.insert_grant(grant, GRANTS_PER_KEY)

    def of_key(self, caller: Caller, key_id: str, grant_id: str = "", grantee: str = "") -> list[Grant]:
        key = self._ring.owned(caller, key_id)
        return [
            grant
            for grant in self._store.grants_of_key(key.key_id)
            if (not grant_id or grant.grant_id == grant_id) and (not grantee or grant.grantee == grantee)
        ]

    def retirable(self, caller: Caller, retiring: str) -> list[Grant]:
        return self._store.retirable_grants(caller.account, [retiring])

    def remove(self, caller: Caller, key_id: str, grant_id: str) -> None:
        """Retire or revoke: the grant is gone at once (who may do which is the caller's to check)."""
        key = self._ring.owned(caller, key_id)
        if not self._store.delete_grant(key.key_id, grant_id):
            raise GrantNotFound(f"Key {key.key_id} has no grant {grant_id[:64]!r}.")

    def key_of_grant(self, caller: Caller, grant_id: str) -> str:
        grant = self._store.get_grant(grant_id)
        if grant is None or grant.account != caller.account:
            raise GrantNotFound(f"No grant {grant_id[:64]!r} in this account.")
        return grant.key_id

    def authorizes(
        self, account: str, secret_id: str, key_id: str, operation: str, context: Mapping[str, str], use: GrantUse
    ) -> bool:
        """Whether a grant of the key lets this credential do `operation` with `context`."""
        names = principal_names(account, secret_id)
        for grant in self._grants_of(key_id):
            if grant.account != account:
                continue
            if operation == "RetireGrant" and use.retiring is not None:
                if grant.grant_id != use.retiring:
                    continue
                if grant.retiring in names:
                    return True
            if grant.grantee not in names or operation not in grant.operations:
                continue
            if operation == "CreateGrant":
                if use.creating is not None and _within(use.creating, grant):
                    return True
            elif operation == "RetireGrant" or _context_fits(grant, context):
                return True
        return False

    def _grants_of(self, key_id: str) -> Sequence[Grant]:
        return self._store.grants_of_key(key_id) if key_id and key_id != "*" else ()
