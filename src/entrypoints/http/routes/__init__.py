"""Route handlers, grouped by contract section."""
