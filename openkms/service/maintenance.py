"""The scheduled work of a running server: deletions, rotations, expiry of imported material, and
pruning. Every step is safe to run in several processes at once: each change is compare-and-set."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from openkms.domain.clock import Clock
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
        reload_trust: Callable[[], None] | None = None,
    ) -> None:
        def now() -> int:
            return int(clock.now())

        self._clock = clock
        self._steps: dict[str, tuple[str, Callable[[], int | None]]] = {
            "key_deletion": ("keys destroyed after their deletion window", keys.purge_due),
            "rotation": ("keys rotated on schedule", rotation.rotate_due),
            "material_expiry": ("keys whose imported material expired", imports.expire_due),
            "data_key_deletion": ("hosted data keys destroyed after their deletion window", data_keys.purge_due),
            "import_token_pruning": ("expired import tokens pruned", lambda: store.prune_import_tokens(now())),
            "change_log_pruning": (
                "change log pruned",
                lambda: store.prune_changes(now() - CHANGE_LOG_RETENTION_SECONDS),
            ),
        }
        if reload_trust is not None:
            # After a master-key rotation by another process, wrap with the new key.
            self._steps["master_key_reload"] = ("master key files read again", lambda: reload_trust() or 0)
        self.status: dict[str, StepStatus] = {step: StepStatus() for step in self._steps}

    def run_once(self) -> dict[str, int]:
        """Run every step; one failing does not stop the others. Returns the counts of what happened."""
        done: dict[str, int] = {}
        for step, (description, run) in self._steps.items():
            status = self.status[step]
            status.last_run = self._clock.now()
            try:
                count = run() or 0
            except Exception:
                status.failures += 1
                status.last_failed = True
                log.exception("scheduled step failed (%s); it runs again at the next interval", description)
                continue
            status.last_failed = False
            status.done += count
            if count:
                done[description] = count
                log.info("%s: %d", description, count)
        return done


@dataclass
class StepStatus:
    """How one scheduled step has fared since the process started (for /metrics)."""

    last_run: float = 0.0
    last_failed: bool = False
    failures: int = 0
    done: int = 0
