"""The controller's own credentials towards the CSMS, per station or by default.

Per OCPP 2.0.1 part 4, 6.5 the controller is the station towards the CSMS, with its own
password and certificates: the station's Authorization header never goes upstream. Contexts
and headers are built once at start, so a handshake only looks them up.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from localctl.config.loader import ConfigError
from localctl.config.security import UpstreamCredentialsConfig, UpstreamSecurityConfig
from localctl.security.basic_auth import BasicCredentials, basic_auth_header
from localctl.security.redact import redactor
from localctl.security.reload import WatchedChain
from localctl.security.tls import client_context

__all__ = ["MissingSecretError", "UpstreamAccess", "UpstreamSecurity"]


class MissingSecretError(ConfigError):
    """A configured environment variable holding a secret is not set."""


@dataclass(frozen=True, slots=True)
class UpstreamAccess:
    ssl_context: ssl.SSLContext | None
    password: str | None
    username: str | None

    def authorization(self, station_id: str) -> str | None:
        if self.password is None:
            return None
        return basic_auth_header(BasicCredentials(self.username or station_id, self.password))


class UpstreamSecurity:
    def __init__(
        self, config: UpstreamSecurityConfig, *, tls: bool, environ: Mapping[str, str] = os.environ
    ) -> None:
        self._config = config
        self._default = _access(config.default, tls, environ)
        self._stations = {s.id: _access(s, tls, environ) for s in config.stations}

    def access(self, station_id: str) -> UpstreamAccess:
        return self._stations.get(station_id, self._default)

    def chains(self) -> list[WatchedChain]:
        """The client certificates to reload when their files change (profile 3)."""
        configured: list[tuple[str, UpstreamCredentialsConfig, UpstreamAccess]] = [
            ("upstream client (default)", self._config.default, self._default)
        ]
        configured += [
            (f"upstream client ({s.id})", s, self._stations[s.id]) for s in self._config.stations
        ]
        return [
            WatchedChain(name, access.ssl_context, credentials.cert_file, credentials.key_file)
            for name, credentials, access in configured
            if access.ssl_context is not None
            and credentials.cert_file is not None
            and credentials.key_file is not None
        ]


def _access(
    credentials: UpstreamCredentialsConfig, tls: bool, environ: Mapping[str, str]
) -> UpstreamAccess:
    password = None
    if credentials.password_env is not None:
        password = environ.get(credentials.password_env)
        if not password:
            raise MissingSecretError(
                f"relay.upstream_security: environment variable {credentials.password_env} "
                "(the controller's CSMS password) is not set"
            )
        redactor.add_secret(password)
    context = client_context(credentials) if tls else None
    return UpstreamAccess(context, password, credentials.username)
