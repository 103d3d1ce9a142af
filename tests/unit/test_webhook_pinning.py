"""The HTTP webhook sender connects to the address that passed the check, and nowhere else.

The receivers are real HTTP(S) servers on loopback; a scripted resolver plays DNS (the sender takes one, as
it takes the system's in production), so a test decides what a name resolves to on each lookup.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tenant_adapters.webhooks import HttpWebhookSender
from tests.support.servers import free_port

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Seen:
    host_header: str
    server_name: str | None


@dataclass
class LoopbackReceiver:
    """Answers 200 to every POST on ``address``:``port`` and remembers its Host header and TLS server name."""

    address: str
    port: int
    tls: ssl.SSLContext | None = None
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self
        server_names: dict[int, str | None] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("content-length", "0")))
                name = server_names.get(id(self.request)) if receiver.tls else None
                receiver.seen.append(Seen(self.headers.get("host", ""), name))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((self.address, self.port), Handler)
        if self.tls is not None:
            self.tls.sni_callback = lambda sock, name, _: server_names.__setitem__(id(sock), name)
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class ScriptedDns:
    """Answers each lookup of a name with the next of its scripted answers (the last one repeats)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self._answers = answers
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        self.lookups.append(host)
        script = self._answers[host]
        answer = script.pop(0) if len(script) > 1 else script[0]
        return [ipaddress.ip_address(answer)]


@pytest.fixture
def receivers() -> Iterator[list[LoopbackReceiver]]:
    started: list[LoopbackReceiver] = []
    yield started
    for receiver in started:
        receiver.close()


async def _send(sender: HttpWebhookSender, url: str):
    try:
        return await sender.send(url, SECRET, "msg_1", b'{"type":"tenant.created"}')
    finally:
        await sender.close()


async def test_a_name_that_rebinds_to_loopback_after_the_check_never_reaches_loopback(receivers):
    """DNS answers a public address to the check and 127.0.0.1 afterwards: the POST goes to the public
    address it checked (unreachable here), never to the loopback receiver, and the name is looked up once."""
    receiver = LoopbackReceiver("127.0.0.1", free_port())
    receivers.append(receiver)
    dns = ScriptedDns({"rebind.example": ["3ffe::1", "127.0.0.1"]})  # 3ffe::/16: global unicast, unrouted
    sender = HttpWebhookSender(resolver=dns, timeout_seconds=0.5)
    attempt = await _send(sender, f"http://rebind.example:{receiver.port}/hooks")
    assert receiver.seen == []
    assert attempt.status_code is None and attempt.error is not None
    assert dns.lookups == ["rebind.example"]


async def test_the_connection_goes_to_the_checked_address_with_the_urls_host_header(receivers):
    """Two loopback servers on one port: the lookup the sender checked (127.0.0.2) is the one it reaches,
    whatever the name resolves to later, and the request names the URL's host, not the address."""
    port = free_port()
    checked, later = LoopbackReceiver("127.0.0.2", port), LoopbackReceiver("127.0.0.1", port)
    receivers.extend([checked, later])
    dns = ScriptedDns({"hooks.example": ["127.0.0.2", "127.0.0.1"]})
    attempt = await _send(HttpWebhookSender(allow_private=True, resolver=dns), f"http://hooks.example:{port}/h")
    assert attempt.status_code == 200, attempt.error
    assert checked.seen == [Seen(f"hooks.example:{port}", None)] and later.seen == []
    assert dns.lookups == ["hooks.example"]


async def test_tls_sends_and_verifies_the_urls_host_name_while_connecting_to_the_pinned_address(receivers, tmp_path):
    """Over https the pinned connection still sends the URL's host as TLS server name (SNI) and verifies the
    certificate against it, so a certificate for the name is accepted and one for another name is not."""
    authority, server_context = _certificate_for("hooks.example", tmp_path)
    port = free_port()
    receivers.append(LoopbackReceiver("127.0.0.1", port, tls=server_context))
    dns = ScriptedDns({"hooks.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    client_context = ssl.create_default_context(cafile=str(authority))

    sender = HttpWebhookSender(allow_private=True, resolver=dns, ssl_context=client_context)
    attempt = await _send(sender, f"https://hooks.example:{port}/h")
    assert attempt.status_code == 200, attempt.error
    assert receivers[0].seen == [Seen(f"hooks.example:{port}", "hooks.example")]

    sender = HttpWebhookSender(allow_private=True, resolver=dns, ssl_context=client_context)
    refused = await _send(sender, f"https://other.example:{port}/h")
    assert refused.status_code is None and "certificate" in (refused.error or "").lower()


@pytest.mark.parametrize(
    "address",
    ["::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "::ffff:127.0.0.1", "192.0.0.8", "224.0.0.1", "198.18.0.1"],
)
async def test_addresses_that_embed_or_are_non_global_ones_are_refused(address):
    """IPv4-compatible, NAT64 and 6to4 forms of loopback, and reserved, multicast and benchmark ranges, are
    refused both as IP literals and as what a name resolves to."""
    literal = f"[{address}]" if ":" in address else address
    assert "non-public" in (await HttpWebhookSender().refusal(f"http://{literal}/h") or "")
    dns = ScriptedDns({"hooks.example": [address]})
    assert "non-public" in (await HttpWebhookSender(resolver=dns).refusal("http://hooks.example/h") or "")


async def test_urls_refused_by_the_rule_are_failed_attempts_without_a_connection():
    """A stored URL the rule refuses (here: credentials in it) is an attempt with an error, not a request."""
    dns = ScriptedDns({"hooks.example": ["127.0.0.1"]})
    attempt = await _send(HttpWebhookSender(allow_private=True, resolver=dns), "http://u:p@hooks.example/h")
    assert attempt.status_code is None and "credentials" in (attempt.error or "")
    assert dns.lookups == []


def _certificate_for(name: str, directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A throwaway certificate authority and a server certificate for ``name`` signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test authority")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    authority, chain, key_file = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    authority.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(chain, key_file)
    return authority, server


async def test_with_private_addresses_allowed_a_name_is_not_resolved_at_subscription_time():
    """WEBHOOK_ALLOW_PRIVATE has nothing to refuse by address, so subscribing does not wait on DNS; the
    attempt resolves (once) and fails while the name does not resolve."""

    async def nowhere(host: str, port: int) -> list:
        dns.lookups.append(host)
        raise OSError("name does not resolve")

    dns = ScriptedDns({})
    sender = HttpWebhookSender(allow_private=True, resolver=nowhere)
    assert await sender.refusal("https://not-yet.example/h") is None and dns.lookups == []
    attempt = await _send(sender, "https://not-yet.example/h")
    assert attempt.status_code is None and "does not resolve" in (attempt.error or "")
    assert dns.lookups == ["not-yet.example"]
