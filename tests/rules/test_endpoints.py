"""endpoint.* rules and network_keys_in."""

from __future__ import annotations

import pytest

from remediators.estate.estate import NetworkHistory
from remediators.findings import Action, Severity
from remediators.rules.endpoints import network_keys_in
from tests.rules.builders import (
    batch_deployment,
    batch_endpoint,
    findings_of,
    healthy,
    only,
    rule_ids,
    utc,
)

SWITCH = utc("2024-03-10T00:00:00")


def _two_endpoints() -> dict:
    resources = healthy()
    resources["endpoint"] = batch_endpoint("before", "2024-03-01T12:00:00.1234567Z")
    resources["deployment"] = batch_deployment("before")
    resources["endpoint-after"] = batch_endpoint("after", "2024-03-20T08:00:00Z")
    return resources


def _names(findings: list) -> list[str]:
    return [f.resource_id.rsplit("/", 1)[-1] for f in findings]


def test_endpoint_created_before_switch_is_stale():
    history = NetworkHistory(SWITCH, SWITCH, "resource-graph")
    findings = findings_of(_two_endpoints(), history=history)
    stale = only(findings, "endpoint.stale-network")
    assert _names(stale) == ["before"]
    assert stale[0].action is Action.QUEUE_RECREATION
    assert stale[0].severity is Severity.ERROR
    assert stale[0].details["created_at"] == "2024-03-01T12:00:00.123456+00:00"
    assert stale[0].details["became_private_at"] == SWITCH.isoformat()
    assert "endpoint.network-age-unknown" not in rule_ids(findings)


def test_unknown_history_alerts_instead_of_recreating():
    findings = findings_of(_two_endpoints(), history=NetworkHistory())
    unknown = only(findings, "endpoint.network-age-unknown")
    assert _names(unknown) == ["after", "before"]
    assert {f.action for f in unknown} == {Action.ALERT}
    assert "endpoint.stale-network" not in rule_ids(findings)


def test_unknown_switch_with_evidence_flags_only_older_endpoints():
    history = NetworkHistory(None, SWITCH, "resource-graph")
    unknown = only(findings_of(_two_endpoints(), history=history), "endpoint.network-age-unknown")
    assert _names(unknown) == ["before"]
    assert unknown[0].details["earliest_private_evidence"] == SWITCH.isoformat()


def test_endpoint_without_created_at_is_age_unknown():
    resources = healthy()
    del resources["endpoint"]["systemData"]
    history = NetworkHistory(None, SWITCH, "resource-graph")
    assert len(only(findings_of(resources, history=history), "endpoint.network-age-unknown")) == 1


def test_public_workspace_has_no_endpoint_age_findings():
    resources = _two_endpoints()
    resources["workspace"]["properties"]["privateEndpointConnections"] = []
    history = NetworkHistory(SWITCH, SWITCH, "resource-graph")
    findings = findings_of(resources, history=history)
    assert "endpoint.stale-network" not in rule_ids(findings)
    assert "endpoint.studio-invoke" not in rule_ids(findings)


def test_healthy_private_workspace_gives_only_studio_invoke():
    findings = findings_of(healthy())
    assert rule_ids(findings) == ["endpoint.studio-invoke"]
    assert findings[0].severity is Severity.INFO
    assert "CLI" in findings[0].message


def test_studio_invoke_once_per_endpoint():
    history = NetworkHistory(utc("2024-01-01T00:00:00"), None, "resource-graph")
    findings = only(findings_of(_two_endpoints(), history=history), "endpoint.studio-invoke")
    assert _names(findings) == ["after", "before"]


def test_managed_network_with_public_access_disabled_is_private():
    resources = healthy()
    props = resources["workspace"]["properties"]
    props["privateEndpointConnections"] = []
    props["managedNetwork"] = {"isolationMode": "AllowOnlyApprovedOutbound"}
    assert "endpoint.studio-invoke" in rule_ids(findings_of(resources))


# ---------------------------------------------------------------- network keys


@pytest.mark.parametrize(
    ("spec", "keys"),
    [
        ({"name": "e", "public_network_access": "disabled"}, ["public_network_access"]),
        ({"egress_public_network_access": "disabled"}, ["egress_public_network_access"]),
        ({"properties": {"publicNetworkAccess": "Disabled"}}, ["properties.publicNetworkAccess"]),
        (
            {"properties": {"egressPublicNetworkAccess": "Enabled"}},
            ["properties.egressPublicNetworkAccess"],
        ),
        ({"name": "e", "auth_mode": "aad_token"}, []),
        ({"properties": "not a mapping"}, []),
    ],
)
def test_network_keys_in(spec, keys):
    assert network_keys_in(spec) == keys


def test_endpoint_payload_with_network_key():
    resources = healthy()
    resources["endpoint"]["properties"]["publicNetworkAccess"] = "Disabled"
    findings = only(findings_of(resources), "endpoint.spec.network-keys")
    assert findings[0].details["keys"] == ["properties.publicNetworkAccess"]
    assert findings[0].action is Action.LINT_ERROR


def test_endpoint_payload_without_network_key():
    assert only(findings_of(healthy()), "endpoint.spec.network-keys") == []


def test_endpoint_without_created_at_after_known_switch():
    resources = healthy()
    del resources["endpoint"]["systemData"]
    findings = findings_of(resources)
    assert len(only(findings, "endpoint.network-age-unknown")) == 1
    assert not only(findings, "endpoint.stale-network")
