DROP INDEX IF EXISTS idempotency_keys_key_idx;
DROP INDEX IF EXISTS webhooks_key_idx;
