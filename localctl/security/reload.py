"""Certificate and key reload on live SSL contexts, and expiry warnings.

`SSLContext.load_cert_chain` on the context a server already listens with changes what new
handshakes present; established connections keep their session, so no station is dropped.
Files are first loaded into a scratch context: a half-written pair (new certificate, old key)
fails there and the live context keeps its working chain until the next check.
A CA file is added to the live context's store (OpenSSL cannot remove one from a live store):
taking a CA out of trust needs a restart.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

__all__ = ["CertificateWatcher", "WatchedChain", "days_left"]

log = logging.getLogger("localctl.security")
_SECONDS_PER_DAY = 86_400.0
_Stamp = tuple[int, int, int]


@dataclass(slots=True)
class WatchedChain:
    """One live context and the files it was loaded from."""

    name: str
    context: ssl.SSLContext
    cert_file: Path
    key_file: Path
    ca_file: Path | None = None
    stamps: tuple[_Stamp | None, ...] = field(default=())

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.cert_file, self.key_file) + ((self.ca_file,) if self.ca_file else ())


class CertificateWatcher:
    def __init__(
        self,
        chains: list[WatchedChain],
        *,
        expiry_warning_days: float,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.chains = chains
        self._warning_days = expiry_warning_days
        self._wall_clock = wall_clock
        self.reloads = 0
        """chains reloaded since start (tests and logs)"""
        for chain in chains:
            chain.stamps = _stamps(chain.files)
            self._warn_expiry(chain)

    def check(self) -> list[str]:
        """Reload every chain whose files changed; the names of those reloaded."""
        changed = [c for c in self.chains if _stamps(c.files) != c.stamps]
        return [c.name for c in changed if self._reload(c)]

    def reload_all(self) -> list[str]:
        """SIGHUP: reload every chain whether or not its files look changed."""
        return [c.name for c in self.chains if self._reload(c)]

    async def run(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            self.check()

    def _reload(self, chain: WatchedChain) -> bool:
        stamps = _stamps(chain.files)
        try:
            scratch = ssl.SSLContext(chain.context.protocol)
            scratch.load_cert_chain(chain.cert_file, chain.key_file)
            chain.context.load_cert_chain(chain.cert_file, chain.key_file)
            if chain.ca_file is not None:
                chain.context.load_verify_locations(cafile=chain.ca_file)
        except (OSError, ssl.SSLError) as exc:
            # keep serving the old chain; the next check retries (files may be mid-copy)
            log.error("cannot reload the %s certificate: %s", chain.name, exc)
            return False
        chain.stamps = stamps
        self.reloads += 1
        log.info("reloaded the %s certificate from %s", chain.name, chain.cert_file)
        self._warn_expiry(chain)
        return True

    def _warn_expiry(self, chain: WatchedChain) -> None:
        try:
            left = days_left(chain.cert_file, self._wall_clock())
        except (OSError, ValueError) as exc:
            log.warning("cannot read the expiry of %s: %s", chain.cert_file, exc)
            return
        if left < 0:
            log.error("the %s certificate %s has EXPIRED", chain.name, chain.cert_file)
        elif left < self._warning_days:
            log.warning(
                "the %s certificate %s expires in %.1f days", chain.name, chain.cert_file, left
            )


def days_left(cert_file: Path, now_s: float) -> float:
    """Days until the first certificate in `cert_file` expires (negative: expired)."""
    certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return (certificate.not_valid_after_utc.timestamp() - now_s) / _SECONDS_PER_DAY


def _stamps(files: tuple[Path, ...]) -> tuple[_Stamp | None, ...]:
    return tuple(_stamp(f) for f in files)


def _stamp(path: Path) -> _Stamp | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)
