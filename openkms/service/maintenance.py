"""The scheduled work of a running server: deletions, rotations, expiry of imported material, and
pruning. Every step is safe to run in several processes at once: each change is compare-and-set."""

import logging
from collections.abc import Callable

from openkms.clock import Clock
from openkms.service.data_keys import DataKeyService
from openkms.service.key_import import ImportService
from openkms.service.keys import KeyService
from openkms.service.rotation import RotationService
from openkms.store.base import KeyStore

CHANGE_LOG_RETENTION_SECONDS = 3600
log = logging.getLogger("openkms.maintenance")


class Maintenance:
    def __init__(
        self,
        store: KeyStore,
        keys: KeyService,
        rotation: RotationService,
        imports: ImportService,
        data_keys: DataKeyService,
        clock: Clock,
    ) -> None:
        def now() -> int:
            return int(clock.now())

        self._steps: dict[str, Callable[[], int | None]] = {
            "keys destroyed after their deletion window": keys.purge_due,
            "keys rotated on schedule": rotation.rotate_due,
            "keys whose imported material expired": imports.expire_due,
            "hosted data keys destroyed after their deletion window": data_keys.purge_due,
            "expired import tokens pruned": lambda: store.prune_import_tokens(now()),
            "change log pruned": lambda: store.prune_changes(now() - CHANGE_LOG_RETENTION_SECONDS),
        }

    def run_once(self) -> dict[str, int]:
        """Run every step; one failing does not stop the others. Returns the counts of what happened."""
        done: dict[str, int] = {}
        for name, step in self._steps.items():
            try:
                count = step()
            except Exception:
                log.exception("scheduled step failed (%s); it runs again at the next interval", name)
                continue
            if count:
                done[name] = count
                log.info("%s: %d", name, count)
        return done
