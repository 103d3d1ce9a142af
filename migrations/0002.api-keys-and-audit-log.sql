-- depends: 0001.create-tenants
-- Tenant API keys (only a hash of the secret is stored) and the audit log.

CREATE TABLE api_keys (
    id           text        PRIMARY KEY,
    tenant_id    text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    prefix       text        NOT NULL,
    key_hash     text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at DESC, id DESC);

-- No foreign key: the record of a deleted tenant outlives it.
CREATE TABLE audit_log (
    id         bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor      text        NOT NULL,
    action     text        NOT NULL,
    tenant_id  text        NOT NULL,
    changes    text[]      NOT NULL DEFAULT '{}',
    request_id text
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id DESC);
