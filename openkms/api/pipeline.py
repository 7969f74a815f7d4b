"""The API's request pipeline, one stage after another:

    read → authenticate → limit → route → validate → authorize → run → record → respond

Every stage but `run` is cheap and free of disk writes, so the pipeline runs on the event loop; `run`
(with `authorize`, which may read the store to find a hosted data key's CMK) goes to a worker thread
unless the action table says the call only reads single rows and computes. Any stage may refuse: the
refusal is recorded and answered like any other outcome. Every answer is HTTP 200 with `Content-Type:
application/json` exactly: the Python SDK ignores error bodies under any other content type.
"""

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from openkms.api import schema
from openkms.api.actions.registry import Action, Services
from openkms.api.actions.table import ACTIONS
from openkms.api.asgi import BodyTooLarge, Receive, Scope, Send, read_body, respond
from openkms.api.aws import front as aws_front
from openkms.api.aws.grants import check_grant_tokens, grant_use
from openkms.api.aws.table import AWS_ACTIONS
from openkms.api.errors import INTERNAL_ERROR, INTERNAL_MESSAGE, ApiError
from openkms.api.exchange import Exchange, Outcome, answered, failed, new_request_id, refused
from openkms.api.messages import DEFAULT_LANGUAGE, localized, requested_language
from openkms.api.ratelimit import FailureLimiter, RateLimiter
from openkms.api.recording import Recorder
from openkms.api.replay import ReplayGuard
from openkms.api.requests import Authenticated, HttpRequest, authenticate, language_of
from openkms.api.resources import GRANT_OPERATIONS, key_id_of, key_ids_in, key_ids_of, resources_of
from openkms.api.signature import SecretLookup
from openkms.auth.policy import Resource
from openkms.domain.clock import Clock
from openkms.domain.errors import Unauthorized
from openkms.domain.limits import MAX_REQUEST_BODY_BYTES, request_cost
from openkms.domain.models import Caller

# Fields many actions accept for Tencent features OpenKMS does not have.
MULTI_ACCOUNT_FIELDS = ("MemberAccount", "MemberAccounts")
HSM_CLUSTER_FIELD = "HsmClusterId"
SHARED_HSM_CLUSTER = "default"

log = logging.getLogger("openkms.api")
Call = Callable[[], dict[str, Any]]


