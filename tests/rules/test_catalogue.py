"""Every catalogue rule has a registered check and a case that produces it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from remediators.estate.estate import NetworkHistory
from remediators.findings import RULES
from remediators.rules import RuleOptions, registered_checks
from tests.rules.builders import (
    ROUTE_TABLE_ID,
    compute,
    connection_on,
    findings_of,
    healthy,
    key_vault,
    nsg,
    route_table,
    security_rule,
    utc,
)

Case = tuple[dict[str, Any], RuleOptions | None, NetworkHistory | None]


def _changed(change: Callable[[dict[str, Any]], None], history=None) -> Case:
    resources = healthy()
    change(resources)
    return resources, None, history


def _ws(resources: dict) -> dict:
    return resources["workspace"]["properties"]


def _cluster(resources: dict) -> dict:
    return resources["compute"]["properties"]["properties"]


def _public_cluster(resources: dict) -> None:
    resources["compute"] = compute(public_ip=True)
    resources["nsg"] = nsg([])


def _firewalled(resources: dict) -> None:
    _public_cluster(resources)
    resources["compute-subnet"]["properties"]["routeTable"] = {"id": ROUTE_TABLE_ID}
    resources["routes"] = route_table([("0.0.0.0/0", "VirtualAppliance")])


CASES: dict[str, Callable[[], Case]] = {
    "workspace.private-link": lambda: _changed(
        lambda r: _ws(r).update(privateEndpointConnections=[])
    ),
    "workspace.public-network-access": lambda: _changed(
        lambda r: _ws(r).update(publicNetworkAccess="Enabled")
    ),
    "workspace.image-build-compute": lambda: _changed(
        lambda r: _ws(r).update(imageBuildCompute=None)
    ),
    "workspace.customer-managed-key": lambda: _changed(
        lambda r: _ws(r).update(encryption={"status": "Enabled"})
    ),
    "registry.sku": lambda: _changed(lambda r: r["registry"].update(sku={"name": "Basic"})),
    "registry.private-endpoint": lambda: _changed(
        lambda r: r["registry"]["properties"].update(privateEndpointConnections=[])
    ),
    "registry.public-network-access": lambda: _changed(
        lambda r: r["registry"]["properties"].update(
            publicNetworkAccess="Enabled", networkRuleSet={"defaultAction": "Allow"}
        )
    ),
    "registry.quarantine": lambda: _changed(
        lambda r: r["registry"]["properties"].update(
            policies={"quarantinePolicy": {"status": "enabled"}}
        )
    ),
    "storage.private-endpoint": lambda: _changed(
        lambda r: r["storage"]["properties"].update(privateEndpointConnections=[])
    ),
    "storage.public-network-access": lambda: _changed(
        lambda r: r["storage"]["properties"].update(
            publicNetworkAccess="Enabled", networkAcls={"defaultAction": "Allow"}
        )
    ),
    "keyvault.private-endpoint": lambda: _changed(
        lambda r: r.update(vault=key_vault(with_endpoint=False))
    ),
    "private-endpoint.connection-state": lambda: _changed(
        lambda r: r["vault"]["properties"]["privateEndpointConnections"].append(
            connection_on(r["vault"]["id"], "pe-rejected", status="Rejected")
        )
    ),
    "private-endpoint.dns": lambda: _changed(lambda r: r.pop("pe-blob#1")),
    "compute.virtual-network": lambda: _changed(lambda r: _cluster(r).pop("subnet")),
    "compute.inbound-rules": lambda: _changed(_public_cluster),
    "compute.outbound-path": lambda: _changed(
        lambda r: r["compute-subnet"]["properties"].pop("natGateway")
    ),
    "compute.firewall-routes": lambda: _changed(_firewalled),
    "compute.outbound-rules": lambda: _changed(
        lambda r: r.update(nsg=nsg([security_rule("DenyOut", 100, "Outbound", "Deny")]))
    ),
    "endpoint.stale-network": lambda: _changed(
        lambda r: None, NetworkHistory(utc("2024-06-01T00:00:00"), None, "resource-graph")
    ),
    "endpoint.network-age-unknown": lambda: _changed(lambda r: None, NetworkHistory()),
    "endpoint.spec.network-keys": lambda: _changed(
        lambda r: r["endpoint"]["properties"].update(publicNetworkAccess="Disabled")
    ),
    "endpoint.studio-invoke": lambda: _changed(lambda r: None),
}


def test_every_rule_has_a_registered_check():
    registered = {rule_id for rule_id, _ in registered_checks()}
    assert registered == set(RULES)


def test_every_rule_has_a_case():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule_id", list(CASES))
def test_case_produces_its_rule(rule_id):
    resources, options, history = CASES[rule_id]()
    produced = {f.rule for f in findings_of(resources, options, history)}
    assert rule_id in produced


# Studio-invoke guidance is given for every endpoint of a private workspace, healthy or not.
@pytest.mark.parametrize("rule_id", [r for r in CASES if r != "endpoint.studio-invoke"])
def test_healthy_estate_does_not_produce(rule_id):
    assert rule_id not in {f.rule for f in findings_of(healthy())}


def test_findings_serialise_to_the_contract_shape():
    resources, options, history = CASES["storage.private-endpoint"]()
    for finding in findings_of(resources, options, history):
        data = finding.to_json()
        assert set(data) == {
            "rule",
            "severity",
            "resource_id",
            "workspace_id",
            "message",
            "action",
            "details",
        }
        assert data["details"]["docs"].startswith("https://learn.microsoft.com/")
