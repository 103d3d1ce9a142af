"""The credential types this package ships, one module each: fields, secrets, legacy names, routing and the
connection check of one type (see :class:`~tenant_core.credential_types.CredentialPolicy`)."""
