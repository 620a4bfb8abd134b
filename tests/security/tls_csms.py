"""RawCsms behind TLS: wss://localhost with a certificate, optionally requiring client ones."""

from __future__ import annotations

import ssl

from tests.io.rawpeers import RawCsms
from tests.security.certs import Authority, Issued


class TlsCsms(RawCsms):
    def __init__(self, server: Issued, client_ca: Authority | None = None) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(server.cert_file, server.key_file)
        if client_ca is not None:
            context.load_verify_locations(cafile=client_ca.ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
        super().__init__(ssl_context=context)

    @property
    def url(self) -> str:
        return super().url.replace("ws://127.0.0.1", "wss://localhost")
