"""The hall's own certificate authority and the broker's TLS certificate, for keypads on Wi-Fi.

`write-config` makes a hall CA once (kept: keypads trust it, so a rewrite must not change it) and
a broker certificate signed by it for the names keypads connect to. Keypads are given `ca.crt`
(public); `ca.key` and `server.key` stay in the broker's directory, mode 0600. Uses the
`cryptography` package rather than a hand-run `openssl` command line.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_YEARS = 20
SERVER_YEARS = 5


@dataclass(frozen=True)
class BrokerTls:
    """Where the broker's TLS files are: the CA certificate keypads trust, the broker's pair."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def ensure_broker_tls(directory: Path, hall_id: str, names: Sequence[str]) -> BrokerTls:
    """The hall CA in `directory` (made once, then reused) and a fresh broker certificate."""
    from devices.mqtt_broker.mosquitto_files import write_private

    directory.mkdir(parents=True, exist_ok=True)
    ca_cert_path, ca_key_path = directory / "ca.crt", directory / "ca.key"
    now = dt.datetime.now(dt.UTC)
    if ca_cert_path.exists() and ca_key_path.exists():
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        ca_key = loaded
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(f"{hall_id} hall CA")
        ca_cert = (
            _builder(subject, subject, ca_key.public_key(), now, CA_YEARS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        write_private(ca_key_path, _pem_key(ca_key))
        ca_cert_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        ca_cert_path.chmod(0o644)  # public: every keypad is given it
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        _builder(
            _name(names[0] if names else "mqtt-broker"),
            ca_cert.subject,
            server_key.public_key(),
            now,
            SERVER_YEARS,
        )
        .add_extension(x509.SubjectAlternativeName([_alt_name(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_cert_path, server_key_path = directory / "server.crt", directory / "server.key"
    write_private(server_key_path, _pem_key(server_key))
    write_private(server_cert_path, server.public_bytes(serialization.Encoding.PEM).decode())
    return BrokerTls(ca_cert_path, server_cert_path, server_key_path)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePublicKey,
    now: dt.datetime,
    years: int,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365 * years))
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hall-controller"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _alt_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
