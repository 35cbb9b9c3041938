"""The `remediate` command: exit codes, output formats and input errors."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from rich.console import Console

from fake_arm import FakeArm, FakeArmTransport
from remediators.cli import main
from remediators.clients import AzureClients
from remediators.estate.file import load_estate
from remediators.evaluation import evaluate_estate
from remediators.output import print_findings, short_resource

YAML = Path(__file__).parent / "fixtures" / "yaml"
DEMO_ESTATE = Path(__file__).parent.parent / "demo" / "estate.json"
DEMO_EVENTS = Path(__file__).parent.parent / "demo" / "events"
SUBSCRIPTION = "8f6b6c2e-1d3a-4c8e-9b7a-2f4d5e6a7b8c"
GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml-prod"
WORKSPACE_ID = f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/mlw-public"
DEMO_WORKSPACE = f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/mlw-contoso-batch"


class Run:
    def __init__(self, argv: list[str], **kwargs: Any) -> None:
        stdout, stderr = io.StringIO(), io.StringIO()
        self.code = main(argv, stdout=stdout, stderr=stderr, **kwargs)
        self.stdout = stdout.getvalue()
        self.stderr = stderr.getvalue()

    def json(self) -> Any:
        return json.loads(self.stdout)


def public_workspace(**tags: str) -> dict[str, Any]:
    return {
        "id": WORKSPACE_ID,
        "name": "mlw-public",
        "type": "Microsoft.MachineLearningServices/workspaces",
        "tags": tags,
        "properties": {"publicNetworkAccess": "Enabled"},
    }


def estate_file(tmp_path: Path, resources: Any) -> str:
    path = tmp_path / "estate.json"
    path.write_text(json.dumps(resources), encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- check --estate


def test_check_json_shape(tmp_path: Path) -> None:
    run = Run(
        ["check", "--estate", estate_file(tmp_path, [public_workspace()]), "--format", "json"]
    )
    document = run.json()
    finding = document["findings"][0]
    assert run.code == 1
    assert set(finding) == {
        "rule",
        "severity",
        "resource_id",
        "workspace_id",
        "message",
        "action",
        "details",
    }
    assert finding["rule"] == "workspace.private-link"
    assert finding["workspace_id"] == WORKSPACE_ID


def test_check_fail_on_never(tmp_path: Path) -> None:
    path = estate_file(tmp_path, [public_workspace()])
    assert Run(["check", "--estate", path, "--fail-on", "never"]).code == 0


def test_check_exempt_workspace(tmp_path: Path) -> None:
    path = estate_file(tmp_path, [public_workspace(**{"network-isolation": "exempt"})])
    run = Run(["check", "--estate", path, "--format", "json"])
    assert run.code == 0
    assert run.json()["findings"] == []
    assert run.json()["workspaces"][0]["exempt"] is True


def test_check_table_names_workspace(tmp_path: Path) -> None:
    run = Run(["check", "--estate", estate_file(tmp_path, [public_workspace()])])
    assert "workspaces/mlw-public: 1 finding\n" in run.stdout
    assert "workspace.private-link" in run.stdout


def test_summary_singular(tmp_path: Path) -> None:
    run = Run(["check", "--estate", estate_file(tmp_path, [public_workspace()])])
    assert "Findings: 1 error, 0 warning, 0 info in 1 workspace (0 exempt)" in run.stdout


@pytest.mark.parametrize("width", [80, 120, 160])
def test_table_shows_names_in_full(width: int) -> None:
    evaluations = evaluate_estate(load_estate(DEMO_ESTATE))
    findings = [f for e in evaluations for f in e.findings]
    console = Console(file=io.StringIO(), width=width, color_system=None)
    print_findings(evaluations, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    for finding in findings:
        assert short_resource(finding.resource_id) in text
        assert finding.rule in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width


def test_table_times_in_one_format() -> None:
    run = Run(["check", "--estate", str(DEMO_ESTATE)])
    assert "created at 2026-09-01T08:30:00Z" in run.stdout
    assert "private-link enabled at 2026-10-15T09:42:17Z" in run.stdout
    assert "+00:00" not in run.stdout


def test_table_when_it_fits() -> None:
    evaluations = evaluate_estate(load_estate(DEMO_ESTATE))
    console = Console(file=io.StringIO(), width=200, color_system=None)
    print_findings(evaluations, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "┃ resource" in text


def test_check_markdown(tmp_path: Path) -> None:
    path = estate_file(tmp_path, [public_workspace()])
    run = Run(["check", "--estate", path, "--format", "markdown"])
    assert "## workspaces/mlw-public" in run.stdout
    assert "| error | `workspace.private-link` |" in run.stdout


def test_check_reports_skipped_types(tmp_path: Path) -> None:
    disk = {
        "id": f"{GROUP}/providers/Microsoft.Compute/disks/osdisk",
        "type": "microsoft.compute/disks",
    }
    path = estate_file(tmp_path, [public_workspace(), disk])
    run = Run(["check", "--estate", path, "--format", "json"])
    assert "skipped 1 resource of a type no rule reads" in run.stderr
    assert run.json()["estate"]["skipped_types"] == {"microsoft.compute/disks": 1}


def test_check_estate_from_stdin() -> None:
    stdin = io.StringIO(json.dumps([public_workspace()]))
    run = Run(["check", "--estate", "-", "--format", "json"], stdin=stdin)
    assert run.code == 1
    assert [f["rule"] for f in run.json()["findings"]] == ["workspace.private-link"]


def test_plan_estate_from_stdin() -> None:
    stdin = io.StringIO(DEMO_ESTATE.read_text())
    event = DEMO_EVENTS / "docs_subscription_ResourceWriteSuccess_eventgrid_array.json"
    run = Run(["plan-event", str(event), "--estate", "-", "--format", "json"], stdin=stdin)
    assert run.json()["workspaces"][0]["workspace_id"] == DEMO_WORKSPACE


def test_warning_log_format(tmp_path: Path) -> None:
    renamed = public_workspace()
    renamed["tags"] = {"owner": "someone"}
    path = estate_file(tmp_path, [public_workspace(), renamed])
    run = Run(["check", "--estate", path, "--format", "json"])
    assert "remediate: warning: " in run.stderr
    assert "repeats id" in run.stderr
    assert "remediators.estate.file" not in run.stderr
    assert "WARNING" not in run.stderr


def test_check_json_is_one_object(tmp_path: Path) -> None:
    run = Run(
        ["check", "--estate", estate_file(tmp_path, [public_workspace()]), "--format", "json"]
    )
    assert isinstance(json.loads(run.stdout), dict)


# ---------------------------------------------------------------- invalid input


def assert_usage_error(run: Run, *fragments: str) -> None:
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stderr
    for fragment in fragments:
        assert fragment in run.stderr


def test_check_estate_not_json(tmp_path: Path) -> None:
    path = tmp_path / "estate.json"
    path.write_text("[", encoding="utf-8")
    assert_usage_error(Run(["check", "--estate", str(path)]), str(path), "not valid JSON")


def test_check_estate_missing(tmp_path: Path) -> None:
    assert_usage_error(Run(["check", "--estate", str(tmp_path / "x.json")]), "not found")


def test_check_estate_without_workspace(tmp_path: Path) -> None:
    run = Run(["check", "--estate", estate_file(tmp_path, [])])
    assert_usage_error(run, "has no Microsoft.MachineLearningServices/workspaces")


def test_check_requires_scope() -> None:
    assert_usage_error(Run(["check"]), "--estate", "--help")


def test_check_scopes_exclusive(tmp_path: Path) -> None:
    run = Run(["check", "--estate", "a.json", "--subscription", SUBSCRIPTION])
    assert_usage_error(run, "not allowed with")


def test_bad_fail_on() -> None:
    assert_usage_error(Run(["check", "--estate", "a.json", "--fail-on", "bad"]), "'bad'")


def test_unknown_command() -> None:
    assert_usage_error(Run(["frobnicate"]), "frobnicate")


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--workspace", "mlw-contoso", "Microsoft.MachineLearningServices/workspaces/<name>"),
        (
            "--workspace",
            f"{GROUP}/providers/Microsoft.Storage/storageAccounts/st",
            "not a workspace",
        ),
        ("--workspace", f"{WORKSPACE_ID}/computes/cpu", "not a workspace"),
        ("--resource-group", "rg-ml-prod", "/resourceGroups/<resource-group>"),
        ("--resource-group", f"/subscriptions/{SUBSCRIPTION}", "/resourceGroups/<resource-group>"),
        ("--subscription", "not-a-guid", "subscription GUID"),
        ("--subscription", GROUP, "subscription GUID"),
    ],
)
def test_check_invalid_live_id(option: str, value: str, expected: str) -> None:
    assert_usage_error(Run(["check", option, value]), repr(value), expected)


def test_export_invalid_subscription(tmp_path: Path) -> None:
    run = Run(["export", "--subscription", "x", "-o", str(tmp_path / "e.json")])
    assert_usage_error(run, "'x'")


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--help"]) == 0
    assert "--fail-on" in capsys.readouterr().out


def test_fail_on_help_names_guidance(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Info findings include guidance notes" in text
    assert "--fail-on info fails whenever guidance exists" in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"remediate {version('batch-endpoint-remediator')}\n"


# ---------------------------------------------------------------- lint


def test_lint_clean_samples() -> None:
    files = [
        str(YAML / "azureml-examples_batch_endpoint_mnist.yml"),
        str(YAML / "azureml-examples_batch_deployment_mnist-torch.yml"),
    ]
    run = Run(["lint", *files, "--format", "json"])
    assert run.code == 0
    assert run.json()["findings"] == []
    assert [f["kind"] for f in run.json()["files"]] == ["batch endpoint", "batch deployment"]


def test_lint_network_keys(tmp_path: Path) -> None:
    path = tmp_path / "endpoint.yml"
    path.write_text("name: churn-scoring\npublic_network_access: disabled\n", encoding="utf-8")
    run = Run(["lint", str(path), "--format", "json"])
    [finding] = run.json()["findings"]
    assert run.code == 1
    assert finding["rule"] == "endpoint.spec.network-keys"
    assert finding["action"] == "lint-error"


def test_lint_table(tmp_path: Path) -> None:
    path = tmp_path / "endpoint.yml"
    path.write_text("name: churn-scoring\negress_public_network_access: disabled\n")
    run = Run(["lint", str(path)])
    assert "endpoint.spec.network-keys" in run.stdout
    assert "egress_public_network_access" in run.stdout


def test_lint_directory_skips_other_kinds(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    online = "azureml-examples_online_endpoint_vnet_public_network_access_disabled.yml"
    (tmp_path / "online.yml").write_text((YAML / online).read_text())
    (tmp_path / "nested" / "batch.yaml").write_text("name: ep\n---\nname: ep2\n")
    run = Run(["lint", str(tmp_path), "--format", "json"])
    document = run.json()
    assert run.code == 0
    assert [f["kind"] for f in document["files"]] == ["batch endpoint", "batch endpoint"]
    assert document["files"][1]["path"].endswith("batch.yaml, document 2")
    assert [s["path"] for s in document["skipped"]] == [str(tmp_path / "online.yml")]
    assert "online endpoint" in document["skipped"][0]["reason"]
    assert document["errors"] == []


def test_lint_table_lists_skipped(tmp_path: Path) -> None:
    (tmp_path / "batch.yml").write_text("name: ep\n")
    (tmp_path / "conda.yml").write_text("name: env\ndependencies: [python]\n")
    run = Run(["lint", str(tmp_path)])
    assert run.code == 0
    assert f"{tmp_path / 'conda.yml'}: skipped: the file looks like a conda" in run.stdout
    assert "0 findings in 1 spec, 1 document skipped" in run.stdout


def test_lint_unreadable_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "batch.yml").write_text("name: ep\n")
    (tmp_path / "broken.yml").write_text("name: a\n  bad: [\n")
    run = Run(["lint", str(tmp_path)])
    assert run.code == 2
    assert "broken.yml: not valid YAML" in run.stderr


def test_lint_online_endpoint_rejected() -> None:
    path = YAML / "azureml-examples_online_endpoint_vnet_public_network_access_disabled.yml"
    run = Run(["lint", str(path)])
    assert run.code == 2
    assert str(path) in run.stderr
    assert "online endpoint" in run.stderr


def test_lint_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("name: [\n", encoding="utf-8")
    run = Run(["lint", str(path), "--format", "json"])
    assert run.code == 2
    assert "not valid YAML" in run.json()["errors"][0]


# ---------------------------------------------------------------- live modes over the fake ARM


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", 4102444800)


@pytest.fixture
def arm() -> FakeArm:
    return FakeArm.from_estate(json.loads(DEMO_ESTATE.read_text()))


@pytest.fixture
def clients(arm: FakeArm) -> AzureClients:
    transport = FakeArmTransport(arm)
    return AzureClients(FakeCredential(), transport=transport, polling_interval=0, retry_total=0)


def rules_of(run: Run) -> list[str]:
    return sorted(f["rule"] for f in run.json()["findings"])


def test_live_workspace(clients: AzureClients) -> None:
    run = Run(["check", "--workspace", DEMO_WORKSPACE, "--format", "json"], clients=clients)
    assert run.code == 1
    assert len(run.json()["findings"]) == 10
    assert "registry.quarantine" in rules_of(run)


def test_live_matches_estate_file(clients: AzureClients) -> None:
    live = Run(["check", "--subscription", SUBSCRIPTION, "--format", "json"], clients=clients)
    offline = Run(["check", "--estate", str(DEMO_ESTATE), "--format", "json"])
    assert live.json()["findings"] == offline.json()["findings"]


def test_live_resource_group(clients: AzureClients) -> None:
    run = Run(["check", "--resource-group", GROUP, "--format", "json"], clients=clients)
    assert [w["exempt"] for w in run.json()["workspaces"]] == [False, True]


def test_live_workspace_not_found(clients: AzureClients) -> None:
    missing = DEMO_WORKSPACE.replace("mlw-contoso-batch", "mlw-absent")
    run = Run(["check", "--workspace", missing], clients=clients)
    assert_usage_error(run, missing, "was not found", "Reader")


def test_live_forbidden(arm: FakeArm, clients: AzureClients) -> None:
    arm.inject_fault("GET", "workspaces", status=403, code="AuthorizationFailed", times=None)
    run = Run(["check", "--subscription", SUBSCRIPTION], clients=clients)
    assert_usage_error(run, "HTTP 403", "Reader")


def test_export_has_no_fail_on(tmp_path: Path, clients: AzureClients) -> None:
    target = str(tmp_path / "e.json")
    argv = ["export", "--subscription", SUBSCRIPTION, "-o", target, "--fail-on", "info"]
    assert_usage_error(Run(argv, clients=clients), "unrecognized arguments: --fail-on")


def test_export_rejects_markdown(tmp_path: Path, clients: AzureClients) -> None:
    target = str(tmp_path / "e.json")
    argv = ["export", "--subscription", SUBSCRIPTION, "-o", target, "--format", "markdown"]
    assert_usage_error(Run(argv, clients=clients), "invalid choice: 'markdown'")


def test_export_round_trip(tmp_path: Path, clients: AzureClients) -> None:
    target = tmp_path / "export.json"
    run = Run(["export", "--subscription", SUBSCRIPTION, "-o", str(target)], clients=clients)
    exported = Run(["check", "--estate", str(target), "--format", "json"])
    offline = Run(["check", "--estate", str(DEMO_ESTATE), "--format", "json"])
    assert run.code == 0
    assert exported.json()["findings"] == offline.json()["findings"]


def test_live_invalid_client_id(monkeypatch: pytest.MonkeyPatch) -> None:
    # The id is checked before any credential is built, so no identity probe can start.
    monkeypatch.setenv("AZURE_CLIENT_ID", "not-a-guid")
    run = Run(["check", "--subscription", SUBSCRIPTION])
    assert_usage_error(run, "AZURE_CLIENT_ID", "'not-a-guid'")


# ---------------------------------------------------------------- plan-event


def plan(event: str, *extra: str) -> Run:
    argv = ["plan-event", str(DEMO_EVENTS / event), "--estate", str(DEMO_ESTATE)]
    return Run([*argv, "--format", "json", *extra])


def test_plan_storage_write() -> None:
    run = plan("docs_subscription_ResourceWriteSuccess_eventgrid_array.json")
    document = run.json()
    assert [w["workspace_id"] for w in document["workspaces"]] == [DEMO_WORKSPACE]
    assert {"create-private-endpoint", "repair-dns-zone-group", "queue-recreation"} <= {
        a["action"] for a in document["actions"]
    }
    assert document["dry_run"] is True
    assert run.code == 1


def test_plan_alert_mode_only_alerts() -> None:
    document = plan(
        "docs_subscription_ResourceWriteSuccess_eventgrid_array.json", "--mode", "alert"
    ).json()
    assert {a["action"] for a in document["actions"]} == {"alert"}


def test_plan_ignored_event() -> None:
    run = plan("azsdk_cloudevent_storage_blobcreated.json")
    document = run.json()
    assert document["workspaces"] == []
    assert document["actions"] == []
    assert document["events"][0]["outcome"] == "ignored"
    assert run.code == 0


def test_plan_out_of_scope() -> None:
    other = "0b7e1f54-6a2d-4c39-8e15-9d3f2a4b6c71"
    document = plan(
        "docs_subscription_ResourceWriteSuccess_eventgrid_array.json", "--scope", other
    ).json()
    assert document["workspaces"] == []
    assert document["events"][0]["outcome"] == "rejected"


def test_plan_writes_nothing(tmp_path: Path) -> None:
    estate = tmp_path / "estate.json"
    estate.write_text(DEMO_ESTATE.read_text())
    before = estate.read_text()
    event = DEMO_EVENTS / "docs_subscription_ResourceWriteSuccess_eventgrid_array.json"
    Run(["plan-event", str(event), "--estate", str(estate)])
    assert estate.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["estate.json"]


def test_plan_table() -> None:
    event = DEMO_EVENTS / "docs_subscription_ResourceWriteSuccess_eventgrid_array.json"
    run = Run(["plan-event", str(event), "--estate", str(DEMO_ESTATE)])
    assert "mlw-contoso-batch" in run.stdout
    assert "create-private-endpoint" in run.stdout


def test_plan_missing_event_file(tmp_path: Path) -> None:
    run = Run(["plan-event", str(tmp_path / "none.json"), "--estate", str(DEMO_ESTATE)])
    assert_usage_error(run, "cannot read event file")


def test_rules_doc_matches_catalogue() -> None:
    # docs/rules.md is generated; run `make docs` after changing the catalogue.
    import importlib.util

    root = Path(__file__).parent.parent
    spec = importlib.util.spec_from_file_location(
        "generate_rules", root / "docs" / "generate_rules.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (root / "docs" / "rules.md").read_text() == module.render()


# ---------------------------------------------------------------- live scope collection


@pytest.fixture(scope="module")
def bench_run() -> tuple[Any, Run, int]:
    """`check --subscription` over the 200-workspace benchmark estate, with its request count."""
    from benchmarks import estates
    from benchmarks.fakes import BenchArm
    from benchmarks.measure import make_clients

    arm = BenchArm(estates.sweep_estate(200))
    argv = ["check", "--subscription", estates.SUBSCRIPTION, "--format", "json"]
    run = Run(argv, clients=make_clients(arm))
    return arm, run, len(arm.requests)


def per_workspace_findings(arm: Any, indices: Iterable[int]) -> list[Any]:
    """Findings of the given benchmark workspaces, each read alone as an event reads it."""
    from benchmarks import estates
    from benchmarks.measure import make_clients
    from remediators.estate.live import LiveSource
    from remediators.evaluation import evaluate_workspace

    source = LiveSource(make_clients(arm))
    found = []
    for index in indices:
        workspace_id = estates.workspace_id(index)
        evaluation = evaluate_workspace(source.workspace_estate(workspace_id), workspace_id)
        found += [f.to_json() for f in evaluation.findings]
    return found


def sorted_findings(findings: list[Any]) -> list[str]:
    return sorted(json.dumps(f, sort_keys=True) for f in findings)


def test_live_subscription_covers_all(bench_run: tuple[Any, Run, int]) -> None:
    _, run, _ = bench_run
    assert len(run.json()["workspaces"]) == 200


def test_live_subscription_equals_per_workspace(bench_run: tuple[Any, Run, int]) -> None:
    from benchmarks import estates

    arm, run, _ = bench_run
    # Reading all 200 alone takes two minutes on the fake, so compare a sample that holds
    # two workspaces with the planted DNS fault (3 and 13) and some without.
    sample = [0, 2, 3, 4, 13, 199]
    wanted = {estates.workspace_id(i) for i in sample}
    swept = [f for f in run.json()["findings"] if f["workspace_id"] in wanted]

    assert sorted_findings(swept) == sorted_findings(per_workspace_findings(arm, sample))


def test_live_subscription_shares_lists(bench_run: tuple[Any, Run, int]) -> None:
    _, _, requests = bench_run
    assert requests / 200 <= 8


def test_export_equals_per_workspace(tmp_path: Path) -> None:
    from benchmarks import estates
    from benchmarks.fakes import BenchArm
    from benchmarks.measure import make_clients

    arm = BenchArm(estates.sweep_estate(12))
    target = tmp_path / "export.json"
    argv = ["export", "--subscription", estates.SUBSCRIPTION, "-o", str(target)]
    exported = Run(argv, clients=make_clients(arm))
    checked = Run(["check", "--estate", str(target), "--format", "json"])

    assert exported.code == 0
    assert sorted_findings(checked.json()["findings"]) == sorted_findings(
        per_workspace_findings(arm, range(12))
    )


def test_live_report_resource_group(tmp_path: Path, clients: AzureClients) -> None:
    target = tmp_path / "report.html"
    run = Run(["report", "--resource-group", GROUP, "-o", str(target)], clients=clients)
    assert "wrote the report of 2 workspaces" in run.stderr
    assert target.exists()
