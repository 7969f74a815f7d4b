"""Credentials: SecretId/SecretKey pairs that belong to an account.

SecretKeys are stored wrapped by the root of trust like key material, and kept unwrapped in process
only as long as the credential exists (a deletion anywhere is noticed through the change feed).
"""

import re
import secrets
import string
from dataclasses import dataclass

from openkms.auth.policy import Policy, PolicySet, parse_policy
from openkms.bindings import credential_secret
from openkms.clock import Clock
from openkms.crypto.secret import SecretBytes
from openkms.errors import CredentialNotFound, InvalidParameterValue, PolicyNotFound
from openkms.models import Credential
from openkms.service.cache import InvalidatingCache
from openkms.service.changes import ChangeFeed
from openkms.store.base import KeyStore
from openkms.trust.base import RootOfTrust

_ALPHANUMERIC = string.ascii_letters + string.digits
_ACCOUNT = re.compile(r"[1-9][0-9]{0,18}")
SECRET_ID_PREFIX = "AKID"
_SEEDED_SECRET_ID = re.compile(r"[A-Za-z0-9]{8,64}")
MIN_SEEDED_SECRET_KEY = 16


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


class CredentialService:
    def __init__(self, store: KeyStore, trust: RootOfTrust, clock: Clock, feed: ChangeFeed) -> None:
        self._store = store
        self._trust = trust
        self._clock = clock
        self._secrets: InvalidatingCache[CredentialAccess] = InvalidatingCache(feed, "credential", max_entries=100_000)

    def create(self, account: str) -> tuple[Credential, str]:
        """A new credential for `account` and its SecretKey, which is shown only this once."""
        if not _ACCOUNT.fullmatch(account):
            raise InvalidParameterValue(f"An account is a number of 1-19 digits (a UIN); got {account!r}.")
        credential = Credential(SECRET_ID_PREFIX + _random_text(32), account, int(self._clock.now()))
        secret_key = _random_text(32)
        self._store.insert_credential(
            credential, self._trust.wrap(secret_key.encode(), credential_secret(credential.secret_id))
        )
        return credential, secret_key

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
        credential = Credential(secret_id, account, int(self._clock.now()))
        self._store.insert_credential(credential, self._trust.wrap(secret_key.encode(), credential_secret(secret_id)))
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
            found = self._store.get_credential(secret_id)
            if found is None:
                return None
            credential, wrapped = found
            policies = tuple(parse_policy(name, doc) for name, doc in self._store.list_policies(secret_id))
            secret_key = SecretBytes(self._trust.unwrap(wrapped, credential_secret(secret_id)))
            return CredentialAccess(credential.account, secret_key, PolicySet(policies))

        return self._secrets.get(secret_id, load)

    def attach_policy(self, secret_id: str, name: str, document: str) -> Policy:
        policy = parse_policy(name, document)
        if self._store.get_credential(secret_id) is None:
            raise CredentialNotFound(f"There is no credential with SecretId {secret_id}.")
        self._store.put_policy(secret_id, name, document)
        self._secrets.forget(secret_id)
        return policy

    def detach_policy(self, secret_id: str, name: str) -> None:
        if not self._store.delete_policy(secret_id, name):
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
