"""What a connection check tells subscribers: the connection failed, it recovered, or a WhatsApp token entered its
last week.

Health is :meth:`ConnectionStatus.health <tenant_core.connections.ConnectionStatus.health>` at the moment the
check is recorded. The status remembers what was said about the credential it belongs to, so each piece of news
goes out once, whichever check (scheduled or asked for) sees it first, and starts again with a new credential:

- ``connection.failed`` when the health is ``invalid`` and no failure is outstanding;
- ``connection.recovered`` when the health is ``ok`` or ``expiring`` again after a failure was told;
- ``whatsapp.token_expiring`` the first time a token is found ``expiring`` (once per stored token).

A check that could not reach the far side keeps the known facts (see
:class:`~tenant_core.use_cases.connections.ConnectionChecks`), so it announces only what those facts imply with
time: a known expiry that came within the week, or passed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from tenant_core.audit import AuditAction
from tenant_core.connections import ConnectionStatus, TokenHealth


class Announcement(msgspec.Struct, frozen=True):
    """One piece of news: recorded as its audit action, whose event carries ``detail`` as its data."""

    action: AuditAction
    detail: dict[str, Any]

    @property
    def changes(self) -> list[str]:
        """What the audit row names as changed: the connection of this credential type."""
        return [f"connection.{self.detail['credentialType']}"]


def after_check(
    kind: str, previous: ConnectionStatus | None, checked: ConnectionStatus, now: datetime
) -> tuple[ConnectionStatus, list[Announcement]]:
    """The status to keep (``checked``, remembering what is now told) and the news it makes against
    ``previous``, the status it replaces for the same credential of type ``kind``."""
    told = previous or ConnectionStatus()
    health = checked.health(now)
    failing, expiring = told.failure_announced, told.expiry_announced
    about: dict[str, Any] = {"credentialType": str(kind), "health": health.value}
    if checked.last_check is not None:
        about["checkedAt"] = _wire_time(checked.last_check.checked_at)
    news = []
    if health is TokenHealth.INVALID and not failing:
        failing = True
        failed = [] if checked.last_check is None else checked.last_check.failed()
        detail = {**about, "failedChecks": [{"name": c.name, "detail": c.detail} for c in failed]}
        if (ends := checked.expires_at()) is not None and ends <= now:
            detail["expiredAt"] = _wire_time(ends)
        news.append(Announcement(AuditAction.CONNECTION_FAILED, detail))
    elif health in (TokenHealth.OK, TokenHealth.EXPIRING) and failing:
        failing = False
        news.append(Announcement(AuditAction.CONNECTION_RECOVERED, about))
    if health is TokenHealth.EXPIRING and not expiring and (ends := checked.expires_at()) is not None:
        expiring = True
        news.append(Announcement(AuditAction.WHATSAPP_TOKEN_EXPIRING, {**about, "expiresAt": _wire_time(ends)}))
    kept = msgspec.structs.replace(checked, failure_announced=failing, expiry_announced=expiring)
    return kept, news


def _wire_time(at: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as event times are written."""
    return at.isoformat().replace("+00:00", "Z")
