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
from dataclasses import dataclass

from openkms.auth.policy import Policy, PolicySet, parse_policy
from openkms.bindings import POLICY_SEAL_KEY, credential_secret, store_secret
from openkms.clock import Clock
from openkms.crypto.aead import new_key
from openkms.crypto.secret import SecretBytes
from openkms.errors import CredentialNotFound, CredentialTampered, InvalidParameterValue, PolicyNotFound
from openkms.models import Credential
from openkms.service.cache import InvalidatingCache
from openkms.service.changes import ChangeFeed
from openkms.store.base import KeyStore
from openkms.trust.base import RootOfTrust, UnwrapFailed

_ALPHANUMERIC = string.ascii_letters + string.digits
_ACCOUNT = re.compile(r"[1-9][0-9]{0,18}")
SECRET_ID_PREFIX = "AKID"
_SEEDED_SECRET_ID = re.compile(r"[A-Za-z0-9]{8,64}")
MIN_SEEDED_SECRET_KEY = 16
_LENGTH = struct.Struct(">I")
UNKNOWN_SECRET_ID_SECONDS = 5.0
MAX_UNKNOWN_SECRET_IDS = 100_000
log = logging.getLogger("openkms.auth")


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
        self._secrets: InvalidatingCache[CredentialAccess] = InvalidatingCache(feed, "credential", max_entries=100_000)
        self._seal_key: bytes | None = None
        # SecretIds that do not exist, remembered briefly: a flood of made-up ones reads no store.
        self._unknown: dict[str, float] = {}
        self._credential_changes = 0
        feed.subscribe("credential", self._credential_changed)

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
                secret_key = SecretBytes(
                    self._trust.unwrap(stored.wrapped_secret, credential_secret(secret_id, account))
                )
            except UnwrapFailed:
                raise self._tampered(secret_id, "its SecretKey is not bound to the account it is stored with") from None
            expected = self.seal(secret_id, account, stored.policies)
            if stored.policy_seal is None or not hmac.compare_digest(stored.policy_seal, expected):
                raise self._tampered(secret_id, "its policies are not the set OpenKMS last sealed")
            policies = tuple(parse_policy(name, document) for name, document in stored.policies)
            return CredentialAccess(account, secret_key, PolicySet(policies))

        if self._unknown.get(secret_id, 0.0) > time.monotonic():
            return None
        changes = self._credential_changes
        found = self._secrets.get(secret_id, load)
        if found is None and changes == self._credential_changes:
            if len(self._unknown) >= MAX_UNKNOWN_SECRET_IDS:
                self._unknown.clear()
            self._unknown[secret_id] = time.monotonic() + UNKNOWN_SECRET_ID_SECONDS
        return found

    @staticmethod
    def _tampered(secret_id: str, why: str) -> CredentialTampered:
        log.error("credential %s refused: %s (the store was changed outside OpenKMS)", secret_id, why)
        return CredentialTampered(
            f"Credential {secret_id} was changed outside OpenKMS ({why}); it is refused until an administrator "
            "attaches its policies again with `openkms policy attach`, or restores the store from a backup."
        )

    def attach_policy(self, secret_id: str, name: str, document: str) -> Policy:
        policy = parse_policy(name, document)
        if not self._store.put_policy(secret_id, name, document, self.seal):
            raise CredentialNotFound(f"There is no credential with SecretId {secret_id}.")
        self._secrets.forget(secret_id)
        return policy

    def detach_policy(self, secret_id: str, name: str) -> None:
        if not self._store.delete_policy(secret_id, name, self.seal):
            raise PolicyNotFound(f"Credential {secret_id} has no policy named {name!r}.")
        self._secrets.forget(secret_id)

    def policies(self, secret_id: str) -> list[Policy]:
        if self._store.get_credential(secret_id) is None:
            raise CredentialNotFound(f"There is no credential with SecretId {secret_id}.")
        return [parse_policy(name, document) for name, document in self._store.list_policies(secret_id)]


@dataclass(frozen=True)
class CredentialAccess:
    """Cached per credential until it or its policies change."""

    account: str
    secret_key: SecretBytes
    policies: PolicySet
