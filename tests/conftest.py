"""Fixtures shared by the whole suite live in tests/fixtures/, one module per service."""
pytest_plugins = [
    "tests.fixtures.devnet",
    "tests.fixtures.postgres",
    "tests.fixtures.api",
    "tests.fixtures.pool",
    "tests.fixtures.browser",
]
