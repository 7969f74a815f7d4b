"""Credentials as the signature check finds them, for tests of the pieces that take one."""

from openkms.auth.credentials import CredentialAccess
from openkms.auth.policy import PolicySet
from openkms.crypto.secret import SecretBytes


def unrestricted(account: str, secret_key: bytes) -> CredentialAccess:
    """A credential of `account` with no policies: it may do anything in its account."""
    return CredentialAccess(account, SecretBytes(secret_key), PolicySet(()))
