"""`openkms serve`: initialise the data folder if it is new, then serve the API."""

import argparse
import dataclasses
import logging
import os
import socket
from typing import Any

from openkms.config.settings import add_arguments, config_from, resolve, show, warnings
from openkms.config.values import CONFIG_ENVIRONMENT_VARIABLE

log = logging.getLogger("openkms")
GRACEFUL_SHUTDOWN_SECONDS = 10
"""How long SIGTERM waits for requests in flight (they take milliseconds) before the process exits
anyway; idle connections, TLS ones included, are dropped at once (api/connections.py)."""

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
    add_arguments(serve)
    serve.set_defaults(run=run)
    config = commands.add_parser("config", help="show the effective configuration of `openkms serve`")
    verbs = config.add_subparsers(dest="config_command", required=True)
    show_parser = verbs.add_parser("show", help="print every setting, and where its value comes from")
    add_arguments(show_parser)
    show_parser.set_defaults(run=run_show)


def run_show(args: argparse.Namespace) -> int:
    print(show(resolve(args)))
    return 0


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from openkms.admin.seed import Seeding, apply_seed
    from openkms.api.connections import hardened_protocol, limits_for, run_workers
    from openkms.crypto.certificates import self_signed_certificate
    from openkms.server.app import OpenKmsApp
    from openkms.server.observability import configure_logging
    from openkms.server.runtime import build_runtime, ensure_first_credential, open_audit_log

    values = resolve(args)
    config = config_from(values)
    configure_logging(config.log_level)
    for warning in warnings(values):
        log.warning("%s", warning)
    runtime = build_runtime(config)
    seed = config.seed
    if seed is not None:
        for change in apply_seed(
            Seeding(runtime.credentials, runtime.keys, runtime.rotation, config.account, config.region), seed
        ):
            print(f"seed: {change}", flush=True)
    if config.tls_self_signed:
        cert, key = self_signed_certificate(config.tls_directory, [config.host, "127.0.0.1", "localhost"])
        config = dataclasses.replace(config, tls_cert=str(cert), tls_key=str(key))
        runtime.config = config
        print(
            f"Serving HTTPS with a self-signed certificate: {cert}; give clients {cert.parent / 'ca.pem'} as their "
            "CA bundle (its issuer vouches for this server's names only, and its key no longer exists)."
        )
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
                region=config.region[0],
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
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: any local process could then
        # write the audit log's source address. Only named proxies are believed.
        "proxy_headers": bool(config.trusted_proxy),
        "forwarded_allow_ips": ",".join(config.trusted_proxy) or None,
        "log_config": None,  # uvicorn's loggers go through the same JSON handler
        # Connection caps, a deadline for headers and body, a bound on header bytes, TLS timeouts.
        "http": hardened_protocol(
            limits_for(
                config.connection_limit,
                config.connection_limit_per_address,
                config.request_timeout,
                config.workers,
                config.trusted_proxy,
            )
        ),
        "loop": "openkms.api.connections:new_event_loop",
        # A WebSocket upgrade leaves the connection's accounting behind; the API has no WebSockets.
        "ws": "none",
    }
    if config.tls_cert:
        common |= {"ssl_certfile": config.tls_cert, "ssl_keyfile": config.tls_key}
    audit = open_audit_log(runtime)
    problem = audit.integrity_problem
    audit.close()
    if problem is not None:
        where = "the audit tables in PostgreSQL" if config.store else str(config.audit_path)
        fix = f"restore {where} from a backup, or accept it knowingly: openkms audit reanchor --data-dir DIR"
        if config.audit_fail_closed:
            print(f"openkms: the audit log cannot be trusted: {problem}. Not serving (fail-closed); {fix}.")
            runtime.close()
            return 1
        log.error("the audit log cannot be trusted: %s; serving unrecorded (fail-open); %s", problem, fix)
    extra = [aws_socket(config.aws_listen, config.host)] if config.aws_listen else []
    if config.workers == 1:
        served = uvicorn.Config(OpenKmsApp(runtime), **common)
        server = uvicorn.Server(served)
        server.run(sockets=[served.bind_socket(), *extra])
        if not server.started:
            return STARTUP_FAILURE
    else:
        runtime.close()
        os.environ[CONFIG_ENVIRONMENT_VARIABLE] = config.to_json()
        run_workers("openkms.server.app:app_from_environment", config.workers, extra, **common)
    return 0


STARTUP_FAILURE = 3
"""The exit status uvicorn.run gives a server that could not start (its lifespan failed, say)."""


def aws_socket(listen: str, default_host: str) -> socket.socket:
    """The --aws-listen socket, bound (every worker accepts on it, as on the API's)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or default_host
    bound = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    bound.bind((host, int(port)))
    bound.set_inheritable(True)
    return bound
