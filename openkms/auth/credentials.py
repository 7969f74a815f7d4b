"""Credentials: SecretId/SecretKey pairs that belong to an account.

SecretKeys are stored wrapped by the root of trust like key material, bound to their SecretId and
account, and kept unwrapped in process only as long as the credential exists (a deletion anywhere is
noticed through the change feed). Each credential's set of policies, "no policies" included, is sealed
with an HMAC under a key the root of trust wraps: rows changed, added or removed in the database by
anyone without the root of trust make the credential refuse every request instead of widening it.
"""

import hmac
import logging
import re
import secrets
import string
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from openkms.auth.policy import Policy, PolicySet, parse_policy
from openkms.crypto.aead import new_key
from openkms.crypto.secret import SecretBytes
from openkms.domain.clock import Clock
from openkms.domain.errors import (
    CredentialNotFound,
    CredentialTampered,
    InvalidParameterValue,
    PolicyNotFound,
    TooBusy,
)
from openkms.domain.models import ChangeKind, Credential
from openkms.store.base import KeyStore, StoredCredential
from openkms.store.cache import InvalidatingCache
from openkms.store.feed import ChangeFeed
from openkms.trust.base import RootOfTrust, UnwrapFailed
from openkms.trust.bindings import POLICY_SEAL_KEY, credential_secret, store_secret

_ALPHANUMERIC = string.ascii_letters + string.digits
_ACCOUNT = re.compile(r"[1-9][0-9]{0,18}")
SECRET_ID_PREFIX = "AKID"
_SEEDED_SECRET_ID = re.compile(r"[A-Za-z0-9]{8,64}")
MIN_SEEDED_SECRET_KEY = 16
_LENGTH = struct.Struct(">I")
UNKNOWN_SECRET_ID_SECONDS = 5.0
MAX_UNKNOWN_SECRET_IDS = 100_000
MAX_POLICY_CHANGE_ATTEMPTS = 5
log = logging.getLogger("openkms.auth")
_SECRET_UNBOUND = "its SecretKey is not bound to the account it is stored with"
_RECREATE = "deletes it (`openkms credentials delete`) and creates a new one"
_POLICIES_UNSEALED = "its policies are not the set OpenKMS last sealed"
_REPLACE_POLICIES = (
    "reviews the stored rows (`openkms policy show --unverified`) and sets the whole set again "
    "(`openkms policy replace`)"
)


def policy_seal(seal_key: bytes, secret_id: str, account: str, policies: tuple[tuple[str, str], ...]) -> bytes:
    """The HMAC that binds a credential's account to its exact set of policies (name, document). The
    set is sorted here: databases order names by their own collations."""
    fields = [secret_id, account, *(text for policy in sorted(policies) for text in policy)]
    message = b"policy-set\x00" + b"".join(_LENGTH.pack(len(f.encode())) + f.encode() for f in fields)
    return hmac.digest(seal_key, message, "sha256")


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


