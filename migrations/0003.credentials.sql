-- depends: 0002.api-keys-and-audit-log
-- One sealed credential per tenant and type. The whole credential document is AES-256-GCM ciphertext
-- (nonce || ciphertext || tag) bound to (tenant_id, type); key_id names the key that sealed it.

CREATE TABLE credentials (
    tenant_id  text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type       text        NOT NULL CHECK (type IN ('genesys', 'whatsapp')),
    key_id     text        NOT NULL,
    ciphertext bytea       NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, type)
);
-- Rotation looks for records not sealed with the current key.
CREATE INDEX credentials_key_idx ON credentials (key_id);
