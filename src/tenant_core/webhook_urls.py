"""The webhook URL rule, in one place: what a subscription may name, and which addresses a delivery may reach.

:func:`parse_webhook_url` reads a URL the way the sender will use it (scheme, host, port, path) and refuses
anything it cannot read unambiguously, with :class:`~tenant_core.errors.ValidationFailedError` on ``url``:

- an absolute ``http`` or ``https`` URL of printable ASCII (the host may be Unicode: it is sent in IDNA form);
- no user name or password; a port of ASCII digits, 1 to 65535;
- a host that is an IP literal (IPv4 dotted quad, or IPv6 in brackets without a zone) or a DNS name of
  labels of 1 to 63 letters, digits, ``-`` and ``_``, at most 253 characters, whose last label is not all
  digits (``127.1`` and ``2130706433`` are addresses in disguise).

:func:`address_refusal` says why a delivery must not connect to an address: every address that is not
globally reachable by the IANA special-purpose registries, multicast and reserved ranges included, judged on
the IPv4 address inside IPv4-mapped, IPv4-compatible, NAT64 (``64:ff9b::/96``) and 6to4 (``2002::/16``) forms.
The tables are written out here rather than taken from :mod:`ipaddress`'s ``is_global``, which differs
between Python versions (``192.0.0.8`` and ``224.0.0.1`` count as global on 3.11).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from tenant_core.errors import ValidationFailedError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_BRACKETED = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::([0-9]*))?")
_PLAIN = re.compile(r"([^:]*)(?::([0-9]*))?")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_IDNA_DOTS = re.compile("[\u3002\uff0e\uff61]")  # ideographic and full-width full stops separate labels too
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """Where a webhook URL leads: what the sender connects to and what it sends as ``Host`` and TLS name."""

    scheme: str  # "http" or "https"
    host: str  # lowercase ASCII (IDNA) host name, or an IP address without brackets
    port: int
    target: str  # path and query, as sent ("/" when the URL has none); a fragment is never sent
    address: Address | None  # the host, when the URL names an IP address

    @property
    def netloc(self) -> str:
        """The ``Host`` header: the host (IPv6 in brackets), and the port unless it is the scheme's default."""
        host = f"[{self.host}]" if isinstance(self.address, ipaddress.IPv6Address) else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _refused(message: str) -> ValidationFailedError:
    return ValidationFailedError.for_field("url", message)


def parse_webhook_url(url: str) -> WebhookTarget:
    """The target ``url`` names; :class:`ValidationFailedError` (field ``url``) when it breaks the rule."""
    if len(url) > MAX_URL_LENGTH:
        raise _refused(f"must be at most {MAX_URL_LENGTH} characters")
    if any(c <= " " or c == "\x7f" for c in url):
        raise _refused("must not contain spaces or control characters")
    scheme_match = _SCHEME.match(url)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    rest = url[scheme_match.end() :] if scheme_match else ""
    if scheme not in _DEFAULT_PORTS or not rest.startswith("//"):
        raise _refused("must be an absolute http(s) URL")
    rest = rest[2:].split("#", 1)[0]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i != -1), default=len(rest))
    authority, target = rest[:cut], rest[cut:]
    if "@" in authority:
        raise _refused("must not carry credentials")
    if not target.isascii():
        raise _refused("must be ASCII after the host (percent-encode other characters)")
    host, port_text, address = _host_and_port(authority)
    port = int(port_text) if port_text else _DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise _refused("has a port outside 1-65535")
    target = "/" + target if not target.startswith("/") else target
    return WebhookTarget(scheme=scheme, host=host, port=port, target=target, address=address)


def _host_and_port(authority: str) -> tuple[str, str | None, Address | None]:
    if authority.startswith("["):
        if (match := _BRACKETED.fullmatch(authority)) is None:
            raise _refused("has an invalid IPv6 host (write it as [2001:db8::1], without a zone)")
        try:
            address = ipaddress.IPv6Address(match.group(1))
        except ValueError:
            raise _refused("has an invalid IPv6 host (write it as [2001:db8::1], without a zone)") from None
        return str(address), match.group(2), address
    if (match := _PLAIN.fullmatch(authority)) is None:
        raise _refused("has an invalid port (ASCII digits after one colon)")
    host = match.group(1)
    try:
        address = ipaddress.IPv4Address(host)
        return str(address), match.group(2), address
    except ValueError:
        return _host_name(host), match.group(2), None


def _host_name(host: str) -> str:
    """The host in lowercase IDNA (``xn--``) form, with one trailing dot dropped."""
    host = _IDNA_DOTS.sub(".", host)
    host = host[:-1] if host.endswith(".") else host
    if not host:
        raise _refused("must name a host")
    labels = []
    for label in host.split("."):
        try:
            ascii_label = label.lower() if label.isascii() else label.encode("idna").decode("ascii").lower()
        except UnicodeError:
            ascii_label = ""
        if not _LABEL.fullmatch(ascii_label):
            raise _refused("has an invalid host name (labels of 1-63 letters, digits, '-' and '_')")
        labels.append(ascii_label)
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise _refused("has a numeric host that is not a dotted-quad IPv4 address")
    name = ".".join(labels)
    if len(name) > 253:
        raise _refused("has a host name longer than 253 characters")
    return name


def _networks(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


#: IPv4 ranges that are not globally reachable (IANA IPv4 Special-Purpose Address Registry), plus multicast
#: and the reserved 240/4 (which holds the broadcast address).
_NON_GLOBAL_IPV4 = _networks(
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # shared address space (carrier-grade NAT)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local (cloud metadata services live here)
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments (192.0.0.8: IPv4 dummy address)
    "192.0.2.0/24",  # documentation (TEST-NET-1)
    "192.88.99.0/24",  # deprecated 6to4 relay anycast
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation (TEST-NET-2)
    "203.0.113.0/24",  # documentation (TEST-NET-3)
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and the limited broadcast address
)
_GLOBAL_UNICAST_IPV6 = ipaddress.IPv6Network("2000::/3")  # everything outside it is local, special or multicast
_NON_GLOBAL_IPV6 = _networks(
    "2001::/23",  # IETF protocol assignments (Teredo's 2001::/32 included)
    "2001:db8::/32",  # documentation
    "3fff::/20",  # documentation
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: its last 32 bits are an IPv4 address
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, IPv4-compatible, NAT64 or 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: Address) -> str | None:
    """Why a webhook delivery must not connect to ``address`` (not globally reachable), or ``None``."""
    if isinstance(address, ipaddress.IPv6Address):
        if (inner := embedded_ipv4(address)) is not None and (reason := address_refusal(inner)) is not None:
            return f"{address} carries {inner}: {reason}"
        if address.ipv4_mapped is not None or address in _NAT64:
            return None  # the IPv4 address it reaches is global
        if address not in _GLOBAL_UNICAST_IPV6 or any(address in network for network in _NON_GLOBAL_IPV6):
            return f"{address} is not a global unicast address"
        return None
    if any(address in network for network in _NON_GLOBAL_IPV4):
        return f"{address} is not a globally reachable address"
    return None
