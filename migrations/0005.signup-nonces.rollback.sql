DROP TABLE IF EXISTS signup_nonces;
