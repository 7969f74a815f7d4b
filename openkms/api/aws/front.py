"""The AWS KMS protocol's ends of the pipeline: reading and authenticating a request (AWS JSON 1.1,
`X-Amz-Target: TrentService.<Action>`, Signature Version 4) and answering in AWS's shapes. Requests
are told apart from Tencent's by their X-Amz-Target header; everything between (rate limits, policies,
the services, the audit trail) is the one pipeline's."""

from collections.abc import Mapping
from typing import Any

import orjson

from openkms.api.asgi import Send
from openkms.api.aws import errors as aws_errors
from openkms.api.aws import sigv4
from openkms.api.aws.table import AWS_ACTIONS
from openkms.api.errors import ApiError
from openkms.api.exchange import Exchange, Outcome, refused
from openkms.api.replay import SignatureUse
from openkms.api.requests import Authenticated, HttpRequest
from openkms.api.signature import SecretLookup
from openkms.domain.errors import KmsError

TARGET_PREFIX = "TrentService."
CONTENT_TYPE = "application/x-amz-json-1.1"
PROTOCOL = "aws"


def claims(headers: Mapping[str, str]) -> bool:
    return "x-amz-target" in headers


def authenticate(request: HttpRequest, exchange: Exchange, secrets: SecretLookup, now: float) -> Authenticated:
    headers = request.headers
    target = headers.get("x-amz-target", "")
    # The audit trail names the protocol with the action: aws:Encrypt beside Tencent's Encrypt.
    exchange.action = f"{PROTOCOL}:{target.removeprefix(TARGET_PREFIX)[:64] or '?'}"
    authorization = headers.get("authorization")
    if authorization is not None:
        exchange.secret_id = sigv4.claimed_access_key(authorization)
    elif sigv4.is_query_signed(request.raw_query):
        exchange.secret_id = sigv4.query_claim_access_key(request.raw_query)
    else:
        raise ApiError(
            "MissingAuthenticationTokenException",
            "The request is not signed (no Authorization header, no X-Amz-Signature in the query).",
        )
    if headers.get("x-amz-security-token") or "X-Amz-Security-Token=" in request.raw_query:
        raise ApiError(
            "UnrecognizedClientException",
            "OpenKMS issues no temporary credentials, so it cannot check X-Amz-Security-Token: sign with a "
            "permanent access key (an OpenKMS SecretId and SecretKey) and send no session token.",
        )
    if request.method != "POST" or not target.startswith(TARGET_PREFIX):
        raise ApiError(
            "UnknownOperationException", "AWS KMS requests are POST / with X-Amz-Target: TrentService.<Action>."
        )
    verified = sigv4.verify(authorization, "POST", "/", request.raw_query, headers, request.body, secrets, now)
    exchange.account = verified.access.account
    exchange.secret_id = verified.access_key_id  # the verified identity, for grants and the audit trail
    action = target[len(TARGET_PREFIX) :]
    if action not in AWS_ACTIONS:
        raise ApiError(
            "UnsupportedOperationException",
            f"{action[:64]} is an AWS KMS action OpenKMS does not serve (docs/aws-compatibility.md).",
        )
    if headers.get("content-type", "").split(";")[0].strip() != CONTENT_TYPE:
        raise ApiError("ValidationException", f"Content-Type must be {CONTENT_TYPE}.")
    try:
        params: Any = orjson.loads(request.body) if request.body else {}
    except orjson.JSONDecodeError:
        raise ApiError("SerializationException", "The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "The request body must be a JSON object.")
    # The signature covers the body and X-Amz-Target: a captured request replays only as itself.
    use = SignatureUse(f"sigv4:{verified.signature}", action, verified.expires, True, request.source, now)
    return Authenticated(action, verified.region, params, False, verified.access, use)


def served_region(region: str | None, regions: tuple[str, ...]) -> str:
    """The SigV4 scope's region, which must be one the server serves (its Tencent region names)."""
    chosen = region or regions[0]
    if chosen not in regions:
        raise ApiError(
            "UnrecognizedClientException", f"Region {chosen[:64]!r} is not served here; served: {', '.join(regions)}."
        )
    return chosen


def failed(exc: Exception, exchange: Exchange) -> Outcome | None:
    """The AWS refusal for an error of the pipeline; None for one the pipeline maps itself (internal)."""
    if isinstance(exc, ApiError):
        return refused(exchange, aws_errors.type_of_code(exc.code), exc.message)
    if isinstance(exc, KmsError):
        return refused(exchange, aws_errors.type_of_domain(exc), str(exc))
    return None


def as_aws(outcome: Outcome) -> Outcome:
    """An outcome a shared stage refused in Tencent's vocabulary, in AWS's."""
    if outcome.error_code is None or outcome.error_code.endswith("Exception"):
        return outcome
    error = outcome.fields["Error"]
    code = aws_errors.type_of_code(outcome.error_code)
    return Outcome(outcome.request_id, outcome.action, {"Error": {**error, "Code": code}}, code)


async def respond(send: Send, outcome: Outcome, close: bool = False) -> None:
    error = outcome.fields.get("Error")
    if error is None:
        status, body = 200, orjson.dumps(outcome.fields)
    else:
        code = aws_errors.type_of_code(error["Code"])
        status, body = aws_errors.STATUS.get(code, 400), orjson.dumps({"__type": code, "message": error["Message"]})
    headers = [
        (b"content-type", CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-amzn-requestid", outcome.request_id.encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
