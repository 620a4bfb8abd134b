"""A real MQTT broker process for the tests: mosquitto, else the `amqtt` command, else none.

Both run as a child process on a fixed free port, so a test can stop and restart the broker on
the same port or kill it. `amqtt` pins an old websockets release that clashes with ours, so it
is looked for as a command (installed on its own, e.g. `pipx install amqtt==0.12.1`), never
imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
from base64 import b64encode
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mosquitto_password_line(username: str, password: str) -> str:
    """A password-file line in mosquitto 2's PBKDF2-SHA512 format (`$7$`), as mosquitto_passwd
    writes it, so the tests do not need that tool."""
    salt = os.urandom(12)
    iterations = 101
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, dklen=64)
    return f"{username}:$7${iterations}${b64encode(salt).decode()}${b64encode(digest).decode()}\n"


@dataclass(frozen=True)
class BrokerTls:
    cert_file: Path
    key_file: Path


@dataclass
class Broker:
    """One broker process on `port`; `start`, `stop`, `kill` and `start` again as needed."""

    kind: str  # "mosquitto" or "amqtt"
    directory: Path
    port: int = field(default_factory=free_port)
    users: dict[str, str] = field(default_factory=dict)
    tls: BrokerTls | None = None
    _process: asyncio.subprocess.Process | None = None

    @property
    def supports_auth_and_tls(self) -> bool:
        return self.kind == "mosquitto"

    async def start(self) -> None:
        assert self._process is None, "already running"
        command = self._write_mosquitto() if self.kind == "mosquitto" else self._write_amqtt()
        log = (self.directory / f"{self.kind}.log").open("ab")
        with log:
            self._process = await asyncio.create_subprocess_exec(
                *command, stdout=log, stderr=subprocess.STDOUT
            )
        await self._wait_listening()

    async def stop(self) -> None:
        """Terminate the broker and wait until it has gone."""
        await self._end(signal.SIGTERM)

    async def kill(self) -> None:
        await self._end(signal.SIGKILL)

    def log_text(self) -> str:
        path = self.directory / f"{self.kind}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def _end(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(sig)
        await asyncio.wait_for(process.wait(), 5)

    async def _wait_listening(self) -> None:
        for _ in range(200):
            assert self._process is not None
            if self._process.returncode is not None:
                raise RuntimeError(f"{self.kind} exited:\n{self.log_text()}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                await writer.wait_closed()
                return
            await asyncio.sleep(0.025)
        raise RuntimeError(f"{self.kind} did not listen on {self.port}:\n{self.log_text()}")

    def _write_mosquitto(self) -> list[str]:
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stdout"]
        if os.geteuid() == 0:  # as root mosquitto would switch to a user who cannot read tmp_path
            lines.append(f"user {pwd.getpwuid(os.geteuid()).pw_name}")
        if self.users:
            password_file = self.directory / "passwords"
            password_file.write_text(
                "".join(mosquitto_password_line(u, p) for u, p in self.users.items())
            )
            password_file.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if self.tls is not None:
            lines += [f"certfile {self.tls.cert_file}", f"keyfile {self.tls.key_file}"]
        conf = self.directory / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return ["mosquitto", "-c", str(conf)]

    def _write_amqtt(self) -> list[str]:
        conf = self.directory / "amqtt.yaml"
        conf.write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            f"    bind: 127.0.0.1:{self.port}\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n"
        )
        return ["amqtt", "-c", str(conf)]


def available_broker_kind() -> str | None:
    """mosquitto if on PATH, else amqtt if on PATH, else None."""
    for kind in ("mosquitto", "amqtt"):
        if shutil.which(kind) is not None:
            return kind
    return None
