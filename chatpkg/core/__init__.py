"""The session engine. It imports no UI library (tests/test_import_hygiene.py)."""
