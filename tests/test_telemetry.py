"""Telemetry: configuration once per process, evaluation log context and counters.

Nothing here exports: `configure_azure_monitor` is replaced by a recorder, and the counters
are read from an in-memory OpenTelemetry metric reader.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from fake_arm import FakeArm
from remediators import runtime, telemetry
from remediators.actions.executors import Remediation
from remediators.actions.plan import Outcome, OutcomeStatus, PlannedAction
from remediators.config import Settings
from remediators.findings import Action
from remediators.service import EvaluationService, Status
from remediators.state import StorageClients
from remediators.state._common import iso
from tests.azurite import ACCOUNT_KEY
from tests.functions.estates import OTHER_SUBSCRIPTION, WS_A, build_estate
from tests.pipeline.conftest import Harness, Received, make_settings
from tests.pipeline.test_evaluator import make_private

ROOT = Path(__file__).resolve().parents[1]
CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
AAD = f"Authorization=AAD;ClientId={CLIENT_ID}"


# Metrics -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reader() -> InMemoryMetricReader:
    """Install an in-memory meter provider as the process's global one.

    The API accepts one global provider per process, so readings are compared before and
    after each step instead of starting from zero.
    """
    in_memory = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[in_memory])
    metrics.set_meter_provider(provider)
    if metrics.get_meter_provider() is not provider:
        pytest.fail("another meter provider was installed first; run these tests on their own")
    return in_memory


def total(reader: InMemoryMetricReader, name: str, **attributes: str) -> int:
    """Sum the cumulative points of counter `name` whose attributes include `attributes`."""
    data = reader.get_metrics_data()
    value = 0
    if data is None:
        return value
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    point_attributes = point.attributes or {}
                    if all(point_attributes.get(k) == v for k, v in attributes.items()):
                        value += int(point.value)  # type: ignore[union-attr]
    return value


# Pipeline harness ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def storage_clients() -> StorageClients:
    from tests.azurite import require_azurite

    return StorageClients.from_connection_string(require_azurite())


def build_harness(storage_clients: StorageClients, settings: Settings) -> Harness:
    built = Harness(
        FakeArm(build_estate().resources()),
        storage_clients,
        f"t{uuid.uuid4().hex[:12]}",
        settings,
    )
    runtime.install(built.runtime)
    return built


@pytest.fixture
def harness(storage_clients: StorageClients) -> Iterator[Harness]:
    yield build_harness(storage_clients, make_settings())
    runtime.install(None)


def message(workspace_id: str = WS_A) -> str:
    return json.dumps(
        {"workspace_id": workspace_id, "reason": "test", "requested_at": iso(datetime.now(UTC))}
    )


def run(harness: Harness, body: str) -> None:
    harness.run_queue_function(Received(f"msg-{uuid.uuid4().hex[:8]}", body, 1))


def opened(reader: InMemoryMetricReader, **attributes: str) -> int:
    return total(reader, telemetry.FINDINGS_OPENED, **attributes)


def resolved(reader: InMemoryMetricReader, **attributes: str) -> int:
    return total(reader, telemetry.FINDINGS_RESOLVED, **attributes)


@pytest.mark.azurite
def test_new_findings_counted(harness: Harness, reader: InMemoryMetricReader) -> None:
    before = opened(reader)
    private_link = opened(reader, rule="workspace.private-link", severity="error")

    run(harness, message())

    stored = harness.stores.findings.load(WS_A)
    assert len(stored) > 1
    assert opened(reader) - before == len(stored)
    assert opened(reader, rule="workspace.private-link", severity="error") - private_link == 1


@pytest.mark.azurite
def test_open_findings_not_recounted(harness: Harness, reader: InMemoryMetricReader) -> None:
    run(harness, message())
    before = opened(reader)

    run(harness, message())

    assert opened(reader) == before


@pytest.mark.azurite
def test_fixed_finding_counted(harness: Harness, reader: InMemoryMetricReader) -> None:
    run(harness, message())
    before = resolved(reader, rule="workspace.private-link", severity="error")

    make_private(harness)
    run(harness, message())

    assert resolved(reader, rule="workspace.private-link", severity="error") - before == 1


@pytest.mark.azurite
def test_evaluations_counted(harness: Harness, reader: InMemoryMetricReader) -> None:
    completed = total(reader, telemetry.EVALUATIONS, status=Status.COMPLETED.value)
    rejected = total(reader, telemetry.EVALUATIONS, status=Status.REJECTED.value)
    outside = WS_A.replace(WS_A.split("/")[2], OTHER_SUBSCRIPTION)

    run(harness, message())
    run(harness, message(outside))

    assert total(reader, telemetry.EVALUATIONS, status="completed") - completed == 1
    assert total(reader, telemetry.EVALUATIONS, status="rejected") - rejected == 1


def create_endpoint(action: PlannedAction) -> Outcome:
    return Outcome(OutcomeStatus.CREATED, f"created an endpoint for {action.target_id}")


@pytest.fixture
def remediating(storage_clients: StorageClients) -> Iterator[Harness]:
    """A harness in remediate mode whose only executor creates private endpoints."""
    settings = make_settings(mode="remediate")
    built = build_harness(storage_clients, settings)
    built.runtime.remediation = Remediation(
        settings, lambda dry_run: {Action.CREATE_PRIVATE_ENDPOINT: create_endpoint}
    )
    yield built
    runtime.install(None)


@pytest.mark.azurite
def test_actions_counted(remediating: Harness, reader: InMemoryMetricReader) -> None:
    created = total(reader, telemetry.ACTIONS, action="create-private-endpoint", result="created")
    skipped = total(reader, telemetry.ACTIONS, action="repair-dns-zone-group", result="skipped")

    run(remediating, message())

    records = [r for r in remediating.stores.audit.recent(WS_A, 500) if r.kind == "action"]
    created_records = [r for r in records if r.result == "created"]
    assert len(created_records) > 1
    after = total(reader, telemetry.ACTIONS, action="create-private-endpoint", result="created")
    assert after - created == len(created_records)
    # The DNS repair has no executor in this harness, so it is skipped, and counted as such.
    after = total(reader, telemetry.ACTIONS, action="repair-dns-zone-group", result="skipped")
    assert after - skipped == 1


# Evaluation log context ----------------------------------------------------------------------


@pytest.mark.azurite
def test_evaluation_logs_carry_ids(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(telemetry.EvaluationContextFilter())
    caplog.set_level(logging.DEBUG, logger="remediators")
    service: EvaluationService = harness.service
    evaluation_id = "eval-" + uuid.uuid4().hex

    service.evaluate(WS_A, reason="test", dry_run=False, evaluation_id=evaluation_id)

    ours = [r for r in caplog.records if r.name.startswith("remediators")]
    assert len(ours) > 3
    for record in ours:
        assert getattr(record, "evaluation_id", None) == evaluation_id, record.getMessage()
        # The dependency index, built during the first evaluation, logs other workspaces.
        assert getattr(record, "workspace_id", None) is not None, record.getMessage()
    # The estate reader logs its reads without ids of its own, so these come from the context.
    reads = [r for r in ours if r.name == "remediators.estate.live" and r.msg == "reading %s"]
    assert reads
    assert {getattr(r, "workspace_id", None) for r in reads} == {WS_A}


@pytest.mark.azurite
def test_evaluation_logs_carry_rule(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="remediators")

    run(harness, message())

    rules = {getattr(r, "rule", None) for r in caplog.records}
    actions = {getattr(r, "action", None) for r in caplog.records}
    assert "workspace.private-link" in rules
    assert "create-private-endpoint" in actions


@pytest.mark.azurite
def test_evaluation_logs_no_secrets(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(telemetry.EvaluationContextFilter())
    caplog.set_level(logging.DEBUG)

    run(harness, message())

    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + " " + " ".join(map(str, vars(record).values()))
        assert ACCOUNT_KEY not in text, record.name
        assert "fake-token" not in text, record.name


def test_context_filter_outside_evaluation() -> None:
    record = logging.makeLogRecord({"msg": "outside"})

    telemetry.EvaluationContextFilter().filter(record)

    assert not hasattr(record, "evaluation_id")
    assert not hasattr(record, "workspace_id")


def test_context_filter_keeps_own_ids() -> None:
    record = logging.makeLogRecord({"msg": "own", "workspace_id": "/other"})

    with telemetry.evaluation_context(WS_A, "eval-1"):
        telemetry.EvaluationContextFilter().filter(record)

    assert getattr(record, "workspace_id", None) == "/other"
    assert getattr(record, "evaluation_id", None) == "eval-1"


def test_context_reset_after_block() -> None:
    with telemetry.evaluation_context(WS_A, "eval-1"):
        assert telemetry.current_context()["evaluation_id"] == "eval-1"

    assert dict(telemetry.current_context()) == {}


# Configuration -------------------------------------------------------------------------------


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", 0)


class Distro:
    """Record `configure_azure_monitor` calls and add a handler, as the distro does."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.handler = logging.NullHandler()

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)
        logging.getLogger(kwargs["logger_name"]).addHandler(self.handler)


