"""What every service that changes keys needs: the store, the root of trust, the key ring, the clock,
and the optimistic write loop."""

from openkms.domain.clock import Clock
from openkms.service.keyring import KeyRing
from openkms.service.updates import KeyUpdater
from openkms.store.base import KeyStore
from openkms.trust.base import RootOfTrust


class KeyServiceBase:
    def __init__(self, store: KeyStore, trust: RootOfTrust, ring: KeyRing, clock: Clock) -> None:
        self._store = store
        self._trust = trust
        self._ring = ring
        self._clock = clock
        self._updater = KeyUpdater(store, ring)
