DROP TABLE IF EXISTS legacy_imports;
