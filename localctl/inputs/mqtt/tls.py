"""The TLS context of the broker connection."""

from __future__ import annotations

import ssl

from localctl.inputs.mqtt.config import MqttTlsConfig

__all__ = ["tls_context"]


class _SocketClosedOnFailedHandshake(ssl.SSLSocket):
    """paho drops the socket without closing it when the TLS handshake fails (a wrong CA, a
    plain-TCP port), leaking a file descriptor on every reconnection attempt; close it here."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def tls_context(tls: MqttTlsConfig) -> ssl.SSLContext:
    """The SSL context for `tls`: the CA file (or system CAs), client certificate, checks."""
    context = ssl.create_default_context(cafile=tls.ca_file)
    context.sslsocket_class = _SocketClosedOnFailedHandshake
    if tls.cert_file is not None and tls.key_file is not None:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
