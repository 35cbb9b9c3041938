"""The Event Grid trigger, invoked through the registered function app with every fixture."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from remediators import pipeline, runtime
from remediators.estate.estate import Estate
from tests.functions.conftest import RecordingDispatcher
from tests.functions.estates import (
    OTHER_SUBSCRIPTION,
    STORAGE,
    SUBSCRIPTION,
    WS_A,
    WS_B,
    WS_C,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "events"
FUNCTION_NAME = "resource_events"
# The handshake response body, not an event: it has no id for the trigger's event object.
VALIDATION_RESPONSE = "docs_subscriptionValidation_response.json"

# Every copied sample, and what the trigger does with it unchanged.
SAMPLES = {
    "arn_healthResources_availabilityStatusChanged_cloudevent.json": "resource health",
    "arn_healthResources_availabilityStatusChanged_eventgrid.json": "resource health",
    "arn_resources_createdOrUpdated_storage_cloudevent.json": "no usable resource id",
    "arn_resources_createdOrUpdated_storage_eventgrid.json": "no usable resource id",
    "arn_resources_deleted_storage_eventgrid.json": "no usable resource id",
    "azsdk_cloudevent_storage_blobcreated.json": "Microsoft.Storage.BlobCreated",
    "docs_resourcegroup_ResourceActionSuccess_eventgrid_array.json": "no usable resource id",
    "docs_subscriptionValidationEvent_eventgrid_array.json": "subscription validation",
    "docs_subscriptionValidation_response.json": "malformed event",
    "docs_subscription_ResourceDeleteSuccess_eventgrid_array.json": "no usable resource id",
    "docs_subscription_ResourceWriteSuccess_eventgrid_array.json": "no usable resource id",
    "specs_resource_write_success_cloudevent.json": "no usable resource id",
}

# Derived samples that point at the test estate, and the workspaces each must evaluate.
RELEVANT = {
    "docs_subscription_ResourceWriteSuccess_eventgrid_array.json": [WS_A, WS_B],
    "docs_subscription_ResourceDeleteSuccess_eventgrid_array.json": [WS_A, WS_B],
    "specs_resource_write_success_cloudevent.json": [WS_A, WS_B],
    "arn_resources_createdOrUpdated_storage_eventgrid.json": [WS_A, WS_B],
    "arn_resources_createdOrUpdated_storage_cloudevent.json": [WS_A, WS_B],
    "arn_resources_deleted_storage_eventgrid.json": [WS_A, WS_B],
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def events_of(payload: Any) -> list[dict[str, Any]]:
    return payload if isinstance(payload, list) else [payload]


def as_trigger_event(event: dict[str, Any]) -> func.EventGridEvent:
    """Build the object the Python worker passes for one event of either schema.

    For CloudEvents delivery the worker fills only id and data, so the others are None.
    """
    if "specversion" in event:
        return func.EventGridEvent(
            id=event.get("id"),  # type: ignore[arg-type]
            data=event.get("data"),  # type: ignore[arg-type]
            topic=None,  # type: ignore[arg-type]
            subject=None,  # type: ignore[arg-type]
            event_type=None,  # type: ignore[arg-type]
            event_time=None,
            data_version=None,  # type: ignore[arg-type]
        )
    return func.EventGridEvent(
        id=event.get("id"),  # type: ignore[arg-type]
        data=event.get("data"),  # type: ignore[arg-type]
        topic=event.get("topic"),  # type: ignore[arg-type]
        subject=event.get("subject"),  # type: ignore[arg-type]
        event_type=event.get("eventType"),  # type: ignore[arg-type]
        event_time=datetime(2024, 5, 1, tzinfo=UTC),
        data_version=event.get("dataVersion"),  # type: ignore[arg-type]
    )


@pytest.fixture
def trigger(registered_functions: dict[str, Any]) -> Callable[[func.EventGridEvent], None]:
    function = registered_functions[FUNCTION_NAME]
    return function.get_user_function()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="remediators")
    return caplog


def test_function_registered(registered_functions: dict[str, Any]) -> None:
    binding = registered_functions[FUNCTION_NAME].get_trigger()
    assert binding.get_binding_name() == "eventGridTrigger"


def test_every_sample_listed() -> None:
    copied = {p.name for p in FIXTURES.glob("*.json")}
    assert copied == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_raw_path(
    name: str, dispatcher: RecordingDispatcher, debug_logs: pytest.LogCaptureFixture
) -> None:
    raw = (FIXTURES / name).read_bytes()
    result = pipeline.handle_delivery(raw, runtime.current())
    assert dispatcher.requests == []
    assert result.requests == []
    assert SAMPLES[name] in debug_logs.text


@pytest.mark.parametrize(
    "name", sorted(set(SAMPLES) - {"docs_subscriptionValidation_response.json"})
)
def test_sample_through_trigger(
    name: str,
    trigger: Callable[[func.EventGridEvent], None],
    dispatcher: RecordingDispatcher,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    for event in events_of(load(name)):
        trigger(as_trigger_event(event))
    assert dispatcher.requests == []
    assert debug_logs.records, "expected the skip reason in the log"


# Through the trigger a CloudEvent keeps only id and data, and this sample's data names the
# resource only by the "{subcription-id}" typo; test_arn_cloudevent_typo_without_subject.
THROUGH_TRIGGER = sorted(set(RELEVANT) - {"arn_resources_createdOrUpdated_storage_cloudevent.json"})


@pytest.mark.parametrize("name", THROUGH_TRIGGER)
def test_derived_through_trigger(
    name: str, trigger: Callable[[func.EventGridEvent], None], dispatcher: RecordingDispatcher
) -> None:
    for event in events_of(load(f"derived/{name}")):
        trigger(as_trigger_event(event))
    assert dispatcher.workspace_ids == RELEVANT[name]
    assert all(e is not None for e in dispatcher.evaluations)


@pytest.mark.parametrize("name", sorted(RELEVANT))
def test_derived_raw_path(name: str, dispatcher: RecordingDispatcher) -> None:
    raw = (FIXTURES / "derived" / name).read_bytes()
    result = pipeline.handle_delivery(raw, runtime.current())
    assert dispatcher.workspace_ids == RELEVANT[name]
    assert sorted(result.workspace_ids) == RELEVANT[name]


def test_evaluation_logs_ids(
    trigger: Callable[[func.EventGridEvent], None],
    dispatcher: RecordingDispatcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="remediators.pipeline")
    event = load("derived/docs_subscription_ResourceWriteSuccess_eventgrid_array.json")[0]
    trigger(as_trigger_event(event))
    summaries = [r for r in caplog.records if r.getMessage().startswith("Evaluated")]
    assert sorted(r.__dict__["workspace_id"] for r in summaries) == [WS_A, WS_B]
    assert all(r.__dict__["event_id"] == event["id"] for r in summaries)
    assert all(r.__dict__["evaluation_id"] for r in summaries)


def test_listkeys_action_ignored(
    trigger: Callable[[func.EventGridEvent], None],
    dispatcher: RecordingDispatcher,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    event = load("derived/docs_resourcegroup_ResourceActionSuccess_eventgrid_array.json")[0]
    trigger(as_trigger_event(event))
    assert dispatcher.requests == []
    assert "microsoft.eventhub/namespaces/authorizationrules affects no rule" in debug_logs.text


def test_cloudevent_only_id_and_data(
    trigger: Callable[[func.EventGridEvent], None], dispatcher: RecordingDispatcher
) -> None:
    event = load("derived/specs_resource_write_success_cloudevent.json")
    trigger_event = as_trigger_event(event)
    assert trigger_event.event_type is None
    trigger(trigger_event)
    assert dispatcher.workspace_ids == [WS_A, WS_B]


def test_arn_cloudevent_typo_without_subject(
    trigger: Callable[[func.EventGridEvent], None],
    dispatcher: RecordingDispatcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Through the trigger only data reaches the handler, and its resourceInfo.id has the
    # documentation's "{subcription-id}" typo: rejected with a warning, never evaluated.
    trigger(
        as_trigger_event(load("derived/arn_resources_createdOrUpdated_storage_cloudevent.json"))
    )
    assert dispatcher.requests == []
    assert "{subcription-id}" in caplog.text
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_deployment_and_storage_once(dispatcher: RecordingDispatcher) -> None:
    group = STORAGE.split("/providers/")[0]
    deployment = f"{group}/providers/Microsoft.Resources/deployments/Microsoft.StorageAccount-2024"
    delivery = [
        write_event("evt-deploy", deployment, correlation_id="c-1"),
        write_event("evt-storage", STORAGE, correlation_id="c-1"),
        write_event("evt-storage-again", STORAGE, correlation_id="c-1"),
    ]
    result = pipeline.handle_delivery(json.dumps(delivery), runtime.current())
    assert dispatcher.workspace_ids == [WS_A, WS_B]
    assert all(r.event_ids == ("evt-storage",) for r in dispatcher.requests)
    assert [i.event_id for i in result.ignored] == ["evt-deploy", "evt-storage-again"]
    assert all(
        f.resource_id != deployment
        for e in dispatcher.evaluations
        if e is not None
        for f in e.findings
    )


def test_out_of_scope_rejected(
    trigger: Callable[[func.EventGridEvent], None],
    dispatcher: RecordingDispatcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outside = WS_A.replace(SUBSCRIPTION, OTHER_SUBSCRIPTION)
    trigger(as_trigger_event(write_event("evt-out", outside)))
    assert dispatcher.requests == []
    assert f"subscription {OTHER_SUBSCRIPTION} is outside the configured scope" in caplog.text


def test_malformed_json_rejected(
    dispatcher: RecordingDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    result = pipeline.handle_delivery(b'[{"id": "x", "eventType": ', runtime.current())
    assert dispatcher.requests == []
    assert len(result.rejected) == 1
    assert "not JSON" in caplog.text


def test_trigger_data_not_json(
    trigger: Callable[[func.EventGridEvent], None], dispatcher: RecordingDispatcher
) -> None:
    class BrokenEvent:
        id = "evt-broken"
        topic = subject = event_type = event_time = None

        def get_json(self) -> Any:
            raise ValueError("Expecting value: line 1 column 1 (char 0)")

    trigger(BrokenEvent())  # type: ignore[arg-type]
    assert dispatcher.requests == []


@pytest.mark.parametrize("missing", [None, "None", ""])
def test_no_usable_id_never_evaluates(
    missing: str | None,
    trigger: Callable[[func.EventGridEvent], None],
    dispatcher: RecordingDispatcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = write_event("evt-none", missing)
    event["topic"] = None
    trigger(as_trigger_event(event))
    assert dispatcher.requests == []
    assert "no usable resource id" in caplog.text


def test_workspace_event_evaluates_it(
    trigger: Callable[[func.EventGridEvent], None], dispatcher: RecordingDispatcher
) -> None:
    trigger(as_trigger_event(write_event("evt-ws", WS_C)))
    assert dispatcher.workspace_ids == [WS_C]


def test_deleted_workspace_skipped(
    dispatcher: RecordingDispatcher, estate: Estate, caplog: pytest.LogCaptureFixture
) -> None:
    gone = WS_C.replace("ws-c", "ws-gone")
    pipeline.handle_delivery(
        [write_event("evt-del", gone, event_type="Microsoft.Resources.ResourceDeleteSuccess")],
        runtime.current(),
    )
    assert dispatcher.evaluations == [None]
    assert "the workspace was not found" in caplog.text


def test_work_errors_propagate(
    trigger: Callable[[func.EventGridEvent], None], dispatcher: RecordingDispatcher
) -> None:
    class UnavailableSource:
        def workspace_estate(self, workspace_id: str) -> Estate:
            raise ConnectionError("Azure Resource Manager is unavailable")

        def workspace_ids(self, scope: str) -> list[str]:
            return []

    dispatcher.inline.source = UnavailableSource()
    with pytest.raises(ConnectionError):
        trigger(as_trigger_event(write_event("evt-ws", WS_C)))


def write_event(
    event_id: str,
    resource_id: str | None,
    correlation_id: str = "corr-1",
    event_type: str = "Microsoft.Resources.ResourceWriteSuccess",
) -> dict[str, Any]:
    return {
        "id": event_id,
        "eventType": event_type,
        "subject": resource_id,
        "topic": f"/subscriptions/{SUBSCRIPTION}",
        "eventTime": "2024-05-01T10:00:00Z",
        "data": {"resourceUri": resource_id, "correlationId": correlation_id},
        "dataVersion": "2",
    }
