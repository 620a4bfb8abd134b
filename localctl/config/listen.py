"""A server's listening address, `HOST:PORT` (an IPv6 host in brackets), shared by the
station-side relay and the operator API."""

from __future__ import annotations

import ipaddress

from pydantic import field_validator

from localctl.config.base import StrictModel


class ListenAddress(StrictModel):
    """A model with a `listen` field; subclasses declare the field with its default."""

    listen: str

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, listen: str) -> str:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError("must be HOST:PORT, e.g. 0.0.0.0:9000")
        return listen

    @property
    def listen_host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def listen_port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def loopback_only(self) -> bool:
        """Only this machine can connect (the host is localhost or a loopback address)."""
        host = self.listen_host
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
