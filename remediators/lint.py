"""Lint Azure Machine Learning CLI v2 batch endpoint and batch deployment YAML files.

A file's kind comes from its `$schema` (batchEndpoint.schema.json, or one of the
batch deployment schemas such as modelBatchDeployment.schema.json), else from its keys.
Batch endpoints cannot be public in a private-link workspace and do not accept the online
endpoint keys `public_network_access` and `egress_public_network_access`, so a batch spec
that sets them gets an `endpoint.spec.network-keys` finding before anything reaches ARM.
Each document of a multi-document file (separated by `---`) is linted on its own.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from remediators.estate.file import decode_text
from remediators.findings import Finding, make_finding
from remediators.rules.endpoints import network_keys_in

NETWORK_KEYS_RULE = "endpoint.spec.network-keys"
_YAML_SUFFIXES = (".yml", ".yaml")


class SpecKind(enum.Enum):
    BATCH_ENDPOINT = "batch endpoint"
    BATCH_DEPLOYMENT = "batch deployment"


class LintInputError(ValueError):
    """A YAML file that cannot be linted as a batch spec; the message names the file and fix."""


class NotBatchSpecError(LintInputError):
    """A readable YAML document of another kind, such as an online endpoint or a compute."""


@dataclass
class LintResult:
    path: str
    kind: SpecKind
    findings: list[Finding] = field(default_factory=list)


@dataclass
class SkippedDocument:
    """A YAML document that is not a batch spec, with the reason it was not linted."""

    path: str
    reason: str


@dataclass
class FileReport:
    """The batch specs linted in one file and the documents of other kinds it skipped."""

    path: str
    results: list[LintResult] = field(default_factory=list)
    skipped: list[SkippedDocument] = field(default_factory=list)


# Keys only online deployments have, and keys only batch deployments have (CLI v2 schemas).
_ONLINE_DEPLOYMENT_KEYS = {
    "instance_type",
    "liveness_probe",
    "readiness_probe",
    "request_settings",
    "scale_settings",
    "app_insights_enabled",
    "data_collector",
}
_BATCH_DEPLOYMENT_KEYS = {
    "compute",
    "settings",
    "component",
    "job_definition",
    "mini_batch_size",
    "output_action",
    "output_file_name",
    "retry_settings",
    "error_threshold",
    "max_concurrency_per_instance",
    "logging_level",
}
_ONLINE_ENDPOINT_KEYS = {"traffic", "mirror_traffic"}
_WORKSPACE_KEYS = {
    "managed_network",
    "image_build_compute",
    "storage_account",
    "container_registry",
    "key_vault",
    "application_insights",
    "hbi_workspace",
}
# Conda environment files often sit beside deployment specs and also have a `name`.
_CONDA_KEYS = {"channels", "dependencies"}
_COMPUTE_TYPES = {"amlcompute", "computeinstance", "kubernetes", "virtualmachine", "synapsespark"}

_EXPECTED = (
    "expected a CLI v2 batch endpoint or batch deployment YAML "
    "($schema batchEndpoint.schema.json or batchDeployment.schema.json)"
)


def lint_file(path: str | os.PathLike[str]) -> LintResult:
    """Lint a YAML file of one document; raise `LintInputError` unless it is a batch spec."""
    name = str(path)
    documents = _load_documents(path)
    if len(documents) > 1:
        raise LintInputError(
            f"{name}: the file contains {len(documents)} YAML documents; lint it with "
            "`remediate lint`, which checks each document"
        )
    return lint_spec(documents[0] if documents else None, name)


def lint_path(path: str | os.PathLike[str]) -> FileReport:
    """Lint every document of a YAML file, skipping documents that are not batch specs.

    Raise `LintInputError` when the file cannot be read or is not valid YAML. A file with
    several documents (separated by `---`) names each one as `FILE, document N`.
    """
    name = str(path)
    documents = _load_documents(path)
    report = FileReport(name)
    if not documents:
        report.skipped.append(SkippedDocument(name, "the file contains no YAML document"))
    for number, spec in enumerate(documents, start=1):
        label = name if len(documents) == 1 else f"{name}, document {number}"
        if spec is None and len(documents) > 1:
            continue  # an empty document, such as the one after a trailing `---`
        try:
            report.results.append(lint_spec(spec, label))
        except NotBatchSpecError as error:
            report.skipped.append(SkippedDocument(label, _reason(error, label)))
    return report


def yaml_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Expand each directory in `paths` to the *.yml and *.yaml files under it, recursively."""
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(p for p in path.rglob("*") if p.suffix in _YAML_SUFFIXES and p.is_file())
        if not found:
            raise LintInputError(
                f"{path}: the directory contains no *.yml or *.yaml file; pass a directory "
                "of batch endpoint and deployment specs"
            )
        files += found
    return files


def _reason(error: NotBatchSpecError, label: str) -> str:
    """Return the error's message without the file name and the list of accepted schemas."""
    return str(error).removeprefix(f"{label}: ").replace(f"; {_EXPECTED}", "")


