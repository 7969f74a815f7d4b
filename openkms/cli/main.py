"""The `openkms` command: serve the API, and administer credentials."""

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from openkms.config import (
    CONFIG_ENVIRONMENT_VARIABLE,
    DEFAULT_ACCOUNT,
    DEFAULT_DATA_DIR,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REGION,
    Config,
)
from openkms.errors import KmsError

SDK_SNIPPET = """\
Point the Tencent Cloud SDK at it (pip install tencentcloud-sdk-python-kms):

    import json
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.kms.v20190118 import kms_client, models

    secret = json.load(open("{path}"))
    cred = credential.Credential(secret["SecretId"], secret["SecretKey"])
    profile = ClientProfile(httpProfile=HttpProfile(endpoint="{endpoint}", protocol="http"))
    client = kms_client.KmsClient(cred, "{region}", profile)
    request = models.GenerateRandomRequest()
    request.NumberOfBytes = 16
    print(client.GenerateRandom(request).Plaintext)
"""


def _data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"folder holding the master key and the database (default: $OPENKMS_DATA_DIR or {DEFAULT_DATA_DIR})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openkms", description="A self-hosted KMS speaking Tencent Cloud KMS API 3.0")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="initialise the data folder if it is empty, then serve the API")
    _data_dir(serve)
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
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])

    credentials = commands.add_parser("credentials", help="create, list and delete API credentials")
    actions = credentials.add_subparsers(dest="credentials_command", required=True)
    create = actions.add_parser("create", help="create a credential and print its SecretId and SecretKey")
    _data_dir(create)
    create.add_argument(
        "--account", default=DEFAULT_ACCOUNT, help=f"account (UIN) it belongs to (default {DEFAULT_ACCOUNT})"
    )
    create.add_argument("--json", action="store_true", help='print {"SecretId": ..., "SecretKey": ...} as JSON')
    listing = actions.add_parser("list", help="list credentials (never their SecretKeys)")
    _data_dir(listing)
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    delete = actions.add_parser("delete", help="delete a credential; requests signed with it fail at once")
    _data_dir(delete)
    delete.add_argument("secret_id", metavar="SECRET_ID")
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from openkms.app import OpenKmsApp, build_runtime, ensure_first_credential

    config = Config(
        data_dir=args.data_dir.resolve(),
        host=args.host,
        port=args.port,
        workers=args.workers,
        regions=tuple(args.regions or [DEFAULT_REGION]),
        account=args.account,
        maintenance_interval_seconds=args.maintenance_interval,
        log_level=args.log_level,
    )
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime = build_runtime(config)
    if ensure_first_credential(runtime):
        print(f"Initialised {config.data_dir}: a new master key and database.")
        print(f"The first credential is in {config.first_credential_path} (mode 0600, account {config.account}).")
        print(
            SDK_SNIPPET.format(
                path=config.first_credential_path, endpoint=f"{config.host}:{config.port}", region=config.regions[0]
            ),
            flush=True,
        )
    common: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "log_level": config.log_level,
        "timeout_graceful_shutdown": 30,
        "server_header": False,
        "date_header": False,
    }
    if config.workers == 1:
        uvicorn.run(OpenKmsApp(runtime), **common)
    else:
        runtime.close()
        os.environ[CONFIG_ENVIRONMENT_VARIABLE] = config.to_json()
        uvicorn.run("openkms.app:app_from_environment", factory=True, workers=config.workers, **common)
    return 0


def _credentials(args: argparse.Namespace) -> int:
    from openkms.app import build_runtime

    runtime = build_runtime(Config(data_dir=args.data_dir.resolve()))
    try:
        if args.credentials_command == "create":
            credential, secret_key = runtime.credentials.create(args.account)
            if args.json:
                print(json.dumps({"SecretId": credential.secret_id, "SecretKey": secret_key}))
            else:
                print(f"SecretId:  {credential.secret_id}\nSecretKey: {secret_key}\nAccount:   {credential.account}")
                print("The SecretKey is shown only now; store it safely.", file=sys.stderr)
        elif args.credentials_command == "list":
            rows = [
                {"SecretId": c.secret_id, "Account": c.account, "CreateTime": c.create_time}
                for c in runtime.credentials.list()
            ]
            if args.json:
                print(json.dumps(rows))
            else:
                for row in rows:
                    print(f"{row['SecretId']}  account {row['Account']}  created {row['CreateTime']}")
        elif args.credentials_command == "delete":
            runtime.credentials.delete(args.secret_id)
            print(f"Deleted {args.secret_id}.")
    finally:
        runtime.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.umask(0o077)  # the database, its journal and every file written here are the owner's alone
    try:
        if args.command == "serve":
            return _serve(args)
        return _credentials(args)
    except KmsError as exc:
        print(f"openkms: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
