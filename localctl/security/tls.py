"""SSL contexts for both sides, and the identity in a station's client certificate.

A00.FR.313/416: TLS 1.2 or above only. A00.FR.318/421: the server supports
TLS_ECDHE_ECDSA_WITH_AES_{128,256}_GCM and TLS_RSA_WITH_AES_{128,256}_GCM (and, since
TLS_RSA has no forward secrecy, the ECDHE_RSA equivalents are offered first for RSA keys);
nothing else for TLS 1.2, so no suite "unsuitable for legacy use" (A00.FR.320/423).
TLS 1.3 suites are all AEAD and stay as OpenSSL sets them. A00.FR.321/424: no TLS compression.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localctl.config.security import StationTlsConfig, UpstreamCredentialsConfig

__all__ = [
    "OCPP_TLS12_CIPHERS",
    "client_context",
    "on_handshake_failure",
    "peer_subject",
    "server_context",
]

OCPP_TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
    )
)


def _harden(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(OCPP_TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION
    return context


def server_context(tls: StationTlsConfig, *, client_certificates: bool) -> ssl.SSLContext:
    """The station-side server context. With `client_certificates` (some station uses
    profile 3) a certificate is requested and, when sent, verified against client_ca_file;
    whether it was required is decided per station after the handshake, since profile 2
    stations share the port and send none."""
    context = _harden(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    context.load_cert_chain(tls.cert_file, tls.key_file)
    if client_certificates and tls.client_ca_file is not None:
        context.load_verify_locations(cafile=tls.client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL  # A00.FR.403: verified by OpenSSL when sent
    return context


def client_context(credentials: UpstreamCredentialsConfig) -> ssl.SSLContext:
    """The upstream client context: the CSMS is verified by default (A00.FR.308/309)."""
    context = _harden(ssl.create_default_context(cafile=_path(credentials.ca_file)))
    if credentials.cert_file is not None and credentials.key_file is not None:
        context.load_cert_chain(credentials.cert_file, credentials.key_file)  # A00.FR.402
    if not credentials.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def on_handshake_failure(context: ssl.SSLContext, report: Callable[[str, str], None]) -> None:
    """Call `report(reason, detail)` when a TLS handshake on `context` fails for a reason the
    peer caused (an untrusted or expired client certificate, no common version or suite).
    Such stations never reach the HTTP handshake, so this is the only place to count them."""

    class _Reporting(ssl.SSLObject):
        def do_handshake(self) -> None:
            try:
                super().do_handshake()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                raise  # not a failure: the handshake needs more bytes
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                raise  # the peer went away; nothing to blame it for
            except ssl.SSLCertVerificationError as exc:
                report("client_certificate", exc.verify_message)  # A00.FR.407
                raise
            except ssl.SSLError as exc:
                report("tls_handshake", exc.reason or str(exc))  # A00.FR.315/322
                raise

    context.sslobject_class = _Reporting


def peer_subject(peercert: Any) -> dict[str, str]:
    """The subject RDNs of a verified peer certificate (`SSLObject.getpeercert()`), e.g.
    ``{"commonName": "CS001", "organizationName": "ACME"}``; empty when there is none."""
    if not isinstance(peercert, dict):
        return {}
    return {
        key: value
        for rdn in peercert.get("subject", ())
        for key, value in rdn
        if isinstance(key, str) and isinstance(value, str)
    }


def _path(path: Path | None) -> str | None:
    return None if path is None else str(path)