@pytest.fixture
def distro(monkeypatch: pytest.MonkeyPatch) -> Iterator[Distro]:
    import azure.monitor.opentelemetry

    recorder = Distro()
    monkeypatch.setattr(azure.monitor.opentelemetry, "configure_azure_monitor", recorder)
    monkeypatch.setattr(telemetry, "_configured", False)
    exported = logging.getLogger(telemetry.LOGGER_NAME)
    level = exported.level
    yield recorder
    exported.removeHandler(recorder.handler)
    exported.setLevel(level)


class CredentialFactory:
    def __init__(self) -> None:
        self.client_ids: list[str | None] = []
        self.credential = FakeCredential()

    def __call__(self, client_id: str | None) -> FakeCredential:
        self.client_ids.append(client_id)
        return self.credential


def test_configure_once_with_credential(distro: Distro) -> None:
    factory = CredentialFactory()
    environ = {telemetry.CONNECTION_STRING: CONNECTION, telemetry.AUTHENTICATION_STRING: AAD}

    first = telemetry.configure(environ, credential_factory=factory)
    second = telemetry.configure(environ, credential_factory=factory)

    assert first is True
    assert second is True
    assert len(distro.calls) == 1
    assert distro.calls[0]["credential"] is factory.credential
    assert distro.calls[0]["connection_string"] == CONNECTION
    assert distro.calls[0]["logger_name"] == "remediators"
    assert factory.client_ids == [CLIENT_ID]


