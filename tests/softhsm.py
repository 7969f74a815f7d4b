"""A SoftHSM2 token of the test's own: a real PKCS#11 module, Debian's softhsm2 (installed by .ci/run)."""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")


@dataclass(frozen=True)
class Token:
    module: Path
    label: str
    pin_file: Path
    env: dict[str, str]
    """SOFTHSM2_CONF for any process that opens the token."""

    def args(self) -> tuple[str, ...]:
        return (
            "--trust",
            "pkcs11",
            "--pkcs11-module",
            str(self.module),
            "--pkcs11-token",
            self.label,
            "--pkcs11-pin-file",
            str(self.pin_file),
        )


def make_token(directory: Path, label: str = "openkms") -> Token:
    if not MODULE.exists() or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2; .ci/run installs it)")
    (directory / "tokens").mkdir(parents=True, exist_ok=True)
    config = directory / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {"SOFTHSM2_CONF": str(config)}
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", "4321", "--so-pin", "8765"],
        check=True,
        capture_output=True,
        env={**os.environ, **env},
    )
    pin_file = directory / "pin"
    pin_file.write_text("4321\n")
    return Token(MODULE, label, pin_file, env)
