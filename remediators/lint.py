"""Lint Azure Machine Learning CLI v2 batch endpoint and batch deployment YAML files.

A file's kind comes from its `$schema` (batchEndpoint.schema.json, or one of the
batch deployment schemas such as modelBatchDeployment.schema.json), else from its keys.
Batch endpoints cannot be public in a private-link workspace and do not accept the online
endpoint keys `public_network_access` and `egress_public_network_access`, so a batch spec
that sets them gets an `endpoint.spec.network-keys` finding before anything reaches ARM.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from remediators.findings import Finding, make_finding
from remediators.rules.endpoints import network_keys_in

NETWORK_KEYS_RULE = "endpoint.spec.network-keys"


class SpecKind(enum.Enum):
    BATCH_ENDPOINT = "batch endpoint"
    BATCH_DEPLOYMENT = "batch deployment"


class LintInputError(ValueError):
    """A file that is not a batch endpoint or batch deployment YAML; names the file and fix."""


@dataclass
class LintResult:
    path: str
    kind: SpecKind
    findings: list[Finding] = field(default_factory=list)


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
_COMPUTE_TYPES = {"amlcompute", "computeinstance", "kubernetes", "virtualmachine", "synapsespark"}

_EXPECTED = (
    "expected a CLI v2 batch endpoint or batch deployment YAML "
    "($schema batchEndpoint.schema.json or batchDeployment.schema.json)"
)


def lint_file(path: str | os.PathLike[str]) -> LintResult:
    """Lint one YAML file; raise `LintInputError` when it is not a batch endpoint or deployment."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LintInputError(f"{name}: file not found; check the path") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LintInputError(f"{name}: cannot read the file: {error}") from None
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise LintInputError(f"{name}: not valid YAML{where}; {_EXPECTED}") from None
    except RecursionError:
        raise LintInputError(f"{name}: the YAML is nested too deeply; {_EXPECTED}") from None
    return lint_spec(spec, name)


def lint_spec(spec: Any, name: str) -> LintResult:
    """Lint a decoded YAML document; `name` identifies it in findings and errors."""
    if not isinstance(spec, Mapping):
        shape = "empty" if spec is None else f"a YAML {type(spec).__name__}"
        raise LintInputError(f"{name}: the document is {shape}, not a mapping; {_EXPECTED}")
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
        raise LintInputError(
            f"{name}: $schema {schema} is an {online}; {_EXPECTED}. Online specs may set "
            "public_network_access and are not checked here"
        )
    raise LintInputError(f"{name}: $schema {schema} is not a batch spec; {_EXPECTED}")


def _kind_from_keys(spec: Mapping[str, Any], name: str) -> SpecKind:
    keys = {str(k).lower() for k in spec}
    hint = "; add a $schema line to say which kind it is"
    if str(spec.get("type") or "").lower() in _COMPUTE_TYPES:
        raise LintInputError(f"{name}: the file looks like a compute spec; {_EXPECTED}")
    if keys & _WORKSPACE_KEYS:
        raise LintInputError(f"{name}: the file looks like a workspace spec; {_EXPECTED}")
    if "endpoint_name" in keys:
        if keys & _ONLINE_DEPLOYMENT_KEYS and not keys & _BATCH_DEPLOYMENT_KEYS:
            found = _sorted(keys, _ONLINE_DEPLOYMENT_KEYS)
            raise LintInputError(
                f"{name}: the file looks like an online deployment ({found}); {_EXPECTED}{hint}"
            )
        return SpecKind.BATCH_DEPLOYMENT
    if keys & _ONLINE_ENDPOINT_KEYS:
        found = _sorted(keys, _ONLINE_ENDPOINT_KEYS)
        raise LintInputError(
            f"{name}: the file looks like an online endpoint ({found}); {_EXPECTED}{hint}"
        )
    if "name" in keys:
        # NOTE: an endpoint spec without $schema or online-only keys is taken for a batch
        # endpoint, because this command lints batch specs. A $schema line overrides it.
        return SpecKind.BATCH_ENDPOINT
    raise LintInputError(f"{name}: cannot tell what the file describes{hint}; {_EXPECTED}")


def _sorted(keys: set[str], wanted: set[str]) -> str:
    return ", ".join(sorted(keys & wanted))


def _network_keys_finding(name: str, kind: SpecKind, keys: list[str]) -> Finding:
    listed = ", ".join(keys)
    return make_finding(
        NETWORK_KEYS_RULE,
        name,
        "",
        f"{name}: the {kind.value} spec sets {listed}, which batch endpoints do not support "
        "(online endpoints only). Remove the keys: a batch endpoint in a private-link workspace "
        "is private because the workspace is.",
        file=name,
        kind=kind.value,
        keys=keys,
    )
