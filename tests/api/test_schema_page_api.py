"""The API reference page at /schema works offline: everything it loads comes from the service itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

from tenant_entrypoints.http.schema_ui import SWAGGER_UI_VERSION


class _References(HTMLParser):
    """Every URL the page makes a browser load: script src, link href, img src, and url() in inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(values[name])
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", data)


def _same_origin(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//") or url.startswith("data:")


async def test_schema_page_loads_only_same_origin_assets_that_answer_without_credentials(session_client):
    """Every script, stylesheet and icon of /schema is a path on this service, public and cacheable; the
    page names no other host, and neither do the stylesheets it loads."""
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=session_client.app), base_url="http://testserver")
    async with anonymous:
        page = await anonymous.get("/schema")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert re.search(r"(https?:)?//", page.text) is None, "the page names another host"
        parser = _References()
        parser.feed(page.text)
        assert any(url.endswith(".js") for url in parser.urls) and any(url.endswith(".css") for url in parser.urls)
        for url in parser.urls:
            assert _same_origin(url), url
            asset = await anonymous.get(url)
            assert asset.status_code == 200, url
            assert f"/{SWAGGER_UI_VERSION}/" in url and "public" in asset.headers["cache-control"]
            if url.endswith(".css"):
                assert all(_same_origin(ref) for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", asset.text)), url
        assert (await anonymous.get("/schema/openapi.json")).json()["info"]["title"] == "Tenant Service"
