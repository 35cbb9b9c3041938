"""The HTML report: boxes coloured by their findings, escaping and a self-contained page."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

import pytest

from demo import build
from remediators.estate.file import load_estate
from remediators.evaluation import Evaluation, evaluate_context
from remediators.findings import make_finding
from remediators.report import STORAGE_GROUPS, evaluate_for_report, main, render_report
from tests.report.pages import PLANTED_RULES, box_of, drawn_boxes, tag_names
from tests.rules import builders

STAMP = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def demo_page() -> str:
    evaluations, contexts = evaluate_for_report(load_estate(build.ESTATE_FILE))
    return render_report(evaluations, contexts, source="demo/estate.json", generated_at=STAMP)


def page_of(resources: dict[str, Any]) -> str:
    """Render the report of the builders' workspace, private since before its endpoint."""
    context = builders.context_of(resources)
    return render_report([evaluate_context(context)], [context], generated_at=STAMP)


@pytest.fixture(scope="module")
def demo() -> str:
    return demo_page()


def test_demo_draws_every_planted_rule(demo: str) -> None:
    drawn = " ".join(box.joined for box in drawn_boxes(demo))
    for rule in PLANTED_RULES:
        assert rule in drawn, rule


def test_demo_storage_box_is_error(demo: str) -> None:
    assert box_of(demo, build.STORAGE_ID).state == "error"


def test_demo_storage_groups_coloured(demo: str) -> None:
    states = {group: box_of(demo, f"{build.STORAGE_ID}#{group}").state for group in STORAGE_GROUPS}
    assert states == {"blob": "ok", "file": "ok", "queue": "error", "table": "error"}


def test_demo_vault_box_is_ok(demo: str) -> None:
    assert box_of(demo, build.KEY_VAULT_ID, build.WORKSPACE_ID).state == "ok"


def test_demo_cluster_box_is_warning(demo: str) -> None:
    assert box_of(demo, build.CLUSTER_ID).state == "warning"


def test_demo_subnet_shows_path_rules(demo: str) -> None:
    subnet = box_of(demo, build.COMPUTE_SUBNET_ID)
    assert subnet.state == "warning"
    assert "compute.outbound-path" in subnet.joined


def test_demo_dns_finding_on_workspace(demo: str) -> None:
    workspace = box_of(demo, build.WORKSPACE_ID)
    assert "private-endpoint.dns" in workspace.joined
    assert workspace.state == "error"


def test_demo_info_endpoint_is_blue(demo: str) -> None:
    assert box_of(demo, build.FRAUD_ID).state == "info"


def test_demo_sandbox_boxes_exempt(demo: str) -> None:
    sandbox = [b for b in drawn_boxes(demo) if "mlw-contoso-sandbox" in b.resource]
    assert sandbox
    assert {b.state for b in sandbox} == {"exempt"}
    assert "network-isolation=exempt" in demo


def test_workspace_without_findings() -> None:
    evaluation = Evaluation(builders.WORKSPACE_ID, [])
    assert "No findings." in render_report([evaluation], [])


def test_demo_table_lists_every_finding(demo: str) -> None:
    assert demo.count("<tr><td>") == 10


def test_page_loads_nothing_external(demo: str) -> None:
    tags = tag_names(demo)
    for tag in ("script", "link", "img", "iframe", "object", "embed"):
        assert tag not in tags, tag
    assert "url(" not in demo
    assert "@import" not in demo
    assert " src=" not in demo


def test_docs_links_are_https(demo: str) -> None:
    assert demo.count('<a href="https://learn.microsoft.com/') == 10


def test_markup_in_names_escaped() -> None:
    resources = builders.healthy()
    resources["storage"]["name"] = '<script>alert("st")</script>'
    resources["endpoint"]["name"] = "<img src=x onerror=alert(1)>"
    page = page_of(resources)
    assert "<script>" not in page
    assert "<img" not in page
    assert html.escape('<script>alert("st")') in page


def test_markup_in_messages_escaped() -> None:
    evaluation = Evaluation(
        builders.WORKSPACE_ID,
        [
            make_finding(
                "workspace.private-link",
                builders.WORKSPACE_ID,
                builders.WORKSPACE_ID,
                "</td><script>x()</script>",
            )
        ],
    )
    page = render_report([evaluation], [])
    assert "<script>" not in page
    assert "&lt;/td&gt;&lt;script&gt;" in page


def test_javascript_docs_link_dropped() -> None:
    finding = make_finding(
        "workspace.private-link",
        builders.WORKSPACE_ID,
        builders.WORKSPACE_ID,
        "message",
        docs="javascript:alert(1)",
    )
    page = render_report([Evaluation(builders.WORKSPACE_ID, [finding])], [])
    assert "javascript:" not in page


def test_healthy_workspace_all_ok() -> None:
    page = page_of(builders.healthy())
    others = [b for b in drawn_boxes(page) if b.resource.lower() != builders.ENDPOINT_ID.lower()]
    assert {b.state for b in others} == {"ok"}
    assert box_of(page, builders.ENDPOINT_ID).state == "info"


def test_missing_registry_dashed() -> None:
    resources = builders.healthy()
    del resources["registry"]
    registry = box_of(page_of(resources), builders.REGISTRY_ID)
    assert registry.state == "missing"
    assert "not found" in registry.joined


def test_unconfigured_registry_box() -> None:
    resources = builders.healthy()
    resources["workspace"]["properties"]["containerRegistry"] = None
    del resources["registry"]
    page = page_of(resources)
    unset = [b for b in drawn_boxes(page) if "no container registry" in b.joined]
    assert len(unset) == 1
    assert "not configured on the workspace" in unset[0].joined


def test_cluster_without_subnet_drawn() -> None:
    resources = builders.healthy()
    inner = resources["compute"]["properties"]["properties"]
    inner["subnet"] = None
    page = page_of(resources)
    cluster = box_of(page, builders.COMPUTE_ID)
    assert "compute.virtual-network" in cluster.joined
    assert cluster.state == "error"
    assert any("no subnet" in b.joined for b in drawn_boxes(page))


def test_unmatched_finding_on_workspace() -> None:
    stray = f"{builders.GROUP}/providers/Microsoft.Network/privateEndpoints/elsewhere"
    finding = make_finding("private-endpoint.dns", stray, builders.WORKSPACE_ID, "stray")
    context = builders.context_of(builders.healthy())
    evaluation = evaluate_context(context)
    evaluation.findings.append(finding)
    page = render_report([evaluation], [context])
    workspace = box_of(page, builders.WORKSPACE_ID)
    assert "private-endpoint.dns" in workspace.joined
    assert workspace.state == "warning"


def test_repeated_rule_counted(demo: str) -> None:
    assert "storage.private-endpoint ×2" in box_of(demo, build.STORAGE_ID).joined


def test_main_writes_page(tmp_path: Any) -> None:
    output = tmp_path / "report.html"
    assert main(["--estate", str(build.ESTATE_FILE), "-o", str(output)]) == 0
    assert "mlw-contoso-batch" in output.read_text(encoding="utf-8")


def test_main_invalid_estate(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert main(["--estate", str(broken), "-o", str(tmp_path / "out.html")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