class Pipeline:
    """The ASGI application serving the API at POST / and GET /."""

    def __init__(
        self,
        services: Services,
        secrets: SecretLookup,
        clock: Clock,
        regions: Sequence[str],
        limiter: RateLimiter,
        failures: FailureLimiter | None,
        replays: ReplayGuard,
        recorder: Recorder,
        aws_only_port: int = 0,
    ) -> None:
        """`failures` limits, per source address, the requests that fail authentication;
        `aws_only_port`: a port (--aws-listen) where every request is read as an AWS KMS request."""
        self._services = services
        self._secrets = secrets
        self._clock = clock
        self._regions = tuple(regions)
        self._limiter = limiter
        self._failures = failures
        self._replays = replays
        self.recorder = recorder
        self._aws_only_port = aws_only_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        client = scope.get("client")
        exchange = Exchange(source=str(client[0]) if client else "")
        server = scope.get("server")
        aws = aws_front.claims(headers) or bool(self._aws_only_port and server and server[1] == self._aws_only_port)
        try:
            request = await self.read(scope, headers, receive, exchange.source)
        except BodyTooLarge:
            outcome = refused(
                exchange, "RequestSizeLimitExceeded", f"The request body exceeds {MAX_REQUEST_BODY_BYTES} bytes."
            )
            outcome = await self.recorder.record(outcome, exchange)
            if aws:
                await aws_front.respond(send, aws_front.as_aws(outcome), close=True)
            else:
                await self.respond(send, outcome, requested_language(headers.get("x-tc-language"), None), close=True)
            return
        try:
            outcome = await self.answer(request, exchange, aws)
        except Exception:  # every stage maps its own errors; this is a last line of defence
            log.exception("unhandled error")
            outcome = Outcome(new_request_id(), "?", {"Error": {"Code": INTERNAL_ERROR, "Message": INTERNAL_MESSAGE}})
        if aws:
            await aws_front.respond(send, aws_front.as_aws(outcome))
        else:
            await self.respond(send, outcome, language_of(request) if outcome.error_code else DEFAULT_LANGUAGE)

    async def answer(self, request: HttpRequest, exchange: Exchange, aws: bool = False) -> Outcome:
        """The stages between reading the request and recording its outcome, the same for both
        protocols but for authentication, the action table and the shapes of the answer."""
        closed = self.recorder.closed(exchange)
        if closed is not None:
            return closed  # a fail-closed log that cannot be written records nothing
        if self._failures is not None and self._failures.blocked(request.source):
            message = f"Too many requests from {request.source} failed authentication; slow down and retry."
            outcome = refused(exchange, "RequestLimitExceeded", message)
        else:
            try:
                outcome = await (self._aws_stages(request, exchange) if aws else self._stages(request, exchange))
            except Exception as exc:
                if not exchange.account and self._failures is not None:
                    self._failures.failed(request.source)
                outcome = (aws_front.failed(exc, exchange) if aws else None) or failed(exc, exchange)
        return await self.recorder.record(aws_front.as_aws(outcome) if aws else outcome, exchange)

    async def _stages(self, request: HttpRequest, exchange: Exchange) -> Outcome:
        authenticated = await self.authenticate(request, exchange)
        self.limit(authenticated)
        action, caller = self.route(authenticated)
        params = self.validate(authenticated)
        exchange.key_ids = key_ids_in(params)
        call = self.authorize(authenticated, action, caller, params, exchange)
        return await self.run(call, action.runs_on_loop(params), exchange)

    async def _aws_stages(self, request: HttpRequest, exchange: Exchange) -> Outcome:
        """AWS's authentication, action table and parameters; the same limits, policies (under the
        Tencent action each AWS action maps to), services and audit trail."""
        authenticated = aws_front.authenticate(request, exchange, self._secrets, self._clock.now())
        await self._replays.check(authenticated.signature)
        action = AWS_ACTIONS[authenticated.action]
        policy = action.policy_of(authenticated.params)
        self.limit(authenticated, counted_as=policy)
        caller = Caller(authenticated.access.account, aws_front.served_region(authenticated.region, self._regions))
        check_grant_tokens(authenticated.params)
        translated = action.translate(self._services, caller, authenticated.params)
        exchange.key_ids = key_ids_in(translated)
        call = functools.partial(action.handler, self._services, caller, authenticated.params, translated)
        if not authenticated.access.policies.unrestricted:
            call = functools.partial(self._authorized, call, authenticated, caller, translated, exchange, policy)
        return await self.run(call, action.runs_on_loop, exchange)

    @staticmethod
    async def read(scope: Scope, headers: Mapping[str, str], receive: Receive, source: str) -> HttpRequest:
        body = await read_body(receive, MAX_REQUEST_BODY_BYTES, headers.get("content-length"))
        return HttpRequest(scope["method"], headers, scope.get("query_string", b"").decode("latin-1"), body, source)

    async def authenticate(self, request: HttpRequest, exchange: Exchange) -> Authenticated:
        """The signature, and that it was not used before for another request (a replay)."""
        authenticated = authenticate(request, exchange, self._secrets, self._clock.now())
        await self._replays.check(authenticated.signature)
        return authenticated

    def limit(self, request: Authenticated, counted_as: str | None = None) -> None:
        """The account's rate budget; `counted_as`: the Tencent action an AWS action shares a budget with."""
        action = counted_as or request.action
        if not self._limiter.allow(request.access.account, action, request_cost(action, request.params)):
            raise ApiError(
                "RequestLimitExceeded",
                f"Too many {self._limiter.group_of(action)} requests for this account; slow down and retry.",
            )

    def route(self, request: Authenticated) -> tuple[Action, Caller]:
        region = request.region or self._regions[0]
        if region not in self._regions:
            raise ApiError(
                "UnsupportedRegion", f"Region {region[:64]!r} is not served here; served: {', '.join(self._regions)}."
            )
        # Every action of the API is in the table (unit/test_action_table.py); authenticate refused the rest.
        return ACTIONS[request.action], Caller(request.access.account, region)

    @staticmethod
    def validate(request: Authenticated) -> dict[str, Any]:
        params = schema.check_params(request.action, request.params, request.form)
        _refuse_absent_features(params)
        return params

    def authorize(
        self, request: Authenticated, action: Action, caller: Caller, params: dict[str, Any], exchange: Exchange
    ) -> Call:
        """The call, checked first against the credential's policies when it has any. The check runs
        where the call runs: finding a hosted data key's CMK reads the store."""
        call = functools.partial(action.handler, self._services, caller, params)
        if request.access.policies.unrestricted:
            return call
        return functools.partial(self._authorized, call, request, caller, params, exchange)

    def _authorized(
        self,
        call: Call,
        request: Authenticated,
        caller: Caller,
        params: dict[str, Any],
        exchange: Exchange,
        policy_action: str | None = None,
    ) -> dict[str, Any]:
        """Check the policies on every resource the call touches, then run it. `policy_action`: the
        Tencent action whose name and resources an AWS action shares (one policy for both protocols)."""
        named = policy_action or request.action
        resources = resources_of(named, caller, params, self._services.data_keys.owner)
        exchange.key_ids = key_ids_of(resources)
        granted = self._granted(request.action, caller, exchange.secret_id, params)
        denial = request.access.policies.denial(f"kms:{named}", resources, granted)
        if denial is not None:
            raise Unauthorized(f"Credential {exchange.secret_id} may not do this: {denial}.")
        return call()

    def _granted(
        self, action: str, caller: Caller, secret_id: str, params: dict[str, Any]
    ) -> Callable[[int, Resource], bool] | None:
        """Whether a grant lets the credential do what the request does to the i-th resource: asked
        where its policies neither allow nor deny it."""
        operations = GRANT_OPERATIONS.get(action)
        if operations is None:
            return None
        use = grant_use(action, params)
        grants = self._services.grants

        def granted(index: int, resource: Resource) -> bool:
            key_id = key_id_of(resource)
            operation = operations[min(index, len(operations) - 1)]
            return key_id is not None and grants.authorizes(
                caller.account, secret_id, key_id, operation, resource.context, use
            )

        return granted

    @staticmethod
    async def run(call: Call, on_loop: bool, exchange: Exchange) -> Outcome:
        fields = call() if on_loop else await asyncio.get_running_loop().run_in_executor(None, call)
        exchange.key_ids = exchange.key_ids or key_ids_in(fields)
        return answered(exchange, fields)

    @staticmethod
    async def respond(send: Send, outcome: Outcome, language: str, close: bool = False) -> None:
        fields = outcome.fields
        error = fields.get("Error")
        if error is not None:
            fields = {**fields, "Error": {**error, "Message": localized(error["Code"], error["Message"], language)}}
        await respond(send, orjson.dumps({"Response": {**fields, "RequestId": outcome.request_id}}), close)


def _refuse_absent_features(params: Mapping[str, Any]) -> None:
    for name in MULTI_ACCOUNT_FIELDS:
        if params.get(name):
            raise ApiError("UnsupportedOperation", f"{name} is not supported: OpenKMS has no multi-account management.")
    cluster = params.get(HSM_CLUSTER_FIELD)
    if cluster and cluster != SHARED_HSM_CLUSTER:
        raise ApiError(
            "InvalidParameterValue.InvalidHsmClusterId",
            f"HsmClusterId {cluster[:64]!r} does not exist; OpenKMS has only the shared cluster.",
        )
