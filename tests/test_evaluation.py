"""evaluate_workspace, evaluate_estate and report_json over built estates."""

from __future__ import annotations

import json
from pathlib import Path

from remediators.evaluation import evaluate_estate, evaluate_workspace, report_json
from tests.rules.builders import WORKSPACE_ID, estate_of, healthy, storage_account

CHANGES = Path(__file__).resolve().parent / "fixtures" / "arm"


def _change_rows() -> list[dict]:
    document = json.loads((CHANGES / "resourcegraph_resourcechanges_workspace.json").read_text())
    # The fixture's rows target the builders' workspace id.
    return document["data"]


def test_history_comes_from_estate_change_records():
    # The endpoint was created on 2024-03-01, after the recorded switch on 2024-02-15.
    estate = estate_of(healthy())
    for row in _change_rows():
        estate.add(row)
    evaluation = evaluate_workspace(estate, WORKSPACE_ID)
    assert evaluation.history_source == "resource-graph"
    assert [f.rule for f in evaluation.findings] == ["endpoint.studio-invoke"]


def test_endpoint_before_recorded_switch_is_stale():
    resources = healthy()
    resources["endpoint"]["systemData"]["createdAt"] = "2024-02-01T00:00:00Z"
    estate = estate_of(resources)
    for row in _change_rows():
        estate.add(row)
    rules = [f.rule for f in evaluate_workspace(estate, WORKSPACE_ID).findings]
    assert "endpoint.stale-network" in rules


def test_without_change_records_age_is_unknown():
    evaluation = evaluate_workspace(estate_of(healthy()), WORKSPACE_ID)
    assert evaluation.history_source == "unknown"
    assert "endpoint.network-age-unknown" in [f.rule for f in evaluation.findings]
    assert "endpoint.stale-network" not in [f.rule for f in evaluation.findings]


def test_exempt_workspace_has_no_findings():
    resources = healthy()
    resources["workspace"]["tags"] = {"Network-Isolation": "exempt"}
    evaluation = evaluate_workspace(estate_of(resources), WORKSPACE_ID)
    assert evaluation.exempt is True
    assert evaluation.findings == []
    assert evaluation.exempt_reason == "tag Network-Isolation=exempt"


def test_missing_dependency_is_reported():
    resources = healthy()
    del resources["vault"]
    evaluation = evaluate_workspace(estate_of(resources), WORKSPACE_ID)
    assert resources["workspace"]["properties"]["keyVault"] in evaluation.missing


def test_report_counts_findings_by_severity():
    resources = healthy()
    resources["storage"] = storage_account(("blob", "file"))
    report = report_json(evaluate_estate(estate_of(resources)))
    assert report["summary"]["workspaces"] == 1
    assert report["summary"]["error"] == 2
    assert report["summary"]["warning"] == 1
    assert [f["rule"] for f in report["findings"]].count("storage.private-endpoint") == 2
