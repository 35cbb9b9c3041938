"""Linting of CLI v2 batch endpoint and batch deployment YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediators.findings import Action, Severity
from remediators.lint import LintInputError, SpecKind, lint_file, lint_path, yaml_files

YAML = Path(__file__).parent / "fixtures" / "yaml"
BATCH_ENDPOINTS = [
    "azureml-examples_batch_endpoint_mnist.yml",
    "azureml-examples_batch_endpoint_hello-batch_aad.yml",
]
BATCH_DEPLOYMENTS = [
    "azureml-examples_batch_deployment_mnist-torch.yml",
    "azureml-examples_batch_deployment_heart-mlflow.yml",
    "azureml-examples_batch_deployment_pipeline_hello-batch.yml",
]


def write(tmp_path: Path, text: str, name: str = "endpoint.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", BATCH_ENDPOINTS)
def test_sample_batch_endpoint_clean(name: str) -> None:
    result = lint_file(YAML / name)
    assert result.kind is SpecKind.BATCH_ENDPOINT
    assert result.findings == []


@pytest.mark.parametrize("name", BATCH_DEPLOYMENTS)
def test_sample_batch_deployment_clean(name: str) -> None:
    result = lint_file(YAML / name)
    assert result.kind is SpecKind.BATCH_DEPLOYMENT
    assert result.findings == []


def test_batch_endpoint_with_network_key(tmp_path: Path) -> None:
    # The sample batch endpoint with the online-only key a recreation request once carried.
    text = (YAML / BATCH_ENDPOINTS[0]).read_text() + "\npublic_network_access: disabled\n"
    path = write(tmp_path, text)
    [finding] = lint_file(path).findings
    assert finding.rule == "endpoint.spec.network-keys"
    assert finding.severity is Severity.ERROR
    assert finding.action is Action.LINT_ERROR
    assert finding.resource_id == str(path)
    assert "public_network_access" in finding.message
    assert finding.details["keys"] == ["public_network_access"]
    assert "Remove the key:" in finding.message


def test_batch_endpoint_with_both_keys(tmp_path: Path) -> None:
    text = (
        "$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json\n"
        "name: churn-scoring\n"
        "public_network_access: disabled\n"
        "egress_public_network_access: disabled\n"
    )
    [finding] = lint_file(write(tmp_path, text)).findings
    assert sorted(finding.details["keys"]) == [
        "egress_public_network_access",
        "public_network_access",
    ]
    assert "Remove the keys:" in finding.message


def test_endpoint_without_schema_is_batch(tmp_path: Path) -> None:
    result = lint_file(write(tmp_path, "name: churn-scoring\npublic_network_access: disabled\n"))
    assert result.kind is SpecKind.BATCH_ENDPOINT
    assert len(result.findings) == 1


def test_deployment_inferred_from_keys(tmp_path: Path) -> None:
    text = "name: blue\nendpoint_name: churn-scoring\ncompute: azureml:batch-cluster\n"
    assert lint_file(write(tmp_path, text)).kind is SpecKind.BATCH_DEPLOYMENT


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("azureml-examples_online_endpoint_vnet_public_network_access_disabled.yml", "online"),
        ("azureml-examples_online_deployment_vnet_egress_disabled.yml", "online deployment"),
        ("azureml-examples_workspace_privatelink.yml", "not a batch spec"),
        ("azureml-examples_workspace_mvnet_allow_only_approved_outbound.yml", "workspace"),
        ("azureml-examples_compute_cluster_basic.yml", "not a batch spec"),
    ],
)
def test_other_kinds_rejected(name: str, expected: str) -> None:
    with pytest.raises(LintInputError) as raised:
        lint_file(YAML / name)
    assert name in str(raised.value)
    assert expected in str(raised.value)
    assert "batchEndpoint.schema.json" in str(raised.value)


def test_online_keys_without_schema(tmp_path: Path) -> None:
    text = "name: my-endpoint\ntraffic:\n  blue: 100\n"
    with pytest.raises(LintInputError, match="online endpoint"):
        lint_file(write(tmp_path, text))


def test_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(LintInputError, match="not valid YAML at line 2"):
        lint_file(write(tmp_path, "name: a\n  bad: [\n"))


@pytest.mark.parametrize(("text", "shape"), [("", "empty"), ("- a\n- b\n", "a YAML list")])
def test_not_a_mapping(tmp_path: Path, text: str, shape: str) -> None:
    with pytest.raises(LintInputError, match=f"the document is {shape}, not a mapping"):
        lint_file(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LintInputError, match="file not found"):
        lint_file(tmp_path / "absent.yml")


def test_unrecognised_mapping(tmp_path: Path) -> None:
    with pytest.raises(LintInputError, match="cannot tell what the file describes"):
        lint_file(write(tmp_path, "description: something\n"))


def test_documents_linted_separately(tmp_path: Path) -> None:
    text = "name: ep\n---\nname: blue\nendpoint_name: ep\npublic_network_access: disabled\n"
    report = lint_path(write(tmp_path, text))
    assert [r.kind for r in report.results] == [SpecKind.BATCH_ENDPOINT, SpecKind.BATCH_DEPLOYMENT]
    assert report.results[1].path.endswith("endpoint.yml, document 2")
    assert report.results[0].findings == []
    assert len(report.results[1].findings) == 1


def test_trailing_separator_ignored(tmp_path: Path) -> None:
    report = lint_path(write(tmp_path, "name: ep\n---\nname: other\n---\n"))
    assert len(report.results) == 2
    assert report.skipped == []


def test_other_document_skipped(tmp_path: Path) -> None:
    text = "name: ep\n---\nname: web\ntraffic:\n  blue: 100\n"
    report = lint_path(write(tmp_path, text))
    assert len(report.results) == 1
    [skipped] = report.skipped
    assert skipped.path.endswith("document 2")
    assert "online endpoint" in skipped.reason
    assert "expected a CLI v2" not in skipped.reason


def test_several_documents_need_lint_path(tmp_path: Path) -> None:
    with pytest.raises(LintInputError, match="contains 2 YAML documents"):
        lint_file(write(tmp_path, "name: a\n---\nname: b\n"))


def test_conda_environment_skipped(tmp_path: Path) -> None:
    text = "name: scoring\nchannels: [conda-forge]\ndependencies: [python=3.11]\n"
    report = lint_path(write(tmp_path, text, "conda.yaml"))
    assert report.results == []
    assert "conda environment" in report.skipped[0].reason


def test_utf16_with_bom_accepted(tmp_path: Path) -> None:
    path = tmp_path / "endpoint.yml"
    path.write_bytes("name: ep\n".encode("utf-16"))
    assert lint_file(path).kind is SpecKind.BATCH_ENDPOINT


def test_not_utf8_named(tmp_path: Path) -> None:
    path = tmp_path / "endpoint.yml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(
        LintInputError, match=r"not UTF-8 text \(invalid byte at offset 9\); save it"
    ):
        lint_file(path)


def test_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(LintInputError, match="is a directory; pass a YAML file"):
        lint_file(tmp_path)


def test_directory_expanded(tmp_path: Path) -> None:
    (tmp_path / "deep" / "er").mkdir(parents=True)
    for name in ("a.yml", "deep/b.yaml", "deep/er/c.yml", "deep/notes.txt"):
        (tmp_path / name).write_text("name: ep\n", encoding="utf-8")
    files = yaml_files([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "a.yml",
        "deep/b.yaml",
        "deep/er/c.yml",
    ]


def test_directory_without_yaml(tmp_path: Path) -> None:
    with pytest.raises(LintInputError, match=r"contains no \*\.yml or \*\.yaml file"):
        yaml_files([tmp_path])