def _load_documents(path: str | os.PathLike[str]) -> list[Any]:
    name = str(path)
    text = _read_text(Path(path))
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise LintInputError(f"{name}: not valid YAML{where}; {_EXPECTED}") from None
    except RecursionError:
        raise LintInputError(f"{name}: the YAML is nested too deeply; {_EXPECTED}") from None


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LintInputError(f"{path}: file not found; check the path") from None
    except IsADirectoryError:
        raise LintInputError(f"{path}: is a directory; pass a YAML file or a directory") from None
    except PermissionError:
        raise LintInputError(f"{path}: permission denied; check the file's permissions") from None
    except OSError as error:
        raise LintInputError(f"{path}: cannot read the file ({error.strerror})") from None
    try:
        return decode_text(data)
    except UnicodeDecodeError as error:
        raise LintInputError(
            f"{path}: the file is not UTF-8 text (invalid byte at offset {error.start}); save "
            "it as UTF-8, for example with PowerShell's Set-Content -Encoding utf8"
        ) from None


def lint_spec(spec: Any, name: str) -> LintResult:
    """Lint a decoded YAML document; `name` identifies it in findings and errors."""
    if not isinstance(spec, Mapping):
        shape = "empty" if spec is None else f"a YAML {type(spec).__name__}"
        raise NotBatchSpecError(f"{name}: the document is {shape}, not a mapping; {_EXPECTED}")
    kind = spec_kind(spec, name)
    result = LintResult(name, kind)
    keys = network_keys_in(spec)
    if keys:
        result.findings.append(_network_keys_finding(name, kind, keys))
    return result


def spec_kind(spec: Mapping[str, Any], name: str) -> SpecKind:
    """Decide whether `spec` is a batch endpoint or deployment; raise for any other kind."""
    schema = str(spec.get("$schema") or "").strip()
    if schema:
        return _kind_from_schema(schema, name)
    return _kind_from_keys(spec, name)


def _kind_from_schema(schema: str, name: str) -> SpecKind:
    document = schema.rstrip("/").rsplit("/", 1)[-1].lower()
    if document == "batchendpoint.schema.json":
        return SpecKind.BATCH_ENDPOINT
    if document.endswith("batchdeployment.schema.json"):
        return SpecKind.BATCH_DEPLOYMENT
    if "onlineendpoint" in document or "onlinedeployment" in document:
        online = "online deployment" if "deployment" in document else "online endpoint"
        raise NotBatchSpecError(
            f"{name}: $schema {schema} is an {online}; {_EXPECTED}. Online specs may set "
            "public_network_access and are not checked here"
        )
    raise NotBatchSpecError(f"{name}: $schema {schema} is not a batch spec; {_EXPECTED}")


def _kind_from_keys(spec: Mapping[str, Any], name: str) -> SpecKind:
    keys = {str(k).lower() for k in spec}
    hint = "; add a $schema line to say which kind it is"
    if str(spec.get("type") or "").lower() in _COMPUTE_TYPES:
        raise NotBatchSpecError(f"{name}: the file looks like a compute spec; {_EXPECTED}")
    if keys & _CONDA_KEYS:
        raise NotBatchSpecError(
            f"{name}: the file looks like a conda environment ({_sorted(keys, _CONDA_KEYS)}); "
            f"{_EXPECTED}"
        )
    if keys & _WORKSPACE_KEYS:
        raise NotBatchSpecError(f"{name}: the file looks like a workspace spec; {_EXPECTED}")
    if "endpoint_name" in keys:
        if keys & _ONLINE_DEPLOYMENT_KEYS and not keys & _BATCH_DEPLOYMENT_KEYS:
            found = _sorted(keys, _ONLINE_DEPLOYMENT_KEYS)
            raise NotBatchSpecError(
                f"{name}: the file looks like an online deployment ({found}); {_EXPECTED}{hint}"
            )
        return SpecKind.BATCH_DEPLOYMENT
    if keys & _ONLINE_ENDPOINT_KEYS:
        found = _sorted(keys, _ONLINE_ENDPOINT_KEYS)
        raise NotBatchSpecError(
            f"{name}: the file looks like an online endpoint ({found}); {_EXPECTED}{hint}"
        )
    if "name" in keys:
        # NOTE: an endpoint spec without $schema or online-only keys is taken for a batch
        # endpoint, because this command lints batch specs. A $schema line overrides it.
        return SpecKind.BATCH_ENDPOINT
    raise NotBatchSpecError(f"{name}: cannot tell what the file describes{hint}; {_EXPECTED}")


def _sorted(keys: set[str], wanted: set[str]) -> str:
    return ", ".join(sorted(keys & wanted))


def _network_keys_finding(name: str, kind: SpecKind, keys: list[str]) -> Finding:
    listed = ", ".join(keys)
    return make_finding(
        NETWORK_KEYS_RULE,
        name,
        "",
        f"{name}: the {kind.value} spec sets {listed}, which batch endpoints do not support "
        f"(online endpoints only). Remove {'the key' if len(keys) == 1 else 'the keys'}: a "
        "batch endpoint in a private-link workspace is private because the workspace is.",
        file=name,
        kind=kind.value,
        keys=keys,
    )
