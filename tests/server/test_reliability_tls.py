"""TLS end to end: ``modconsole-server serve --certfile --keyfile`` serves wss://, and the clients
trust a CA given with ``cafile`` (MeetingClient), ``--cafile`` (``modconsole ctl``, ``modconsole join``).

The test makes its own CA and a server certificate for 127.0.0.1 and localhost (with the
``cryptography`` package of the test extra, else with ``openssl``). A client without the CA is refused
with an error that says the certificate is not trusted and what to do; a plain ws:// client gets nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import re
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.processes import stop_server
from support.servers import MAYORS_CALL, run_cli, script
from support.tui import until

from modconsole.client import ClientError, MeetingClient
from modconsole.core import commands as c
from modconsole.tui import LiveLink, create_app


@dataclass
class Pki:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path  # a CA that did not sign the server's certificate


def _with_cryptography(folder: Path) -> Pki:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def ca(common: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(name(common))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return key, cert

    ca_key, ca_cert = ca("modconsole test CA")
    _, other_cert = ca("someone else's CA")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "other-ca.pem")
    pki.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.other_ca.write_bytes(other_cert.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return pki


def _with_openssl(folder: Path) -> Pki:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    for ca_name, subject in (("ca", "modconsole test CA"), ("other-ca", "someone else's CA")):
        run(
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={subject}",
            "-keyout",
            f"{ca_name}.key",
            "-out",
            f"{ca_name}.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        )
    run(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    )
    (folder / "ext.cnf").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    )
    return Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "other-ca.pem")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    try:
        return _with_cryptography(folder)
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither the cryptography package nor openssl is here to make certificates")
        return _with_openssl(folder)


@dataclass
class TlsServer:
    url: str
    port: int
    tokens: dict
    db: Path


@pytest.fixture
def tls_server(tmp_path: Path, pki: Pki) -> Iterator[TlsServer]:
    db = tmp_path / "tls.db"
    created = run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db, "--json")
    assert created.returncode == 0, created.stderr
    process = subprocess.Popen(
        [
            script("modconsole-server"),
            "serve",
            "--db",
            str(db),
            "--port",
            "0",
            "--certfile",
            str(pki.cert),
            "--keyfile",
            str(pki.key),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"listening on wss://127\.0\.0\.1:(\d+)\s*", line)
        assert match, f"the server did not start: {line!r}"
        port = int(match.group(1))
        yield TlsServer(f"wss://127.0.0.1:{port}", port, json.loads(created.stdout)["tokens"], db)
    finally:
        stop_server(process)


async def test_wss_end_to_end_with_the_ca(tls_server: TlsServer, pki: Pki) -> None:
    tokens = tls_server.tokens
    moderator = MeetingClient(tls_server.url, tokens["moderator"], cafile=str(pki.ca))
    display = MeetingClient(f"wss://localhost:{tls_server.port}", tokens["display"], cafile=str(pki.ca))
    await moderator.connect()
    await display.connect()
    try:
        ack = await moderator.command(c.Start())
        await display.wait_for(lambda s: s.seq == ack.seq)
        assert display.state is not None and display.state.sessions[0].status == "running"
        assert await moderator.ping() >= 0
        # A reconnect over TLS resumes like any other.
        await display.close()
        ack = await moderator.command(c.Next())
        welcome = await display.connect()
        assert welcome.snapshot is None
        await display.wait_for(lambda s: s.seq == ack.seq)
    finally:
        await asyncio.gather(moderator.close(), display.close(), return_exceptions=True)


async def test_a_client_without_the_ca_is_refused_clearly(tls_server: TlsServer, pki: Pki) -> None:
    token = tls_server.tokens["moderator"]
    for cafile in (None, str(pki.other_ca)):
        with pytest.raises(ClientError) as refused:
            await MeetingClient(tls_server.url, token, cafile=cafile, open_timeout=5).connect()
        assert refused.value.code == "tls"
        message = refused.value.message
        assert "certificate" in message and "does not trust" in message and "--cafile" in message, message
        assert token not in message
    # Plain ws:// to a wss:// server: no websocket, a clear "unreachable", no hang.
    with pytest.raises(ClientError) as plain:
        await MeetingClient(f"ws://127.0.0.1:{tls_server.port}", token, open_timeout=5).connect()
    assert plain.value.code == "unreachable"
    # A CA file that is not there.
    with pytest.raises(ClientError) as missing:
        await MeetingClient(tls_server.url, token, cafile=str(pki.ca) + ".missing").connect()
    assert missing.value.code == "tls" and "CA certificate" in missing.value.message


async def test_the_console_without_the_ca_ends_at_once_with_the_reason(tls_server: TlsServer) -> None:
    """A certificate this client does not trust, at the start: retrying cannot mend it, so the console
    does not sit on a "connecting" screen; it ends with status 1 and the link says why."""
    link = LiveLink(MeetingClient(tls_server.url, tls_server.tokens["display"], open_timeout=5))
    app = create_app(link, refresh_s=0.1)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.return_code is not None, "the console to end")
        assert app.return_code == 1
        assert link.status == "refused" and "does not trust" in link.detail and "--cafile" in link.detail
    finally:
        await link.close()


def test_ctl_takes_a_cafile(tls_server: TlsServer, pki: Pki) -> None:
    token = tls_server.tokens["moderator"]
    started = run_cli("modconsole", "ctl", tls_server.url, "--token", token, "--cafile", pki.ca, "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("ok (start, seq ")
    state = run_cli("modconsole", "ctl", tls_server.url, "--token", token, "state", "--json", "--cafile", pki.ca)
    assert state.returncode == 0, state.stderr
    assert json.loads(state.stdout)["sessions"][0]["status"] == "running"
    # add-time with a negative duration still parses next to --cafile.
    less = run_cli("modconsole", "ctl", tls_server.url, "--token", token, "--cafile", pki.ca, "add-time", "-1m")
    assert less.returncode == 0, less.stderr

    refused = run_cli("modconsole", "ctl", tls_server.url, "--token", token, "state")
    assert refused.returncode == 1
    assert "does not trust" in refused.stderr and "--cafile" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr and token not in refused.stderr


def test_join_passes_its_cafile_to_the_client(tls_server: TlsServer, pki: Pki, monkeypatch) -> None:
    """`modconsole join --cafile`: the console's client connects over wss with that CA."""
    import modconsole.cli as cli
    import modconsole.tui as tui

    seen: dict[str, object] = {}

    class App:
        def __init__(self, link) -> None:  # type: ignore[no-untyped-def]
            self.link = link

        def run(self) -> None:
            async def once() -> None:
                await self.link.connect_once()
                seen["role"] = self.link.role
                await self.link.client.close()

            asyncio.run(once())

    monkeypatch.setattr(tui, "create_app", lambda link, **_: App(link))
    token = tls_server.tokens["display"]
    assert cli.main(["join", tls_server.url, "--token", token, "--cafile", str(pki.ca)]) == 0
    assert seen == {"role": "display"}


