-- depends: 0011.event-positions-side-table
-- Every table that keeps values sealed under a credentials key has an index on its key id, so the start-up
-- check (are any values sealed under a key that is not configured?) walks the distinct key ids through the
-- index instead of reading the table. credentials has had one since 0003.
CREATE INDEX webhooks_key_idx ON webhooks (key_id);
CREATE INDEX idempotency_keys_key_idx ON idempotency_keys (key_id) WHERE key_id IS NOT NULL;
