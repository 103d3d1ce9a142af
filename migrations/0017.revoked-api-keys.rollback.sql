DROP TABLE IF EXISTS revoked_api_keys;
