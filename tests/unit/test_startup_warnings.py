"""What serve says at start-up about settings that work on one machine and break a fleet."""

from __future__ import annotations

from pathlib import Path

import pytest
from loguru import logger

from tenant_entrypoints.cli.serve import warn_of_generated_secrets
from tenant_entrypoints.config import Config

KEYS = "k1=" + "A" * 43 + "="


@pytest.fixture
def warnings():
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(message.record["message"]), level="WARNING")
    yield lines
    logger.remove(sink)


def test_a_database_of_its_own_with_generated_secrets_is_warned_about(warnings):
    """DATABASE_URL set, no JWT_SECRET and no CREDENTIALS_KEYS: one line names both and the data directory."""
    warn_of_generated_secrets(Config(database_url="postgresql://db/tenants", data_dir=Path("/srv/ts")))
    (line,) = warnings
    assert line.startswith("JWT_SECRET and CREDENTIALS_KEYS not set") and "/srv/ts" in line


def test_explicit_secrets_or_the_embedded_database_are_not_warned_about(warnings):
    warn_of_generated_secrets(
        Config(database_url="postgresql://db/tenants", jwt_secret="s" * 32, credentials_keys=KEYS)
    )
    warn_of_generated_secrets(Config())  # the embedded database and the generated secrets share a directory
    assert warnings == []
