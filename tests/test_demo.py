"""The demo estates: the planted faults are exactly what `remediate check` reports."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from demo import build
from remediators.cli import main
from tests.azurite import require_azurite

DEMO = Path(__file__).parent.parent / "demo"
WORKSPACE = build.WORKSPACE_ID
SANDBOX = build.SANDBOX_ID
STORAGE = build.STORAGE_ID
REGISTRY = build.REGISTRY_ID
CLUSTER = build.CLUSTER_ID
CHURN = build.CHURN_ID
FRAUD = build.FRAUD_ID
WORKSPACE_PE = build.WORKSPACE_PE_ID

PLANTED = {
    ("storage.private-endpoint", STORAGE, "queue"),
    ("storage.private-endpoint", STORAGE, "table"),
    ("private-endpoint.dns", WORKSPACE_PE, "privatelink.notebooks.azure.net"),
    ("registry.quarantine", REGISTRY, ""),
    ("workspace.image-build-compute", WORKSPACE, ""),
    ("compute.outbound-rules", CLUSTER, "AzureFrontDoor.FirstParty:443"),
    ("compute.outbound-path", CLUSTER, ""),
    ("endpoint.stale-network", CHURN, ""),
    ("endpoint.studio-invoke", CHURN, ""),
    ("endpoint.studio-invoke", FRAUD, ""),
}


def check(estate: Path) -> tuple[int, dict[str, Any]]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        ["check", "--estate", str(estate), "--format", "json"], stdout=stdout, stderr=stderr
    )
    return code, json.loads(stdout.getvalue())


def subject(finding: dict[str, Any]) -> str:
    details = finding["details"]
    for key in ("group_id", "missing_zones", "blocked"):
        if details.get(key):
            value = details[key]
            return ", ".join(value) if isinstance(value, list) else str(value)
    return ""


def planted_set(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["rule"], f["resource_id"].lower(), subject(f)) for f in document["findings"]}


def lowered(expected: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    return {(rule, resource.lower(), item) for rule, resource, item in expected}


def test_demo_estate_reports_planted_faults() -> None:
    code, document = check(DEMO / "estate.json")
    assert planted_set(document) == lowered(PLANTED)
    assert len(document["findings"]) == len(PLANTED)
    assert code == 1


def test_demo_findings_belong_to_workspace() -> None:
    _, document = check(DEMO / "estate.json")
    assert {f["workspace_id"] for f in document["findings"]} == {WORKSPACE}


def test_demo_sandbox_is_exempt() -> None:
    _, document = check(DEMO / "estate.json")
    [sandbox] = [w for w in document["workspaces"] if w["workspace_id"] == SANDBOX]
    assert sandbox["exempt"] is True
    assert "network-isolation" in sandbox["exempt_reason"]


def test_demo_history_from_resource_graph() -> None:
    _, document = check(DEMO / "estate.json")
    [workspace] = [w for w in document["workspaces"] if w["workspace_id"] == WORKSPACE]
    assert workspace["network_history"] == "resource-graph"


def test_compliant_estate_only_info() -> None:
    code, document = check(DEMO / "compliant-estate.json")
    rules = sorted(f["rule"] for f in document["findings"])
    assert rules == ["endpoint.studio-invoke", "endpoint.studio-invoke"]
    assert code == 0


def test_estate_files_match_builder() -> None:
    # The committed estates are what demo/build.py writes; run `python -m demo.build` after
    # changing it.
    assert (DEMO / "estate.json").read_text() == build.render(build.build_estate())
    compliant = build.render(build.build_estate(compliant=True))
    assert (DEMO / "compliant-estate.json").read_text() == compliant


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    # A subprocess, because FunctionApp.get_functions() may run only once per process and the
    # trigger tests already call it.
    return subprocess.run(
        [sys.executable, "-m", "demo", *args],
        cwd=DEMO.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.azurite
def test_demo_runner_plays_events() -> None:
    require_azurite()
    result = run_demo()
    output = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Ignored event" not in output
    assert "ignored: subscription validation event" in output
    assert output.count("enqueued for workspace mlw-contoso-batch") == 1
    assert output.count("coalesced into the pending evaluation of mlw-contoso-batch") == 1
    assert output.count("dropped as older than the last event for stcontosobatch") == 4
    assert "remediate check exited 1" in output
    assert "Traceback" not in result.stderr


@pytest.mark.azurite
def test_demo_one_evaluation_stores_findings() -> None:
    require_azurite()
    result = run_demo()
    output = result.stdout
    assert result.returncode == 0, result.stderr
    assert "1 evaluation of mlw-contoso-batch for the 2 events routed to it" in output
    assert "1 in total" in output
    stored = output.split("Stored findings of mlw-contoso-batch", 1)[-1]
    stored = stored.split("Evaluations run", 1)[0]
    rows = [line for line in stored.splitlines() if line.startswith("│")]
    for rule, resource, item in sorted(PLANTED):
        name = resource.rsplit("/", 1)[-1]
        matching = [row for row in rows if f" {rule} " in row and name in row and item in row]
        assert len(matching) == 1, (rule, name, item)
    assert len(rows) == len(PLANTED)
    assert all(row.split("│")[-2].strip() == "open" for row in rows)


def closed_port() -> int:
    """Return a loopback port that was free a moment ago, so nothing listens on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_without_azurite_names_fix() -> None:
    environment = {**os.environ, "AZURITE_QUEUE_PORT": str(closed_port())}
    result = subprocess.run(
        [sys.executable, "-m", "demo"],
        cwd=DEMO.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )
    assert result.returncode == 2
    assert "npm ci" in result.stderr
    assert "Node.js 20" in result.stderr
    assert "Traceback" not in result.stderr
