-- depends: 0003.credentials
-- A repeated create with the same Idempotency-Key answers with the first response, API key included;
-- the key is kept sealed (AES-256-GCM, like credentials), never in clear.
ALTER TABLE idempotency_keys ADD COLUMN key_id text, ADD COLUMN sealed_api_key bytea;
