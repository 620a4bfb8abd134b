"""RawCsms behind TLS: wss://localhost with a certificate, optionally requiring client ones."""

from __future__ import annotations

import ssl

from websockets.asyncio.server import serve

from tests.io.rawpeers import RawCsms
from tests.security.certs import Authority, Issued


class TlsCsms(RawCsms):
    def __init__(self, server: Issued, client_ca: Authority | None = None) -> None:
        super().__init__()
        self.ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl.load_cert_chain(server.cert_file, server.key_file)
        if client_ca is not None:
            self.ssl.load_verify_locations(cafile=client_ca.ca_file)
            self.ssl.verify_mode = ssl.CERT_REQUIRED

    @property
    def url(self) -> str:
        return super().url.replace("ws://127.0.0.1", "wss://localhost")

    async def __aenter__(self) -> TlsCsms:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            subprotocols=self._subprotocols,
            process_request=self._process_request,
            compression=self._compression,
            ssl=self.ssl,
        )
        return self
