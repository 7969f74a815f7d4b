"""ListAuditEvents, an OpenKMS extension (not part of Tencent's API): the audit events of the caller's
account, newest first, filtered by key, action, result and time, in pages (the web console's audit
page reads it). Signed, authorized (`kms:ListAuditEvents` on the account) and itself audited."""

from openkms.api.actions.registry import Params, Response, Services
from openkms.audit.events import AuditEvent
from openkms.domain.errors import InvalidParameterValue
from openkms.domain.models import Caller

LIMIT_DEFAULT, LIMIT_MAX = 20, 100
SUCCESS = "Success"
RESULTS = (SUCCESS, "Error")
"""Result: Success, Error (any refusal), or one error code."""


def list_audit_events(services: Services, caller: Caller, p: Params) -> Response:
    limit = p.get("Limit", LIMIT_DEFAULT)
    if not 1 <= limit <= LIMIT_MAX:
        raise InvalidParameterValue(f"Limit is 1-{LIMIT_MAX}; got {limit}.")
    marker = p.get("Marker") or None
    if marker is not None and marker < 1:
        raise InvalidParameterValue("Marker is the NextMarker of an earlier ListAuditEvents.")
    key_id, action, result = p.get("KeyId") or "", p.get("AuditAction") or "", p.get("Result") or ""
    start, end = p.get("StartTime"), p.get("EndTime")

    def matches(event: AuditEvent) -> bool:
        if key_id and key_id not in event.key_ids:
            return False
        # An action is found whichever protocol asked for it: Encrypt finds aws:Encrypt too.
        if action and event.action != action and event.action.partition(":")[2] != action:
            return False
        if result == SUCCESS and event.code != SUCCESS:
            return False
        if result == "Error" and event.code == SUCCESS:
            return False
        if result and result not in RESULTS and event.code != result:
            return False
        return (start is None or event.time >= start) and (end is None or event.time <= end)

    found, next_marker = services.audit.search(caller.account, matches, limit, marker, start)
    return {
        "Events": [
            {
                "Time": event.time,
                "RequestId": event.request_id,
                "SecretId": event.secret_id,
                "Source": event.source,
                "Action": event.action,
                "KeyIds": list(event.key_ids),
                "Code": event.code,
                "LatencyMs": round(event.latency_ms, 3),
                "Count": event.count,
            }
            for _, event in found
        ],
        "NextMarker": next_marker or 0,
    }
