"""The WebhookSender port's URL rule, over the in-memory sender and the HTTP one: the same refusals.

The in-memory sender once lacked the "no credentials in the URL" refusal; both now read URLs with the core's
rule (``tenant_core.webhook_urls``), so neither can drift.
"""

from __future__ import annotations

import ipaddress

import pytest

from tenant_adapters.memory import InMemoryWebhookSender
from tenant_adapters.webhooks import HttpWebhookSender


async def _loopback(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    return [ipaddress.IPv4Address("127.0.0.1")]


@pytest.fixture(params=["memory", "http"])
async def sender(request):
    if request.param == "memory":
        yield InMemoryWebhookSender()
        return
    sender = HttpWebhookSender(allow_private=True, resolver=_loopback)  # no DNS: every name is loopback
    yield sender
    await sender.close()


REFUSED = [
    ("https://user:pw@hooks.example/h", "credentials"),
    ("https://hooks.example@evil.example/h", "credentials"),
    ("ftp://hooks.example/h", "http(s)"),
    ("hooks.example/h", "http(s)"),
    ("http://[::1/", "IPv6"),
    ("http://a]b/", "host name"),
    ("http://h:80:80/", "port"),
    ("http://h:\uff18\uff10/", "port"),
    ("http://h:0/", "port"),
    ("http://a..b/", "host name"),
    ("http://" + "a" * 64 + ".example/", "host name"),
    ("http://127.1/", "numeric host"),
    ("http://hooks.example/a b", "spaces"),
    ("http://hooks.example/\u00e9", "ASCII"),
    ("http://hooks.example/" + "a" * 2048, "2048"),
]


@pytest.mark.parametrize(("url", "says"), REFUSED)
async def test_urls_that_break_the_rule_are_refused_with_a_reason(sender, url, says):
    """Each sender refuses the URL and says why, in the same words."""
    assert says in (await sender.refusal(url) or "")


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example/h?x=1",
        "http://HOOKS.example:8080/h#frag",
        "https://b\u00fccher.example/",
        "http://[2001:db8::1]:81/",
    ],
)
async def test_urls_within_the_rule_are_accepted(sender, url):
    assert await sender.refusal(url) is None
