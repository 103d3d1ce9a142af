ALTER TABLE events ADD COLUMN position bigint UNIQUE;
UPDATE events e SET position = p.position FROM event_positions p WHERE p.seq = e.seq;
CREATE INDEX events_unsequenced_idx ON events (seq) WHERE position IS NULL;
CREATE INDEX events_tenant_idx ON events (tenant_id, position);
DROP TABLE events_unnumbered;
DROP TABLE event_positions;
