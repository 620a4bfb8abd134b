from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from localctl.security.passwords import hash_password
from tests.io.conftest import csms, schemas
from tests.security.certs import Authority, Issued

__all__ = ["STATION_HASH", "STATION_PASSWORD", "Pki", "csms", "pki", "schemas"]

STATION_PASSWORD = "Station-Passw0rd-1234"
# hashing is deliberately slow: hash once for the whole run
STATION_HASH = hash_password(STATION_PASSWORD)


@dataclass(frozen=True)
class Pki:
    stations_ca: Authority
    """signs station client certificates (and the controller's own client certificate)"""
    servers_ca: Authority
    """signs the controller's server certificate and the CSMS's"""
    rogue_ca: Authority
    """trusted by nobody"""
    server: Issued


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    servers = Authority(tmp_path, "servers")
    return Pki(
        stations_ca=Authority(tmp_path, "stations"),
        servers_ca=servers,
        rogue_ca=Authority(tmp_path, "rogue"),
        server=servers.issue("localctl.local", hosts=("localhost", "127.0.0.1")),
    )
