-- depends: 0010.credential-connection-status
-- Which credential types exist is the core's registry (tenant_core/credential_registry.py), so that adding a
-- type is one module and one registration line: the closed list of 0003 gives way to the shape every
-- registered type's name has.
ALTER TABLE credentials DROP CONSTRAINT credentials_type_check;
ALTER TABLE credentials ADD CONSTRAINT credentials_type_name CHECK (type ~ '^[a-z][a-z0-9_]{0,31}$');
