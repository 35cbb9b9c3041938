"""Locate the Azurite storage emulator that `scripts/azurite.sh start` runs on 127.0.0.1.

Tests that need Azurite carry `@pytest.mark.azurite` and call `require_azurite()` (usually
through a fixture) to get the connection string.
"""

from __future__ import annotations

import os

import pytest

from demo.azurite import (
    ACCOUNT_KEY,
    ACCOUNT_NAME,
    HOST,
    AzuriteUnavailable,
    build_connection_string,
    closed_ports,
    ports,
)

__all__ = [
    "ACCOUNT_KEY",
    "ACCOUNT_NAME",
    "HOST",
    "AzuriteUnavailable",
    "azurite_connection_string",
    "build_connection_string",
    "ports",
    "require_azurite",
]


def azurite_connection_string() -> str:
    """Return the connection string, or raise `AzuriteUnavailable` if a port is closed."""
    closed = closed_ports()
    if closed:
        raise AzuriteUnavailable(
            f"Azurite is not accepting connections on {HOST} ({', '.join(closed)}); "
            "run `scripts/azurite.sh start` (after `npm ci`) and rerun the tests"
        )
    return build_connection_string()


def require_azurite() -> str:
    """Return the connection string for a test, or skip it when Azurite is not running.

    Under CI (the CI variable is set) a missing Azurite fails the test, because a skip there
    would hide that the storage layer went untested.
    """
    try:
        return azurite_connection_string()
    except AzuriteUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(str(error))
        pytest.skip(str(error))
