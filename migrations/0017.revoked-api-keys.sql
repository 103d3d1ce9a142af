-- depends: 0002.api-keys-and-audit-log
-- What a revoked API key leaves behind: its id, tenant and hash, so that authentication can tell a revoked key
-- ("revoked", naming the key and its tenant in the access log) from one never issued. Never a secret: only the
-- hash that api_keys held. Gone with its tenant.
CREATE TABLE revoked_api_keys (
    key_hash   text        PRIMARY KEY,
    id         text        NOT NULL,
    tenant_id  text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    prefix     text        NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_api_keys_tenant_idx ON revoked_api_keys (tenant_id);
