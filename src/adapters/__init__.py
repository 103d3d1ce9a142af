"""Adapters: implementations of the ``tenant_core`` ports, one sub-package per technology."""
