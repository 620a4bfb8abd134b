"""What the relay shell asks of security: the server's SSL context, admit-or-refuse for a
station's handshake, and the options of its upstream connect().

Refusals follow the 2.0.1 part 2 basic-auth sequence (RFC 7617): 401 with a Basic challenge
for a missing or wrong password; 403 when a client certificate is valid but is not this
station's; 429 with Retry-After while the source address is rate-limited.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from localctl.config.model import RelayConfig
from localctl.security.redact import install_redaction
from localctl.security.reload import CertificateWatcher, WatchedChain
from localctl.security.station_auth import StationAuthenticator
from localctl.security.tls import on_handshake_failure, server_context
from localctl.security.upstream import UpstreamSecurity

__all__ = ["RelaySecurity"]

_CHALLENGE = 'Basic realm="OCPP", charset="UTF-8"'


class RelaySecurity:
    def __init__(
        self,
        config: RelayConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        stations = config.station_security
        self.authenticator = StationAuthenticator(stations, clock) if stations else None
        tls = stations.tls if stations else None
        self.server_ssl = None
        chains: list[WatchedChain] = []
        if stations is not None and tls is not None:
            profile_3 = 3 in {stations.default_profile} | {s.profile for s in stations.stations}
            self.server_ssl = server_context(tls, client_certificates=profile_3)
            chains.append(
                WatchedChain(
                    "station-side server",
                    self.server_ssl,
                    tls.cert_file,
                    tls.key_file,
                    tls.client_ca_file if profile_3 else None,
                )
            )
        if self.server_ssl is not None and self.authenticator is not None:
            on_handshake_failure(self.server_ssl, self.authenticator.tls_failed)
        wss = config.upstream_url.startswith("wss://")
        self.upstream = UpstreamSecurity(config.upstream_security, tls=wss, environ=environ)
        chains += self.upstream.chains()
        self.check_interval_s = tls.check_interval_s if tls else 10.0
        self.certificates = CertificateWatcher(
            chains,
            expiry_warning_days=tls.expiry_warning_days if tls else 30.0,
            wall_clock=wall_clock,
        )
        install_redaction()

    async def admit(
        self, connection: ServerConnection, station_id: str, request: Request
    ) -> Response | None:
        if self.authenticator is None:
            return None
        address = connection.remote_address
        refusal = await self.authenticator.check(
            station_id,
            request.headers.get("Authorization"),
            connection.transport.get_extra_info("peercert"),
            str(address[0]) if address else "?",
        )
        if refusal is None:
            return None
        response = connection.respond(refusal.status, f"{refusal.status.phrase}\n")
        if refusal.status == 401:
            response.headers["WWW-Authenticate"] = _CHALLENGE
        if refusal.retry_after_s > 0:
            response.headers["Retry-After"] = str(math.ceil(refusal.retry_after_s))
        return response

    def upstream_options(self, station_id: str) -> dict[str, Any]:
        """Keyword arguments for websockets connect(): the controller's own TLS context and
        Authorization header (never the station's)."""
        access = self.upstream.access(station_id)
        options: dict[str, Any] = {}
        if access.ssl_context is not None:
            options["ssl"] = access.ssl_context
        authorization = access.authorization(station_id)
        if authorization is not None:
            options["additional_headers"] = {"Authorization": authorization}
        return options
