"""`openkms credentials` and `openkms policy`: who may call the API, and what each credential may do."""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from openkms.cli.common import add_data_dir, config_of
from openkms.config.values import DEFAULT_ACCOUNT


def add_parsers(commands: Any) -> None:
    credentials = commands.add_parser("credentials", help="create, list and delete API credentials")
    actions = credentials.add_subparsers(dest="credentials_command", required=True)
    create = actions.add_parser("create", help="create a credential and print its SecretId and SecretKey")
    add_data_dir(create)
    create.add_argument(
        "--account", default=DEFAULT_ACCOUNT, help=f"account (UIN) it belongs to (default {DEFAULT_ACCOUNT})"
    )
    create.add_argument("--json", action="store_true", help='print {"SecretId": ..., "SecretKey": ...} as JSON')
    create.set_defaults(run=create_credential)
    listing = actions.add_parser("list", help="list credentials (never their SecretKeys)")
    add_data_dir(listing)
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(run=list_credentials)
    delete = actions.add_parser("delete", help="delete a credential; requests signed with it fail at once")
    add_data_dir(delete)
    delete.add_argument("secret_id", metavar="SECRET_ID")
    delete.set_defaults(run=delete_credential)

    policy = commands.add_parser("policy", help="attach, detach and show a credential's access policies")
    verbs = policy.add_subparsers(dest="policy_command", required=True)
    attach = verbs.add_parser("attach", help="attach (or replace) a named policy; it applies at once")
    add_data_dir(attach)
    attach.add_argument("secret_id", metavar="SECRET_ID")
    attach.add_argument("--name", required=True, help="the policy's name, unique per credential")
    attach.add_argument("--file", required=True, type=Path, help="the policy document (JSON); - for stdin")
    attach.set_defaults(run=attach_policy)
    detach = verbs.add_parser("detach", help="detach a named policy")
    add_data_dir(detach)
    detach.add_argument("secret_id", metavar="SECRET_ID")
    detach.add_argument("--name", required=True)
    detach.set_defaults(run=detach_policy)
    show = verbs.add_parser("show", help="print the credential's policies as JSON")
    add_data_dir(show)
    show.add_argument("secret_id", metavar="SECRET_ID")
    show.add_argument(
        "--unverified",
        action="store_true",
        help="print the policy rows as stored even if they are not the set OpenKMS sealed (to inspect a "
        "credential refused as changed outside OpenKMS)",
    )
    show.set_defaults(run=show_policies)
    replace = verbs.add_parser(
        "replace",
        help="make exactly the policies in FILE the credential's whole set, whatever is stored now "
        "(how a credential refused as changed outside OpenKMS is restored)",
    )
    add_data_dir(replace)
    replace.add_argument("secret_id", metavar="SECRET_ID")
    replace.add_argument(
        "--file", required=True, type=Path, help='[{"name": ..., "document": {...}}, ...] as `show` prints; - for stdin'
    )
    replace.set_defaults(run=replace_policies)


def _runtime(args: argparse.Namespace) -> Any:
    from openkms.server.runtime import build_runtime

    return build_runtime(config_of(args))


def create_credential(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    try:
        credential, secret_key = runtime.credentials.create(args.account)
    finally:
        runtime.close()
    if args.json:
        print(json.dumps({"SecretId": credential.secret_id, "SecretKey": secret_key}))
    else:
        print(f"SecretId:  {credential.secret_id}\nSecretKey: {secret_key}\nAccount:   {credential.account}")
        print("The SecretKey is shown only now; store it safely.", file=sys.stderr)
    return 0


def list_credentials(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    try:
        rows = [
            {"SecretId": c.secret_id, "Account": c.account, "CreateTime": c.create_time}
            for c in runtime.credentials.all()
        ]
    finally:
        runtime.close()
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(f"{row['SecretId']}  account {row['Account']}  created {row['CreateTime']}")
    return 0


def delete_credential(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    try:
        runtime.credentials.delete(args.secret_id)
    finally:
        runtime.close()
    print(f"Deleted {args.secret_id}.")
    return 0


def attach_policy(args: argparse.Namespace) -> int:
    document = sys.stdin.read() if str(args.file) == "-" else args.file.read_text()
    runtime = _runtime(args)
    try:
        runtime.credentials.attach_policy(args.secret_id, args.name, document)
    finally:
        runtime.close()
    print(f"Attached policy {args.name} to {args.secret_id}.")
    return 0


def detach_policy(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    try:
        runtime.credentials.detach_policy(args.secret_id, args.name)
    finally:
        runtime.close()
    print(f"Detached policy {args.name} from {args.secret_id}.")
    return 0


def show_policies(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    try:
        if args.unverified:
            rows, sealed = runtime.credentials.stored_policies(args.secret_id)
        else:
            rows, sealed = tuple((p.name, p.document) for p in runtime.credentials.policies(args.secret_id)), True
    finally:
        runtime.close()
    print(json.dumps([{"name": name, "document": _document(text)} for name, text in rows], indent=2))
    if not sealed:
        print(
            "These rows are NOT the set OpenKMS sealed: they were changed outside OpenKMS, and the credential "
            "refuses every request. Review them and set the intended set with `openkms policy replace`.",
            file=sys.stderr,
        )
        return 1
    if not rows:
        print("No policies: this credential is its account's administrator.", file=sys.stderr)
    return 0


def _document(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # an unverified row may hold anything


def replace_policies(args: argparse.Namespace) -> int:
    listed = json.loads(sys.stdin.read() if str(args.file) == "-" else args.file.read_text())
    if not isinstance(listed, list) or not all(isinstance(p, dict) and {"name", "document"} <= set(p) for p in listed):
        raise ValueError('The file must be a JSON array of {"name": ..., "document": {...}}, as `policy show` prints.')
    documents = {str(p["name"]): json.dumps(p["document"]) for p in listed}
    if len(documents) != len(listed):
        raise ValueError("Two policies in the file have the same name.")
    runtime = _runtime(args)
    try:
        runtime.credentials.replace_policies(args.secret_id, documents)
    finally:
        runtime.close()
    print(f"The policies of {args.secret_id} are now exactly: {', '.join(sorted(documents)) or 'none'}.")
    return 0
