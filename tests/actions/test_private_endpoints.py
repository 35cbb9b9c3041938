"""Private endpoint naming and request bodies."""

from __future__ import annotations

from remediators.actions.private_endpoints import MAX_NAME_LENGTH, endpoint_body, endpoint_name


def test_name_is_prefix_target_group() -> None:
    assert endpoint_name("mystorage", "queue") == "pe-mystorage-queue"


def test_long_name_fits_limit() -> None:
    assert len(endpoint_name("a" * 90, "table")) == MAX_NAME_LENGTH


def test_long_names_differ_by_hash() -> None:
    first = endpoint_name("a" * 90 + "x", "table")
    second = endpoint_name("a" * 90 + "y", "table")
    assert first != second


def test_name_is_deterministic() -> None:
    assert endpoint_name("b" * 90, "blob") == endpoint_name("b" * 90, "blob")


def test_name_replaces_invalid_characters() -> None:
    assert endpoint_name("my vault", "vault") == "pe-my-vault-vault"


def test_automatic_body_uses_service_connections() -> None:
    body = endpoint_body(
        location="westeurope",
        subnet_id="/subnet",
        target_id="/sa",
        group_id="queue",
        name="pe-sa-queue",
        manual=False,
    )
    assert body["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"] == [
        "queue"
    ]


def test_manual_body_carries_request_message() -> None:
    body = endpoint_body(
        location="westeurope",
        subnet_id="/subnet",
        target_id="/sa",
        group_id="queue",
        name="pe-sa-queue",
        manual=True,
        request_message="please approve",
    )
    connection = body["properties"]["manualPrivateLinkServiceConnections"][0]
    assert connection["properties"]["requestMessage"] == "please approve"
