"""Is this station allowed in? The CSMS role of A00, decided during the WebSocket handshake.

Profiles 1 and 2: HTTP Basic with the station identity as user name (A00.FR.204/303) and a
password checked against the configured scrypt hash (A00.FR.207/324). Profile 3: the TLS
layer has verified the client certificate's path (A00.FR.403, refusing an expired or untrusted
one before any HTTP); here its subject CN must be the station identity (A00.FR.405) and, when
configured, its O the operator's name (A00.FR.404). Every refusal is counted by reason and
takes a token from its source address's bucket.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from localctl.config.security import StationSecurityConfig
from localctl.security.basic_auth import parse_basic_auth
from localctl.security.passwords import verify_password
from localctl.security.ratelimit import FailureLimiter
from localctl.security.tls import peer_subject

__all__ = ["Refusal", "StationAuthenticator"]

log = logging.getLogger("localctl.security")
_PARALLEL_DERIVATIONS = 2


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a handshake is refused, and the HTTP answer that says so."""

    status: HTTPStatus
    reason: str  # a metrics label: no_credentials, bad_password, certificate_identity, ...
    retry_after_s: float = 0.0


class _VerifiedPasswords:
    """A successful scrypt check is remembered as an HMAC under a per-process random key, so a
    restart storm of stations costs one 40 ms derivation per station, not per reconnection.
    A failed check is never remembered: every wrong guess pays the full derivation."""

    def __init__(self) -> None:
        self._key = os.urandom(32)
        self._known: dict[str, tuple[str, bytes]] = {}
        # Each derivation takes 16 MiB, and glibc keeps a thread's arena once it has grown:
        # a restart storm with the default pool's many threads would add ~100 MiB for good.
        self._derivations = asyncio.Semaphore(_PARALLEL_DERIVATIONS)

    async def check(self, station_id: str, password: str, encoded_hash: str) -> bool:
        tag = hmac.new(self._key, password.encode(), hashlib.sha256).digest()
        known = self._known.get(station_id)
        if known is not None and known[0] == encoded_hash:
            return hmac.compare_digest(known[1], tag)
        async with self._derivations:  # ~40 ms of C without the GIL: off the event loop
            if not await asyncio.to_thread(verify_password, password, encoded_hash):
                return False
        self._known[station_id] = (encoded_hash, tag)
        return True


class StationAuthenticator:
    def __init__(self, config: StationSecurityConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._limiter = FailureLimiter(config.failed_auth_burst, config.failed_auth_refill_s, clock)
        self._passwords = _VerifiedPasswords()
        self.failures: Counter[str] = Counter()
        """refusal reason -> handshakes refused (what `localctl_station_auth_failures` shows)"""

    async def check(
        self, station_id: str, authorization: str | None, peercert: Any, address: str
    ) -> Refusal | None:
        """None to admit the station, else the refusal (already counted and logged)."""
        retry_after_s = self._limiter.retry_after_s(address)
        if retry_after_s > 0:
            self.failures["rate_limited"] += 1
            return Refusal(HTTPStatus.TOO_MANY_REQUESTS, "rate_limited", retry_after_s)
        if self._config.profile_of(station_id) == 3:
            reason = self._certificate_problem(station_id, peercert)
            status = HTTPStatus.FORBIDDEN
        else:
            reason = await self._password_problem(station_id, authorization)
            status = HTTPStatus.UNAUTHORIZED
        if reason is None:
            return None
        self._limiter.failed(address)
        self.failures[reason] += 1
        log.warning(
            "refused %s from %s: %s", station_id, address, reason, extra={"station_id": station_id}
        )
        return Refusal(status, reason)

    def tls_failed(self, reason: str, detail: str) -> None:
        """A station's TLS handshake failed (see tls.on_handshake_failure); the peer's address
        is not known at that layer, so this is counted but not rate-limited."""
        self.failures[reason] += 1
        log.warning("refused a station's TLS handshake: %s (%s)", reason, detail)

    async def _password_problem(self, station_id: str, authorization: str | None) -> str | None:
        credentials = parse_basic_auth(authorization)
        if credentials is None:
            return "no_credentials"  # A00.FR.203: credentials with every connection request
        if credentials.username != station_id:
            return "wrong_username"  # A00.FR.204: the user name is the identity in the URL
        station = self._config.station(station_id)
        if station is None or station.password_hash is None:
            return "unknown_station"
        if not await self._passwords.check(station_id, credentials.password, station.password_hash):
            return "bad_password"  # A00.FR.207
        return None

    def _certificate_problem(self, station_id: str, peercert: Any) -> str | None:
        subject = peer_subject(peercert)
        if not subject:
            return "no_certificate"  # A00.FR.407: no valid certificate
        if subject.get("commonName") != station_id:
            return "certificate_identity"  # A00.FR.405
        organization = self._config.tls.client_organization if self._config.tls else None
        if organization is not None and subject.get("organizationName") != organization:
            return "certificate_organization"  # A00.FR.404
        return None
