"""Regenerate openkms/api/kms_schema.json from the reference API description.

The reference JSON (shared/reference/kms-api-2019-01-18.json) carries the SDK's field names, wire
types and required flags for all 69 actions. OpenKMS keeps a trimmed copy inside the package so the
server validates requests against exactly what the official SDK sends.

Usage: python tools/gen_schema.py ../shared/reference/kms-api-2019-01-18.json
"""

import json
import sys
from pathlib import Path


def wire_type(python_type: str) -> dict[str, str]:
    if python_type.startswith("list of "):
        return {"type": "list", "member": python_type.removeprefix("list of ")}
    if python_type.startswith(":class:"):
        return {"type": "object", "member": python_type.rsplit(".", 1)[-1].rstrip("`")}
    return {"type": {"str": "string", "int": "int", "bool": "bool", "float": "float"}[python_type]}


def main() -> None:
    source = json.loads(Path(sys.argv[1]).read_text())
    actions = {
        name: {
            "request": {f["name"]: {**wire_type(f["type"]), "required": bool(f["required"])} for f in spec["req"]},
            "response": [f["name"] for f in spec["resp"] if f["name"] != "RequestId"],
        }
        for name, spec in sorted(source["actions"].items())
    }
    structs = {
        name: {f["name"]: {**wire_type(f["type"]), "required": bool(f["required"])} for f in fields}
        for name, fields in sorted(source["structs"].items())
    }
    out = Path(__file__).resolve().parent.parent / "openkms" / "api" / "kms_schema.json"
    out.write_text(json.dumps({"actions": actions, "structs": structs}, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
