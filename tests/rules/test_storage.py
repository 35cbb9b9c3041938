"""storage.private-endpoint and storage.public-network-access."""

from __future__ import annotations

from remediators.findings import Action
from tests.rules.builders import (
    STORAGE_ID,
    WORKSPACE_ID,
    connection_on,
    findings_of,
    healthy,
    only,
    rule_ids,
    storage_account,
)


def _drop_endpoint(resources: dict, name: str) -> None:
    for key in [k for k in resources if k.startswith(f"{name}#")]:
        del resources[key]


def _with_groups(*groups: str) -> dict:
    resources = healthy()
    resources["storage"] = storage_account(groups)
    for group in {"blob", "file", "queue", "table"} - set(groups):
        _drop_endpoint(resources, f"pe-{group}")
    return resources


def test_blob_and_file_only_reports_queue_and_table():
    findings = findings_of(_with_groups("blob", "file"))
    storage = only(findings, "storage.private-endpoint")
    assert [f.details["group_id"] for f in storage] == ["queue", "table"]
    assert rule_ids(findings) == [
        "storage.private-endpoint",
        "storage.private-endpoint",
        "endpoint.studio-invoke",
    ]


def test_missing_group_message_names_groups_and_endpoints():
    finding = only(findings_of(_with_groups("blob", "file")), "storage.private-endpoint")[0]
    assert "queue, table" in finding.message
    assert "scoring" in finding.message
    assert finding.details["missing_groups"] == ["queue", "table"]
    assert finding.details["batch_endpoints"] == [f"{WORKSPACE_ID}/batchEndpoints/scoring"]
    assert finding.action is Action.CREATE_PRIVATE_ENDPOINT
    assert finding.resource_id == STORAGE_ID


def test_all_four_groups_is_compliant():
    assert only(findings_of(healthy()), "storage.private-endpoint") == []


def test_group_comes_from_private_endpoint():
    resources = healthy()
    # The queue connection's endpoint actually serves blob, so queue is not covered.
    resources["pe-queue#0"]["properties"]["privateLinkServiceConnections"][0]["properties"][
        "groupIds"
    ] = ["blob"]
    groups = [
        f.details["group_id"] for f in only(findings_of(resources), "storage.private-endpoint")
    ]
    assert groups == ["queue"]


def test_manual_connection_group_counts():
    resources = healthy()
    props = resources["pe-table#0"]["properties"]
    props["manualPrivateLinkServiceConnections"] = props.pop("privateLinkServiceConnections")
    props["privateLinkServiceConnections"] = []
    assert only(findings_of(resources), "storage.private-endpoint") == []


def test_endpoint_not_in_estate_counts_for_no_group():
    resources = healthy()
    _drop_endpoint(resources, "pe-table")
    findings = only(findings_of(resources), "storage.private-endpoint")
    assert [f.details["group_id"] for f in findings] == ["table"]
    assert findings[0].details["private_endpoints_not_found"] == [
        resources["storage"]["properties"]["privateEndpointConnections"][3]["properties"][
            "privateEndpoint"
        ]["id"]
    ]
    assert "not in the estate" in findings[0].message


def test_pending_connection_counts_for_no_group():
    resources = healthy()
    connections = resources["storage"]["properties"]["privateEndpointConnections"]
    connections[2] = connection_on(STORAGE_ID, "pe-queue", status="Pending")
    groups = [
        f.details["group_id"] for f in only(findings_of(resources), "storage.private-endpoint")
    ]
    assert groups == ["queue"]


def test_endpoint_targeting_other_account_counts_for_no_group():
    resources = healthy()
    link = resources["pe-file#0"]["properties"]["privateLinkServiceConnections"][0]["properties"]
    link["privateLinkServiceId"] = STORAGE_ID.replace("teststorage", "otherstorage")
    groups = [
        f.details["group_id"] for f in only(findings_of(resources), "storage.private-endpoint")
    ]
    assert groups == ["file"]


def test_mixed_case_ids_still_match():
    resources = healthy()
    resources["workspace"]["properties"]["storageAccount"] = STORAGE_ID.lower()
    for group in ("blob", "file", "queue", "table"):
        link = resources[f"pe-{group}#0"]["properties"]["privateLinkServiceConnections"][0]
        link["properties"]["privateLinkServiceId"] = STORAGE_ID.upper()
        link["properties"]["groupIds"] = [group.upper()]
    status = resources["storage"]["properties"]["privateEndpointConnections"][0]["properties"]
    status["privateLinkServiceConnectionState"]["status"] = "approved"
    assert only(findings_of(resources), "storage.private-endpoint") == []


def _managed(resources: dict, groups: tuple[str, ...]) -> dict:
    rules = {
        f"storage-{g}": {
            "type": "PrivateEndpoint",
            "category": "UserDefined",
            "status": "Active",
            "destination": {
                "serviceResourceId": STORAGE_ID,
                "subresourceTarget": g,
                "sparkEnabled": False,
            },
        }
        for g in groups
    }
    resources["workspace"]["properties"]["managedNetwork"] = {
        "isolationMode": "AllowOnlyApprovedOutbound",
        "outboundRules": rules,
    }
    return resources


def test_managed_network_needs_outbound_rules():
    resources = _managed(_with_groups(), ("blob", "file"))
    findings = only(findings_of(resources), "storage.private-endpoint")
    assert [f.details["group_id"] for f in findings] == ["queue", "table"]
    assert {f.action for f in findings} == {Action.CREATE_MANAGED_OUTBOUND_RULE}


def test_managed_network_ignores_private_endpoints():
    resources = _managed(healthy(), ())
    findings = only(findings_of(resources), "storage.private-endpoint")
    assert len(findings) == 4


def test_managed_network_with_all_rules_is_compliant():
    resources = _managed(_with_groups(), ("blob", "file", "queue", "table"))
    assert only(findings_of(resources), "storage.private-endpoint") == []


def test_managed_rule_of_other_type_does_not_count():
    resources = _managed(_with_groups(), ("blob", "file", "queue", "table"))
    rules = resources["workspace"]["properties"]["managedNetwork"]["outboundRules"]
    rules["storage-table"]["type"] = "FQDN"
    findings = only(findings_of(resources), "storage.private-endpoint")
    assert [f.details["group_id"] for f in findings] == ["table"]


# ---------------------------------------------------------------- public network access


def _storage_access(public_network_access: str | None, default_action: str | None) -> list:
    resources = healthy()
    props = resources["storage"]["properties"]
    props.pop("publicNetworkAccess")
    if public_network_access is not None:
        props["publicNetworkAccess"] = public_network_access
    if default_action is None:
        props["networkAcls"].pop("defaultAction")
    else:
        props["networkAcls"]["defaultAction"] = default_action
    return only(findings_of(resources), "storage.public-network-access")


def test_sample_without_public_network_access_is_public():
    # The real sample has defaultAction Allow and no publicNetworkAccess key at all.
    assert len(_storage_access(None, "Allow")) == 1


def test_enabled_and_allow_is_public():
    assert len(_storage_access("Enabled", "Allow")) == 1


def test_absent_default_action_counts_as_allow():
    assert len(_storage_access("Enabled", None)) == 1


def test_disabled_public_access_is_private():
    assert _storage_access("disabled", "Allow") == []


def test_deny_default_action_is_private():
    assert _storage_access("Enabled", "Deny") == []
