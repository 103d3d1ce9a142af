"""The whole core in one process, in one call: the composition root wired to the in-memory adapters.

For embedding the Tenant Service in another service's tests or tools, and for this project's own tests. It
is the same :class:`~tenant_entrypoints.container.Container` that ``serve`` runs, with every adapter that
would reach a server (Postgres, Redis, Meta, Genesys, webhook receivers, RabbitMQ) replaced by its in-memory
implementation, and the clock by a :class:`~tenant_core.ManualClock` you can set. Nothing connects to
anything and nothing is written to disk, so there is nothing to open or close.

::

    core = in_memory_container()
    created = await core.tenants().create(SYSTEM, CreateTenant(name="Acme", email="ops@acme.com"))
    core.clock().advance(timedelta(days=31))

Each provider returns one instance per container (``core.tenants() is core.tenants()``).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

from dependency_injector import providers

from tenant_adapters.memory import (
    InMemoryCache,
    InMemoryEventBus,
    InMemoryGenesysCloud,
    InMemoryMetaGraph,
    InMemoryStorage,
    InMemoryWebhookSender,
)
from tenant_core import Clock, ManualClock, SecretCipher
from tenant_entrypoints.config import Config
from tenant_entrypoints.container import Container

#: How far the default clock moves per reading: things created one after another keep that order (as under
#: the real clock), and the drift from real time stays negligible.
DEFAULT_TICK = timedelta(milliseconds=1)


def in_memory_container(
    config: Config | None = None,
    *,
    clock: Clock | None = None,
    cipher: SecretCipher | None = None,
    storage: InMemoryStorage | None = None,
    graph: InMemoryMetaGraph | None = None,
    bus: InMemoryEventBus | None = None,
) -> Container:
    """A :class:`Container` whose providers give the use cases on in-memory adapters.

    - ``config``: the settings use cases take (retry schedule, retention, ``meta_app_secret``…); the
      defaults of :class:`Config` when not given. Its database, Redis, RabbitMQ and key settings are not used.
    - ``clock``: a :class:`~tenant_core.ManualClock` at the current time moving 1 ms per reading by default.
    - ``cipher``: seals credentials and webhook secrets; by default an
      :class:`~tenant_adapters.crypto.AesGcmCipher` with one random key (``"memory"``), so what it seals
      opens in this setup only. Pass ``AesGcmCipher(parse_keys(...))`` to open values sealed elsewhere.
    - ``storage``, ``graph``: give your own to seed them; fresh ones otherwise (``core.storage()``,
      ``core.graph()`` return them either way). ``bus``: an event bus for the relay; none by default, as
      when ``RABBITMQ_URL`` is unset.
    """
    config = config or Config()
    container = Container()
    container.config.from_dict(
        {
            **config.as_dict(),
            "jwt_keys": {"memory": secrets.token_urlsafe(32)},
            "state_secret": os.urandom(32),
            "cipher_keys": {"memory": os.urandom(32)},
        }
    )
    storage = storage or InMemoryStorage()
    replacements = {
        "storage": storage,
        "redis_client": None,
        "follower": storage.invalidation_follower,
        "cache": InMemoryCache(follower=storage.invalidation_follower),
        "clock": clock or ManualClock(tick=DEFAULT_TICK),
        "graph": graph or InMemoryMetaGraph(),
        "genesys": InMemoryGenesysCloud(),
        "webhook_sender": InMemoryWebhookSender(),
        "bus": bus,
    }
    if cipher is not None:
        replacements["cipher"] = cipher
    for name, value in replacements.items():
        getattr(container, name).override(providers.Object(value))
    return container
