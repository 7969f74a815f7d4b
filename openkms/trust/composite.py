"""A root of trust in transition: new secrets are wrapped by the primary (an HSM), and secrets the
old master key files wrapped still open, until `openkms master-key migrate --to pkcs11` has rewrapped
them all. Each wrapped blob's first byte names the kind of root that made it."""

from openkms.trust.base import RootOfTrust
from openkms.trust.keyfile import WRAP_FORMAT_V1, MasterKeyRing


class MigratingRootOfTrust:
    def __init__(self, primary: RootOfTrust, legacy: MasterKeyRing) -> None:
        self.primary = primary
        self.legacy = legacy

    @property
    def key_id(self) -> str:
        return self.primary.key_id

    def wrap(self, material: bytes, binding: bytes) -> bytes:
        return self.primary.wrap(material, binding)

    def unwrap(self, wrapped: bytes, binding: bytes) -> bytes:
        if wrapped[:1] == bytes([WRAP_FORMAT_V1]):
            return self.legacy.unwrap(wrapped, binding)
        return self.primary.unwrap(wrapped, binding)
