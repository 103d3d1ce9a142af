-- depends: 0010.credential-connection-status
-- Feed positions move out of the events table into a narrow side table. Numbering a committed event used
-- to rewrite its whole row (its data included, under four indexes); now it deletes a one-column row from
-- the queue of unnumbered events and inserts a small row here, so the outbox costs writers less.
CREATE TABLE event_positions (
    position  bigint PRIMARY KEY,
    seq       bigint NOT NULL,
    tenant_id text   NOT NULL
);
CREATE INDEX event_positions_tenant_idx ON event_positions (tenant_id, position);

-- Events written but not numbered yet (the sequencer takes them in seq order).
CREATE TABLE events_unnumbered (seq bigint PRIMARY KEY);

INSERT INTO event_positions (position, seq, tenant_id)
    SELECT position, seq, tenant_id FROM events WHERE position IS NOT NULL;
INSERT INTO events_unnumbered (seq) SELECT seq FROM events WHERE position IS NULL;

DROP INDEX events_unsequenced_idx;
DROP INDEX events_tenant_idx;
ALTER TABLE events DROP COLUMN position;