def test_serve_refuses_a_certificate_it_cannot_use(tmp_path: Path, pki: Pki) -> None:
    db = tmp_path / "tls.db"
    assert run_cli("modconsole-server", "create-event", MAYORS_CALL, "--db", db).returncode == 0
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    for cert, key in ((tmp_path / "missing.pem", pki.key), (empty, pki.key), (pki.cert, pki.other_ca)):
        result = run_cli(
            "modconsole-server", "serve", "--db", db, "--port", "0", "--certfile", cert, "--keyfile", key, timeout=20
        )
        assert result.returncode == 2, (cert, key, result.stdout)
        assert result.stderr.startswith(f"modconsole-server: cannot use the TLS certificate {cert}"), result.stderr
    only = run_cli("modconsole-server", "serve", "--db", db, "--port", "0", "--certfile", pki.cert)
    assert only.returncode == 2 and "go together" in only.stderr


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), "unreachable"),  # cut off: try again
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "tls"),  # no retry mends it
    ],
)
async def test_a_handshake_cut_off_is_worth_another_try_a_wrong_one_is_not(monkeypatch, error, code) -> None:
    import modconsole.client as client_module

    async def failing(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise error

    monkeypatch.setattr(client_module, "connect", failing)
    with pytest.raises(ClientError) as raised:
        await MeetingClient("wss://127.0.0.1:8765", "mc_x").connect()
    assert raised.value.code == code, raised.value.message
