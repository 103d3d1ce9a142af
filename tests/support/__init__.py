"""Test-only helpers: real servers the tests start, and builders of test data."""
