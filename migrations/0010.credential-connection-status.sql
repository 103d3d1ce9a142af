-- depends: 0009.change-events-and-webhooks
-- What the service last learned about a credential's connection (its last check, the WhatsApp token's
-- expiry). Not secret, so kept in clear beside the ciphertext; replaced whenever the credential is.
ALTER TABLE credentials ADD COLUMN status jsonb;
