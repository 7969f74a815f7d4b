"""`openkms serve`: initialise the data folder if it is new, then serve the API."""

import argparse
import dataclasses
import os
from typing import Any

from openkms.cli.common import add_data_dir
from openkms.config import (
    CONFIG_ENVIRONMENT_VARIABLE,
    DEFAULT_ACCOUNT,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REGION,
    Config,
)
from openkms.ratelimit import RateConfig

GRACEFUL_SHUTDOWN_SECONDS = 10
"""How long SIGTERM waits for requests in flight (they take milliseconds) and for idle TLS connections,
whose close waits for the client's close_notify, before the process exits anyway."""

SDK_SNIPPET = """\
Point the Tencent Cloud SDK at it (pip install tencentcloud-sdk-python-kms):

    import json
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.kms.v20190118 import kms_client, models

    secret = json.load(open("{path}"))
    cred = credential.Credential(secret["SecretId"], secret["SecretKey"])
    profile = ClientProfile(httpProfile=HttpProfile(endpoint="{endpoint}", protocol="{scheme}"{certification}))
    client = kms_client.KmsClient(cred, "{region}", profile)
    request = models.GenerateRandomRequest()
    request.NumberOfBytes = 16
    print(client.GenerateRandom(request).Plaintext)
"""


def add_parser(commands: Any) -> None:
    serve = commands.add_parser("serve", help="initialise the data folder if it is empty, then serve the API")
    add_data_dir(serve)
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    serve.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    serve.add_argument(
        "--region",
        action="append",
        dest="regions",
        metavar="REGION",
        help=f"a region to serve; repeat for several, the first is the default (default {DEFAULT_REGION})",
    )
    serve.add_argument(
        "--account", default=DEFAULT_ACCOUNT, help=f"account (UIN) of the first credential (default {DEFAULT_ACCOUNT})"
    )
    serve.add_argument(
        "--maintenance-interval",
        type=float,
        default=60.0,
        help="seconds between runs of scheduled work: deletions, rotations, expiry of imported material (default 60)",
    )
    serve.add_argument(
        "--rate-limit",
        action="append",
        dest="rate_limits",
        metavar="SPEC",
        default=[],
        help="requests per second per account: GROUP=N or GROUP=off (a group is symmetric, GenerateDataKey, "
        "GenerateRandom, asymmetric-decrypt, post-quantum or any other action's name), default=N for the "
        "actions in no group, or off for no limits at all; repeatable (default: Tencent Cloud's quotas)",
    )
    serve.add_argument(
        "--audit",
        choices=["fail-closed", "fail-open"],
        default="fail-closed",
        help="when the audit log cannot be written: refuse requests (fail-closed, the default) or serve them "
        "unrecorded (fail-open)",
    )
    serve.add_argument("--tls-cert", default="", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    serve.add_argument("--tls-key", default="", metavar="FILE", help="the private key of --tls-cert (PEM)")
    serve.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="serve HTTPS with a self-signed certificate made in DATA_DIR/tls (printed at start-up)",
    )
    serve.add_argument(
        "--metrics-listen",
        default="",
        metavar="HOST:PORT",
        help="serve Prometheus /metrics on this address instead of the API port (with one worker)",
    )
    serve.add_argument(
        "--key-cache",
        type=int,
        default=1_000_000,
        metavar="N",
        help="keys each process keeps unwrapped in memory for the hot path (default 1000000)",
    )
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from openkms.app import OpenKmsApp, build_runtime, ensure_first_credential
    from openkms.crypto.certificates import self_signed_certificate
    from openkms.observability import configure_logging

    RateConfig.parse(args.rate_limits)  # refuse a bad --rate-limit before anything starts
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("openkms: --tls-cert and --tls-key go together")
    config = Config(
        data_dir=args.data_dir.resolve(),
        host=args.host,
        port=args.port,
        workers=args.workers,
        regions=tuple(args.regions or [DEFAULT_REGION]),
        account=args.account,
        maintenance_interval_seconds=args.maintenance_interval,
        log_level=args.log_level,
        rate_limits=tuple(args.rate_limits),
        audit_fail_closed=args.audit == "fail-closed",
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        key_cache_entries=args.key_cache,
        metrics_listen=args.metrics_listen,
    )
    if config.metrics_listen and config.workers != 1:
        raise SystemExit("openkms: --metrics-listen needs --workers 1 (each worker would bind the address)")
    configure_logging(args.log_level)
    runtime = build_runtime(config)
    if args.tls_self_signed:
        cert, key = self_signed_certificate(config.tls_directory, [config.host, "127.0.0.1", "localhost"])
        config = dataclasses.replace(config, tls_cert=str(cert), tls_key=str(key))
        runtime.config = config
        print(f"Serving HTTPS with a self-signed certificate: {cert} (give it to clients as their CA bundle).")
    scheme = "https" if config.tls_cert else "http"
    if ensure_first_credential(runtime):
        print(f"Initialised {config.data_dir}: a new master key and database.")
        print(f"The first credential is in {config.first_credential_path} (mode 0600, account {config.account}).")
        certification = f', certification="{config.tls_cert}"' if config.tls_cert else ""
        print(
            SDK_SNIPPET.format(
                path=config.first_credential_path,
                endpoint=f"{config.host}:{config.port}",
                scheme=scheme,
                certification=certification,
                region=config.regions[0],
            ),
            flush=True,
        )
    common: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "log_level": config.log_level,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        "server_header": False,
        "date_header": False,
        "access_log": False,  # openkms.requests logs each request, as JSON
        "log_config": None,  # uvicorn's loggers go through the same JSON handler
    }
    if config.tls_cert:
        common |= {"ssl_certfile": config.tls_cert, "ssl_keyfile": config.tls_key}
    if config.workers == 1:
        uvicorn.run(OpenKmsApp(runtime), **common)
    else:
        runtime.close()
        os.environ[CONFIG_ENVIRONMENT_VARIABLE] = config.to_json()
        uvicorn.run("openkms.app:app_from_environment", factory=True, workers=config.workers, **common)
    return 0
