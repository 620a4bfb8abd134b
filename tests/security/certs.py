"""A throwaway PKI for the security tests: CAs, server and client certificates as PEM files."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_NOW = dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Issued:
    cert_file: Path
    key_file: Path
    serial: int


class Authority:
    """A CA that writes what it issues into `folder`."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(name, "Test PKI")
        self._cert = (
            _builder(subject, subject, self._key.public_key(), _NOW, _NOW + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file = folder / f"{name}-ca.pem"
        self.ca_file.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(
        self,
        common_name: str,
        *,
        organization: str = "ACME Charging",
        hosts: tuple[str, ...] = (),
        valid_days: float = 90.0,
        expired: bool = False,
        file_stem: str | None = None,
    ) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        start = _NOW - dt.timedelta(days=30) if expired else _NOW - dt.timedelta(minutes=5)
        end = _NOW - dt.timedelta(days=1) if expired else _NOW + dt.timedelta(days=valid_days)
        builder = _builder(
            _name(common_name, organization), self._cert.subject, key.public_key(), start, end
        )
        if hosts:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(h) for h in hosts]), critical=False
            )
        cert = builder.sign(self._key, hashes.SHA256())
        stem = self.folder / (file_stem or f"{self.name}-{common_name}")
        cert_file, key_file = stem.with_suffix(".crt.pem"), stem.with_suffix(".key.pem")
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return Issued(cert_file, key_file, cert.serial_number)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    start: dt.datetime,
    end: dt.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)
