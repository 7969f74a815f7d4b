"""What every action handler is given and returns. Each handler parses its typed parameters, calls the
domain, and shapes the response fields; nothing else. Which handler answers which action, and where it
runs, is the one table in actions/table.py."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openkms.audit.log import AuditLog
from openkms.domain.models import Caller
from openkms.service.asymmetric import AsymmetricService
from openkms.service.cloud_resources import CloudResourceService
from openkms.service.crypto_ops import CryptoService
from openkms.service.data_keys import DataKeyService
from openkms.service.grants import GrantService
from openkms.service.key_import import ImportService
from openkms.service.keys import KeyService
from openkms.service.mac import MacService
from openkms.service.rotation import RotationService
from openkms.service.whitebox import WhiteBoxService


@dataclass(frozen=True)
class Services:
    keys: KeyService
    crypto: CryptoService
    rotation: RotationService
    imports: ImportService
    data_keys: DataKeyService
    asymmetric: AsymmetricService
    whitebox: WhiteBoxService
    cloud_resources: CloudResourceService
    grants: GrantService
    mac: MacService
    audit: AuditLog
    """Read by ListAuditEvents, the console's audit page (an OpenKMS extension)."""
    regions: Sequence[str]
    qps: int
    """The account's symmetric-operation rate (what Tencent Cloud reports as its QPS); 0 when unlimited."""


Params = dict[str, Any]
Response = dict[str, Any]
Handler = Callable[[Services, Caller, Params], Response]

Inline = Callable[[Params], bool]
"""Whether a call may run on the event loop: it only reads single rows and computes (the hot path).
Anything that writes, scans or waits goes to a worker thread."""


def always(params: Params) -> bool:
    return True


def never(params: Params) -> bool:
    return False


@dataclass(frozen=True)
class Action:
    handler: Handler
    runs_on_loop: Inline = never
