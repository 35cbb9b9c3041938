"""Tests of remediators.events: every schema and shape a delivery can take."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediators.events import (
    HANDLED_EVENT_TYPES,
    Ignored,
    Rejected,
    ResourceChange,
    normalise,
    normalise_event,
    resource_type_of,
    usable_resource_id,
)
from tests.functions.estates import STORAGE, SUBSCRIPTION

FIXTURES = Path(__file__).parent / "fixtures" / "events"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def only(results: list[Any]) -> Any:
    assert len(results) == 1
    return results[0]


def write_event(**overrides: Any) -> dict[str, Any]:
    event = {
        "id": "evt-1",
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "subject": STORAGE,
        "topic": f"/subscriptions/{SUBSCRIPTION}",
        "eventTime": "2024-05-01T10:00:00.1234567Z",
        "data": {"resourceUri": STORAGE, "correlationId": "corr-1"},
        "dataVersion": "2",
    }
    event.update(overrides)
    return event


def test_handled_event_types() -> None:
    assert "Microsoft.Resources.ResourceWriteSuccess" in HANDLED_EVENT_TYPES
    assert "Microsoft.ResourceNotifications.Resources.Deleted" in HANDLED_EVENT_TYPES
    assert len(HANDLED_EVENT_TYPES) == 5


def test_eventgrid_write_array() -> None:
    change = only(
        normalise(load("derived/docs_subscription_ResourceWriteSuccess_eventgrid_array.json"))
    )
    assert isinstance(change, ResourceChange)
    assert change.resource_id.lower() == STORAGE.lower()
    assert change.operation == "write"
    assert change.schema == "eventgrid"
    assert change.subscription_id == SUBSCRIPTION
    assert change.correlation_id == "{ID}"
    assert change.event_time == datetime(2018, 7, 19, 18, 38, 4, 611735, tzinfo=UTC)


def test_eventgrid_delete() -> None:
    change = only(
        normalise(load("derived/docs_subscription_ResourceDeleteSuccess_eventgrid_array.json"))
    )
    assert isinstance(change, ResourceChange)
    assert change.operation == "delete"


def test_cloudevent_write() -> None:
    change = only(normalise(load("derived/specs_resource_write_success_cloudevent.json")))
    assert isinstance(change, ResourceChange)
    assert change.schema == "cloudevents"
    assert change.source == f"/subscriptions/{SUBSCRIPTION}/resourceGroups/ml-rg"
    assert change.event_type == "Microsoft.Resources.ResourceWriteSuccess"


def test_arn_created_body() -> None:
    change = only(normalise(load("derived/arn_resources_createdOrUpdated_storage_eventgrid.json")))
    assert isinstance(change, ResourceChange)
    assert change.operation == "write"
    assert change.body is not None
    assert change.body["properties"]["networkAcls"]["defaultAction"] == "Allow"


def test_arn_typo_prefers_subject() -> None:
    change = only(normalise(load("derived/arn_resources_createdOrUpdated_storage_cloudevent.json")))
    assert isinstance(change, ResourceChange)
    assert "{" not in change.resource_id
    assert change.resource_id == STORAGE


def test_arn_deleted() -> None:
    change = only(normalise(load("derived/arn_resources_deleted_storage_eventgrid.json")))
    assert isinstance(change, ResourceChange)
    assert change.operation == "delete"
    assert change.event_type == "Microsoft.ResourceNotifications.Resources.Deleted"


@pytest.mark.parametrize(
    "name",
    [
        "docs_subscription_ResourceWriteSuccess_eventgrid_array.json",
        "docs_subscription_ResourceDeleteSuccess_eventgrid_array.json",
        "specs_resource_write_success_cloudevent.json",
        "arn_resources_createdOrUpdated_storage_eventgrid.json",
        "arn_resources_createdOrUpdated_storage_cloudevent.json",
        "arn_resources_deleted_storage_eventgrid.json",
        "docs_resourcegroup_ResourceActionSuccess_eventgrid_array.json",
    ],
)
def test_placeholder_ids_rejected(name: str) -> None:
    result = only(normalise(load(name)))
    assert isinstance(result, Rejected)
    assert "no usable resource id" in result.reason


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("docs_subscriptionValidationEvent_eventgrid_array.json", "subscription validation"),
        ("azsdk_cloudevent_storage_blobcreated.json", "BlobCreated"),
        ("arn_healthResources_availabilityStatusChanged_eventgrid.json", "resource health"),
        ("arn_healthResources_availabilityStatusChanged_cloudevent.json", "resource health"),
    ],
)
def test_unrelated_types_ignored(name: str, words: str) -> None:
    result = only(normalise(load(name)))
    assert isinstance(result, Ignored)
    assert words in result.reason


def test_validation_response_rejected() -> None:
    result = only(normalise(load("docs_subscriptionValidation_response.json")))
    assert isinstance(result, Rejected)


@pytest.mark.parametrize("body", [b"{not json", "", "[", b"\xff\xfe"])
def test_malformed_json_rejected(body: bytes | str) -> None:
    result = only(normalise(body))
    assert isinstance(result, Rejected)
    assert result.reason.startswith("malformed delivery")


@pytest.mark.parametrize("payload", [None, 42, "[1, 2]", [[]], "null", [None]])
def test_wrong_shapes_rejected(payload: Any) -> None:
    results = normalise(payload)
    assert results
    assert all(isinstance(r, Rejected) for r in results)


def test_empty_array_rejected() -> None:
    assert isinstance(only(normalise("[]")), Rejected)


def test_bytes_and_text_same() -> None:
    raw = json.dumps([write_event()])
    assert normalise(raw.encode()) == normalise(raw)


def test_single_object_accepted() -> None:
    assert isinstance(only(normalise(write_event())), ResourceChange)


def test_array_keeps_order() -> None:
    results = normalise([write_event(id="one"), write_event(id="two", eventType="x.y")])
    assert [type(r) for r in results] == [ResourceChange, Ignored]
    assert results[0].event_id == "one"


def test_data_resource_uri_first() -> None:
    other = STORAGE.replace("mlstore01", "mlstore09")
    change = normalise_event(write_event(subject=other))
    assert isinstance(change, ResourceChange)
    assert change.resource_id == STORAGE


@pytest.mark.parametrize("missing", [None, "", "None", "{resource-id}"])
def test_no_usable_id_rejected(missing: str | None) -> None:
    event = write_event(subject=missing, topic=missing, data={"resourceUri": missing})
    result = normalise_event(event)
    assert isinstance(result, Rejected)
    assert result.resource_id is None


def test_subscription_scope_not_resource() -> None:
    event = write_event(subject=f"/subscriptions/{SUBSCRIPTION}", data={})
    assert isinstance(normalise_event(event), Rejected)


def test_non_guid_subscription_rejected() -> None:
    uri = STORAGE.replace(SUBSCRIPTION, "my-subscription")
    assert isinstance(
        normalise_event(write_event(subject=uri, data={"resourceUri": uri})), Rejected
    )


def test_deployment_ignored(caplog: pytest.LogCaptureFixture) -> None:
    deployment = STORAGE.rsplit("/providers/", 1)[0] + (
        "/providers/Microsoft.Resources/deployments/Microsoft.StorageAccount-20240501"
    )
    caplog.set_level("DEBUG", logger="remediators.events")
    result = normalise_event(write_event(subject=deployment, data={"resourceUri": deployment}))
    assert isinstance(result, Ignored)
    assert "template deployment" in result.reason
    assert deployment in caplog.text


def test_missing_event_id_rejected() -> None:
    event = write_event()
    del event["id"]
    assert isinstance(normalise_event(event), Rejected)


def test_event_type_case_insensitive() -> None:
    change = normalise_event(write_event(eventType="microsoft.resources.resourcewritesuccess"))
    assert isinstance(change, ResourceChange)
    assert change.event_type == "Microsoft.Resources.ResourceWriteSuccess"


def test_event_time_from_operational_info() -> None:
    event = load("derived/arn_resources_deleted_storage_eventgrid.json")
    del event["eventTime"]
    change = normalise_event(event)
    assert isinstance(change, ResourceChange)
    assert change.event_time == datetime(2023, 7, 28, 20, 11, 36, 634785, tzinfo=UTC)


def trigger_event(payload: dict[str, Any], cloud_events: bool = False) -> func.EventGridEvent:
    """Build the object the Python worker passes, as it does for either delivery schema."""
    if cloud_events:
        return func.EventGridEvent(
            id=payload["id"],
            data=payload["data"],
            topic=None,  # type: ignore[arg-type]
            subject=None,  # type: ignore[arg-type]
            event_type=None,  # type: ignore[arg-type]
            event_time=None,
            data_version=None,  # type: ignore[arg-type]
        )
    return func.EventGridEvent(
        id=payload["id"],
        data=payload["data"],
        topic=payload["topic"],
        subject=payload["subject"],
        event_type=payload["eventType"],
        event_time=datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
        data_version=payload.get("dataVersion", "1"),
    )


def test_trigger_object_eventgrid() -> None:
    change = normalise_event(trigger_event(write_event()))
    assert isinstance(change, ResourceChange)
    assert change.schema == "eventgrid"
    assert change.event_time == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_trigger_object_cloudevent_infers_write() -> None:
    payload = load("derived/specs_resource_write_success_cloudevent.json")
    change = normalise_event(trigger_event(payload, cloud_events=True))
    assert isinstance(change, ResourceChange)
    assert change.schema == "cloudevents"
    assert change.operation == "write"
    assert change.resource_id.lower() == STORAGE.lower()


def test_trigger_object_cloudevent_arn() -> None:
    payload = load("derived/arn_resources_createdOrUpdated_storage_cloudevent.json")
    result = normalise_event(trigger_event(payload, cloud_events=True))
    # Without the subject only the resourceInfo id is left, and it has the doc's typo.
    assert isinstance(result, Rejected)
    assert "{subcription-id}" in result.reason


def test_trigger_object_blob_created_ignored() -> None:
    payload = load("azsdk_cloudevent_storage_blobcreated.json")
    result = normalise_event(trigger_event(payload, cloud_events=True))
    assert isinstance(result, Ignored)


def test_trigger_object_health_ignored() -> None:
    payload = load("arn_healthResources_availabilityStatusChanged_cloudevent.json")
    result = normalise_event(trigger_event(payload, cloud_events=True))
    assert isinstance(result, Ignored)
    assert "resource health" in result.reason


def test_trigger_object_bad_data() -> None:
    event = func.EventGridEvent(
        id="evt-x",
        data="not an object",  # type: ignore[arg-type]
        topic=None,  # type: ignore[arg-type]
        subject=None,  # type: ignore[arg-type]
        event_type=None,  # type: ignore[arg-type]
        event_time=None,
        data_version=None,  # type: ignore[arg-type]
    )
    assert isinstance(normalise_event(event), Ignored)


@pytest.mark.parametrize(
    ("resource_id", "expected"),
    [
        (STORAGE, "microsoft.storage/storageaccounts"),
        (
            f"{STORAGE}/privateEndpointConnections/pe",
            "microsoft.storage/storageaccounts/privateendpointconnections",
        ),
        (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg", "microsoft.resources/resourcegroups"),
        (
            f"{STORAGE}/providers/Microsoft.ResourceHealth/availabilityStatuses/e",
            "microsoft.resourcehealth/availabilitystatuses",
        ),
    ],
)
def test_resource_type_of(resource_id: str, expected: str) -> None:
    assert resource_type_of(resource_id) == expected


def test_usable_resource_id_strips_slash() -> None:
    assert usable_resource_id(STORAGE + "/") == STORAGE


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "eventType",
                    "type",
                    "specversion",
                    "subject",
                    "source",
                    "topic",
                    "data",
                    "resourceUri",
                    "resourceInfo",
                    "operationName",
                    "eventTime",
                    "time",
                    "properties",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_normalise_never_raises(payload: Any) -> None:
    for result in normalise(payload):
        assert isinstance(result, (ResourceChange, Ignored, Rejected))
        if isinstance(result, ResourceChange):
            assert usable_resource_id(result.resource_id) == result.resource_id