def test_configure_attaches_context_filter(distro: Distro) -> None:
    telemetry.configure(
        {telemetry.CONNECTION_STRING: CONNECTION}, credential_factory=CredentialFactory()
    )

    filters = distro.handler.filters
    assert any(isinstance(f, telemetry.EvaluationContextFilter) for f in filters)
    assert logging.getLogger("remediators").getEffectiveLevel() <= logging.INFO


def test_configure_without_aad_no_credential(distro: Distro) -> None:
    factory = CredentialFactory()

    telemetry.configure({telemetry.CONNECTION_STRING: CONNECTION}, credential_factory=factory)

    assert distro.calls[0]["credential"] is None
    assert factory.client_ids == []


def test_configure_without_connection_string(distro: Distro) -> None:
    factory = CredentialFactory()

    configured = telemetry.configure(
        {telemetry.AUTHENTICATION_STRING: AAD}, credential_factory=factory
    )

    assert configured is False
    assert distro.calls == []
    assert factory.client_ids == []


def test_configure_rejects_bad_authentication(distro: Distro) -> None:
    environ = {
        telemetry.CONNECTION_STRING: CONNECTION,
        telemetry.AUTHENTICATION_STRING: "Authorization=Key",
    }

    with pytest.raises(ValueError, match="Authorization must be AAD"):
        telemetry.configure(environ, credential_factory=CredentialFactory())

    assert distro.calls == []


@pytest.mark.parametrize(
    ("text", "entra_id", "client_id"),
    [
        ("", False, None),
        ("Authorization=AAD", True, None),
        (f"authorization=aad; clientid={CLIENT_ID};", True, CLIENT_ID),
    ],
)
def test_authentication_parse(text: str, entra_id: bool, client_id: str | None) -> None:
    parsed = telemetry.Authentication.parse(text)

    assert parsed.entra_id is entra_id
    assert parsed.client_id == client_id


@pytest.mark.parametrize("text", ["AAD", "Authorization=AAD;Secret=x", "ClientId=abc"])
def test_authentication_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="APPLICATIONINSIGHTS_AUTHENTICATION_STRING"):
        telemetry.Authentication.parse(text)


PROBE = """
import json, sys
import function_app
after_import = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry")
from remediators import telemetry
configured = telemetry.configure()
print(json.dumps({
    "configured": configured,
    "opentelemetry_after_import": after_import,
    "distro_loaded": "azure.monitor.opentelemetry" in sys.modules,
}))
"""


def test_absent_setting_skips_distro() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS_")}

    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["configured"] is False
    assert result["distro_loaded"] is False
    assert result["opentelemetry_after_import"] == []


def test_authentication_error_hides_value() -> None:
    secret = "Authorization=AAD;InstrumentationKey=LEAKME-0000"

    with pytest.raises(ValueError) as raised:
        telemetry.Authentication.parse(secret)

    assert "LEAKME" not in str(raised.value)
