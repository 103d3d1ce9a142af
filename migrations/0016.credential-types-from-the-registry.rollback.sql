-- Refused (a check violation) while credentials of a type other than genesys and whatsapp are stored.
ALTER TABLE credentials DROP CONSTRAINT IF EXISTS credentials_type_name;
ALTER TABLE credentials ADD CONSTRAINT credentials_type_check CHECK (type IN ('genesys', 'whatsapp'));
