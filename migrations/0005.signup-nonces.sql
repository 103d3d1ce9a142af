-- depends: 0004.idempotency-sealed-api-key
-- Signup states are single-use across every worker and instance: the first claim of a nonce wins.
CREATE TABLE signup_nonces (
    nonce      text        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX signup_nonces_expiry_idx ON signup_nonces (expires_at);
