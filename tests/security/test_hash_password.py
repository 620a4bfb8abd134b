"""`localctl hash-password` reads a password from stdin and prints a hash the config accepts."""

from __future__ import annotations

import subprocess
import sys

from localctl.config.security import StationAuthConfig
from localctl.security.passwords import verify_password


def hash_password_cli(stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localctl", "hash-password"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_printed_hash_verifies_the_password_and_is_accepted_by_the_config() -> None:
    done = hash_password_cli("Station-Passw0rd-1234\n")
    assert done.returncode == 0, done.stderr
    printed = done.stdout.strip()
    assert verify_password("Station-Passw0rd-1234", printed)
    assert "Station-Passw0rd-1234" not in done.stdout + done.stderr
    StationAuthConfig(id="CS1", password_hash=printed)


def test_a_password_too_short_for_a00_fr_205_is_refused() -> None:
    done = hash_password_cli("short\n")
    assert done.returncode == 2
    assert "16 to 40" in done.stderr
    assert done.stdout == ""
