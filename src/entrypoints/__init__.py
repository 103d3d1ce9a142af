"""Entrypoints: the HTTP service, the CLI and the composition root that wires adapters to the core."""
