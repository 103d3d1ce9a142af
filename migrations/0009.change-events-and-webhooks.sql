-- depends: 0008.tenant-search-trigram-index
-- The outbox and event feed. A change inserts its events (seq: insertion order) in its own transaction,
-- without a position. The sequencer (any serve worker, one at a time) numbers committed events in seq
-- order: so positions follow commit order, and a reader that saw position p never later finds a new event
-- below p. Writers take no shared lock, so commits still group.
CREATE SEQUENCE events_position_seq;
CREATE TABLE events (
    seq         bigserial   PRIMARY KEY,
    position    bigint      UNIQUE,
    id          text        NOT NULL,
    type        text        NOT NULL,
    tenant_id   text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    data        jsonb       NOT NULL
);
CREATE INDEX events_unsequenced_idx ON events (seq) WHERE position IS NULL;
CREATE INDEX events_tenant_idx ON events (tenant_id, position);

-- Events at or below pruned_through were removed by retention; older cursors have lost events.
CREATE TABLE events_horizon (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pruned_through bigint  NOT NULL
);
INSERT INTO events_horizon (pruned_through) VALUES (0);

-- Where each consumer of the feed (webhook fan-out, bus relay) has got to; one worker holds a row at a time.
CREATE TABLE event_consumers (
    name     text   PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0
);
INSERT INTO event_consumers (name) VALUES ('webhooks'), ('bus');

CREATE TABLE webhooks (
    id            text        PRIMARY KEY,
    url           text        NOT NULL,
    event_types   text[]      NOT NULL,
    tenant_id     text,
    description   text,
    status        text        NOT NULL,
    key_id        text        NOT NULL,
    sealed_secret bytea       NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              text        PRIMARY KEY,
    webhook_id      text        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        text        NOT NULL,
    event_type      text        NOT NULL,
    event_position  bigint      NOT NULL,
    tenant_id       text        NOT NULL,
    state           text        NOT NULL,
    attempts        jsonb       NOT NULL DEFAULT '[]',
    next_attempt_at timestamptz NOT NULL,
    leased_until    timestamptz,
    created_at      timestamptz NOT NULL,
    payload         bytea       NOT NULL,
    UNIQUE (webhook_id, event_id)
);
-- The head of each subscription's line per tenant: the oldest pending delivery.
CREATE INDEX webhook_deliveries_pending_idx
    ON webhook_deliveries (webhook_id, tenant_id, event_position) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_listing_idx ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
