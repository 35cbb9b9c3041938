"""Fixtures for the storage layer tests: Azurite clients and unique resource names."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from remediators.state import StorageClients
from tests.azurite import require_azurite

WORKSPACE_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/RG-ML"
    "/providers/Microsoft.MachineLearningServices/workspaces/Ws-Main"
)


@pytest.fixture(scope="session")
def connection_string() -> str:
    return require_azurite()


@pytest.fixture(scope="session")
def clients(connection_string: str) -> StorageClients:
    return StorageClients.from_connection_string(connection_string)


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Return a maker of names valid for tables, queues and containers, unique per call."""

    def make(prefix: str) -> str:
        return f"{prefix}{uuid.uuid4().hex[:16]}"

    return make


def workspace_id(name: str = "Ws-Main") -> str:
    return WORKSPACE_ID.rsplit("/", 1)[0] + "/" + name
