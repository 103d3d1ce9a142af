-- depends: 0011.event-positions-side-table
-- What the legacy import last saw of each old tenant, so that a rerun applies only what changed in the old
-- database since then and never undoes a change made here. No foreign key: the record of a tenant deleted
-- here outlives it, so a rerun does not create that tenant again.
CREATE TABLE legacy_imports (
    tenant_id     text        PRIMARY KEY,
    source_digest text        NOT NULL,
    seen          jsonb,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);

-- Tenants imported before records were kept (their first audit event is the import): no record of what
-- the import saw, so the next run treats every difference as a conflict and lets this service's value stand.
INSERT INTO legacy_imports (tenant_id, source_digest, seen, recorded_at)
SELECT first.tenant_id, '', NULL, first.at
FROM (SELECT DISTINCT ON (tenant_id) tenant_id, action, at FROM audit_log ORDER BY tenant_id, id) AS first
WHERE first.action = 'tenant.imported';
