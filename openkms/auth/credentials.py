"""Credentials: SecretId/SecretKey pairs that belong to an account.

SecretKeys are stored wrapped by the root of trust like key material, and kept unwrapped in process
only as long as the credential exists (a deletion anywhere is noticed through the change feed).
"""

import re
import secrets
import string

from openkms.clock import Clock
from openkms.crypto.secret import SecretBytes
from openkms.errors import CredentialNotFound, InvalidParameterValue
from openkms.models import Credential
from openkms.service.cache import InvalidatingCache
from openkms.service.changes import ChangeFeed
from openkms.store.base import KeyStore
from openkms.trust.base import RootOfTrust

_ALPHANUMERIC = string.ascii_letters + string.digits
_ACCOUNT = re.compile(r"[1-9][0-9]{0,18}")
SECRET_ID_PREFIX = "AKID"


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def _binding(secret_id: str) -> bytes:
    return b"credential\x00" + secret_id.encode()


class CredentialService:
    def __init__(self, store: KeyStore, trust: RootOfTrust, clock: Clock, feed: ChangeFeed) -> None:
        self._store = store
        self._trust = trust
        self._clock = clock
        self._secrets: InvalidatingCache[tuple[str, SecretBytes]] = InvalidatingCache(
            feed, "credential", max_entries=100_000
        )

    def create(self, account: str) -> tuple[Credential, str]:
        """A new credential for `account` and its SecretKey, which is shown only this once."""
        if not _ACCOUNT.fullmatch(account):
            raise InvalidParameterValue(f"An account is a number of 1-19 digits (a UIN); got {account!r}.")
        credential = Credential(SECRET_ID_PREFIX + _random_text(32), account, int(self._clock.now()))
        secret_key = _random_text(32)
        self._store.insert_credential(credential, self._trust.wrap(secret_key.encode(), _binding(credential.secret_id)))
        return credential, secret_key

    def list(self) -> list[Credential]:
        return self._store.list_credentials()

    def delete(self, secret_id: str) -> None:
        if not self._store.delete_credential(secret_id):
            raise CredentialNotFound(f"There is no credential with SecretId {secret_id}.")
        self._secrets.forget(secret_id)

    def secret_for(self, secret_id: str) -> tuple[str, bytes] | None:
        """The account and SecretKey of a credential, or None if there is no such credential."""

        def load() -> tuple[str, SecretBytes] | None:
            found = self._store.get_credential(secret_id)
            if found is None:
                return None
            credential, wrapped = found
            return credential.account, SecretBytes(self._trust.unwrap(wrapped, _binding(secret_id)))

        cached = self._secrets.get(secret_id, load)
        return None if cached is None else (cached[0], cached[1].reveal())
