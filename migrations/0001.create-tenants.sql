-- Tenants, their uniqueness rules and the indexes every lookup needs.
-- Unique values are compared case-insensitively and only among tenants that are not deleted,
-- so deleting a tenant releases its email, domain, phone number and Genesys ids.

CREATE TABLE tenants (
    id                     text        PRIMARY KEY CHECK (id ~ '^t_[0-9a-f]{16}$'),
    name                   text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    email                  text,
    domain                 text,
    subdomain              text,
    status                 text        NOT NULL DEFAULT 'active'
                                       CHECK (status IN ('active', 'suspended', 'deleted')),
    plan                   text        NOT NULL DEFAULT 'standard'
                                       CHECK (plan IN ('standard', 'premium', 'enterprise')),
    rate_limit             integer     NOT NULL DEFAULT 100 CHECK (rate_limit BETWEEN 1 AND 100000),
    phone_number_id        text,
    genesys_integration_id text,
    genesys_org_id         text,
    genesys_org_name       text,
    genesys_region         text,
    settings               jsonb       NOT NULL DEFAULT '{}'::jsonb,
    metadata               jsonb       NOT NULL DEFAULT '{}'::jsonb,
    whatsapp_configured    boolean     NOT NULL DEFAULT false,
    onboarding_completed   boolean     NOT NULL DEFAULT false,
    version                integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- Unique among live tenants; these also serve the resolution lookups (same expression, same predicate).
CREATE UNIQUE INDEX tenants_email_unique                  ON tenants (lower(email))                  WHERE status <> 'deleted';
CREATE UNIQUE INDEX tenants_domain_unique                 ON tenants (lower(domain))                 WHERE status <> 'deleted';
CREATE UNIQUE INDEX tenants_subdomain_unique              ON tenants (lower(subdomain))              WHERE status <> 'deleted';
CREATE UNIQUE INDEX tenants_phone_number_id_unique        ON tenants (lower(phone_number_id))        WHERE status <> 'deleted';
CREATE UNIQUE INDEX tenants_genesys_integration_id_unique ON tenants (lower(genesys_integration_id)) WHERE status <> 'deleted';
CREATE UNIQUE INDEX tenants_genesys_org_id_unique         ON tenants (lower(genesys_org_id))         WHERE status <> 'deleted';

-- Listing: newest first, optionally by status.
CREATE INDEX tenants_newest_idx        ON tenants (created_at DESC, id DESC);
CREATE INDEX tenants_status_newest_idx ON tenants (status, created_at DESC, id DESC);

CREATE FUNCTION tenants_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER tenants_updated_at BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenants_touch_updated_at();

-- Idempotency-Key of POST /tenants: which tenant a key produced, for 24 hours.
CREATE TABLE idempotency_keys (
    scope       text        NOT NULL,
    key         text        NOT NULL,
    fingerprint text        NOT NULL,
    tenant_id   text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_tenant_idx ON idempotency_keys (tenant_id);