class CredentialService:
    def __init__(self, store: KeyStore, trust: RootOfTrust, clock: Clock, feed: ChangeFeed) -> None:
        self._store = store
        self._trust = trust
        self._clock = clock
        self._secrets: InvalidatingCache[CredentialAccess] = InvalidatingCache(
            feed, ChangeKind.CREDENTIAL, max_entries=100_000
        )
        self._seal_key: bytes | None = None
        # SecretIds that do not exist, remembered briefly: a flood of made-up ones reads no store.
        self._unknown: dict[str, float] = {}
        self._credential_changes = 0
        self._feed = feed
        feed.subscribe(ChangeKind.CREDENTIAL, self._credential_changed)

    def _credential_changed(self, secret_id: str | None) -> None:
        self._credential_changes += 1
        if secret_id is None:
            self._unknown.clear()
        else:
            self._unknown.pop(secret_id, None)

    def seal(self, secret_id: str, account: str, policies: tuple[tuple[str, str], ...]) -> bytes:
        """The seal of a credential's policy set, under the store's seal key (made on first use)."""
        if self._seal_key is None:
            wrapped = self._store.store_secret(
                POLICY_SEAL_KEY, lambda: self._trust.wrap(new_key(), store_secret(POLICY_SEAL_KEY))
            )
            self._seal_key = self._trust.unwrap(wrapped, store_secret(POLICY_SEAL_KEY))
        return policy_seal(self._seal_key, secret_id, account, policies)

    def create(self, account: str) -> tuple[Credential, str]:
        """A new credential for `account` and its SecretKey, which is shown only this once."""
        if not _ACCOUNT.fullmatch(account):
            raise InvalidParameterValue(f"An account is a number of 1-19 digits (a UIN); got {account!r}.")
        credential = Credential(SECRET_ID_PREFIX + _random_text(32), account, int(self._clock.now()))
        secret_key = _random_text(32)
        self._insert(credential, secret_key)
        return credential, secret_key

    def _insert(self, credential: Credential, secret_key: str) -> None:
        wrapped = self._trust.wrap(secret_key.encode(), credential_secret(credential.secret_id, credential.account))
        self._store.insert_credential(credential, wrapped, self.seal(credential.secret_id, credential.account, ()))

    def put(self, secret_id: str, secret_key: str, account: str) -> bool:
        """Make a credential with this exact SecretId and SecretKey exist (for seed files); True if it
        had to be written. A different SecretKey or account replaces the old one and its policies."""
        if not _ACCOUNT.fullmatch(account):
            raise InvalidParameterValue(f"An account is a number of 1-19 digits (a UIN); got {account!r}.")
        if not _SEEDED_SECRET_ID.fullmatch(secret_id) or len(secret_key) < MIN_SEEDED_SECRET_KEY:
            raise InvalidParameterValue(
                f"A SecretId is 8-64 letters and digits and a SecretKey at least {MIN_SEEDED_SECRET_KEY} characters."
            )
        existing = self.access(secret_id)
        if existing is not None and existing.account == account and existing.secret_key.reveal() == secret_key.encode():
            return False
        if existing is not None:
            self.delete(secret_id)
        self._insert(Credential(secret_id, account, int(self._clock.now())), secret_key)
        self._secrets.forget(secret_id)
        return True

    def all(self) -> list[Credential]:
        return self._store.list_credentials()

    def delete(self, secret_id: str) -> None:
        if not self._store.delete_credential(secret_id):
            raise CredentialNotFound(f"There is no credential with SecretId {secret_id}.")
        self._secrets.forget(secret_id)

    def secret_for(self, secret_id: str) -> tuple[str, bytes] | None:
        """The account and SecretKey of a credential, or None if there is no such credential."""
        access = self.access(secret_id)
        return None if access is None else (access.account, access.secret_key.reveal())

    def access(self, secret_id: str) -> "CredentialAccess | None":
        """What a credential may do: its account, SecretKey and policies; None if it does not exist."""

        def load() -> CredentialAccess | None:
            stored = self._store.load_credential(secret_id)
            if stored is None:
                return None
            account = stored.credential.account
            try:
                secret_key = SecretBytes(self._trust.unwrap(stored.bound_secret, credential_secret(secret_id, account)))
            except UnwrapFailed:
                raise self._tampered(secret_id, _SECRET_UNBOUND, _RECREATE) from None
            self._check_seal(stored)
            policies = tuple(parse_policy(name, document) for name, document in stored.policies)
            return CredentialAccess(account, secret_key, PolicySet(policies))

        if secret_id in self._unknown:
            self._feed.sync()  # a credential another process just made is not "unknown" any longer
            if self._unknown.get(secret_id, 0.0) > time.monotonic():
                return None
        changes = self._credential_changes
        found = self._secrets.get(secret_id, load)
        if found is None and changes == self._credential_changes:
            if len(self._unknown) >= MAX_UNKNOWN_SECRET_IDS:
                self._unknown.clear()
            self._unknown[secret_id] = time.monotonic() + UNKNOWN_SECRET_ID_SECONDS
        return found

    def _check_seal(self, stored: StoredCredential) -> None:
        secret_id = stored.credential.secret_id
        expected = self.seal(secret_id, stored.credential.account, stored.policies)
        if stored.policy_seal is None or not hmac.compare_digest(stored.policy_seal, expected):
            raise self._tampered(secret_id, _POLICIES_UNSEALED, _REPLACE_POLICIES)

    @staticmethod
    def _tampered(secret_id: str, why: str, remedy: str) -> CredentialTampered:
        log.error("credential %s refused: %s (the store was changed outside OpenKMS)", secret_id, why)
        return CredentialTampered(
            f"Credential {secret_id} was changed outside OpenKMS ({why}); it is refused until an administrator "
            f"{remedy}, or restores the store from a backup."
        )

    def _sealed(self, secret_id: str) -> StoredCredential:
        stored = self._store.load_credential(secret_id)
        if stored is None:
            raise CredentialNotFound(f"There is no credential with SecretId {secret_id}.")
        self._check_seal(stored)
        return stored

    def _change_policies(
        self, secret_id: str, change: Callable[[dict[str, str]], dict[str, str]], expect_sealed: bool = True
    ) -> None:
        """Apply `change` to the credential's policy set (name -> document) and seal the result. The set
        changed is the one its seal vouches for: rows someone added outside OpenKMS are never sealed in."""
        for _ in range(MAX_POLICY_CHANGE_ATTEMPTS):
            stored = self._sealed(secret_id) if expect_sealed else None
            current = dict(stored.policies) if stored is not None else {}
            documents = tuple(sorted(change(current).items()))
            account = stored.credential.account if stored is not None else self._account_of(secret_id)
            seal = self.seal(secret_id, account, documents)
            if self._store.replace_policies(secret_id, documents, seal, stored):
                self._secrets.forget(secret_id)
                return
        raise TooBusy(f"The policies of credential {secret_id} kept changing while this change was made; retry.")

    def _account_of(self, secret_id: str) -> str:
        found = self._store.get_credential(secret_id)
        if found is None:
            raise CredentialNotFound(f"There is no credential with SecretId {secret_id}.")
        return found[0].account

    def attach_policy(self, secret_id: str, name: str, document: str) -> Policy:
        """Attach (or replace) a named policy; CredentialTampered if the stored set is not the sealed one."""
        policy = parse_policy(name, document)
        self._change_policies(secret_id, lambda current: {**current, name: document})
        return policy

    def detach_policy(self, secret_id: str, name: str) -> None:
        def without(current: dict[str, str]) -> dict[str, str]:
            if name not in current:
                raise PolicyNotFound(f"Credential {secret_id} has no policy named {name!r}.")
            return {n: d for n, d in current.items() if n != name}

        self._change_policies(secret_id, without)

    def replace_policies(self, secret_id: str, documents: dict[str, str]) -> None:
        """Make exactly these the credential's policies, whatever is stored now: how an administrator
        restores a credential whose stored policies were changed outside OpenKMS."""
        for name, document in documents.items():
            parse_policy(name, document)
        self._change_policies(secret_id, lambda _: dict(documents), expect_sealed=False)

    def policies(self, secret_id: str) -> list[Policy]:
        """The credential's policies; CredentialTampered if they are not the set OpenKMS sealed."""
        return [parse_policy(name, document) for name, document in self._sealed(secret_id).policies]

    def stored_policies(self, secret_id: str) -> tuple[tuple[tuple[str, str], ...], bool]:
        """(name, document) of each policy row as stored, and whether they are the set OpenKMS sealed:
        for an administrator to inspect a credential refused as changed outside OpenKMS."""
        stored = self._store.load_credential(secret_id)
        if stored is None:
            raise CredentialNotFound(f"There is no credential with SecretId {secret_id}.")
        try:
            self._check_seal(stored)
        except CredentialTampered:
            return stored.policies, False
        return stored.policies, True


@dataclass(frozen=True)
class CredentialAccess:
    """Cached per credential until it or its policies change."""

    account: str
    secret_key: SecretBytes
    policies: PolicySet
