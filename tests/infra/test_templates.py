"""Every Bicep file parses, every module exists, and parameters line up across files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.templates import (
    INFRA,
    MAIN,
    REPO_ROOT,
    bicep_files,
    body,
    load_parameters_file,
    module_path,
    parse,
)


def module_calls() -> list[tuple[Path, str, Path, dict[str, Any]]]:
    """Return (caller, symbolic name, module file, module body) for every module call."""
    calls = []
    for caller in bicep_files():
        for name, entry in parse(caller).get("modules", {}).items():
            target = (caller.parent / entry["detail"]["path"]).resolve()
            calls.append((caller, name, target, body(entry)))
    return calls


def target_scope(path: Path) -> str:
    return str(parse(path)["globals"]["scope"]["value"])


def scope_of_call(caller: Path, call: dict[str, Any]) -> str:
    """Return the scope kind a module call deploys to: resourceGroup or subscription."""
    scope = call.get("scope")
    if scope is None:
        return target_scope(caller)
    if isinstance(scope, dict):
        kind = scope["function"]["type"]
        return {"resource_group": "resourceGroup", "subscription": "subscription"}[kind]
    resource = parse(caller)["resources"][scope]
    assert resource["type"] == "Microsoft.Resources/resourceGroups", scope
    return "resourceGroup"


CALLS = module_calls()
CALL_IDS = [f"{module_path(c)}:{n}" for c, n, _, _ in CALLS]


@pytest.mark.parametrize("path", bicep_files(), ids=module_path)
def test_bicep_file_parses(path: Path) -> None:
    assert parse(path)


def test_main_targets_subscription() -> None:
    assert target_scope(MAIN) == "subscription"


@pytest.mark.parametrize(("caller", "name", "target", "call"), CALLS, ids=CALL_IDS)
def test_module_file_exists(caller: Path, name: str, target: Path, call: dict[str, Any]) -> None:
    assert target.is_file(), f"{module_path(caller)} module {name} points to missing {target}"


@pytest.mark.parametrize(("caller", "name", "target", "call"), CALLS, ids=CALL_IDS)
def test_module_params_declared(
    caller: Path, name: str, target: Path, call: dict[str, Any]
) -> None:
    declared = set(parse(target).get("parameters", {}))
    passed = set(call.get("params", {}))
    assert passed <= declared, f"{name} passes undeclared {sorted(passed - declared)}"


@pytest.mark.parametrize(("caller", "name", "target", "call"), CALLS, ids=CALL_IDS)
def test_module_required_params_passed(
    caller: Path, name: str, target: Path, call: dict[str, Any]
) -> None:
    required = {
        param
        for param, spec in parse(target).get("parameters", {}).items()
        if spec.get("default") is None
    }
    missing = required - set(call.get("params", {}))
    assert not missing, f"{name} omits required {sorted(missing)}"


@pytest.mark.parametrize(("caller", "name", "target", "call"), CALLS, ids=CALL_IDS)
def test_module_scope_matches(caller: Path, name: str, target: Path, call: dict[str, Any]) -> None:
    assert scope_of_call(caller, call) == target_scope(target), name


@pytest.mark.parametrize(("caller", "name", "target", "call"), CALLS, ids=CALL_IDS)
def test_forwarded_params_keep_name(
    caller: Path, name: str, target: Path, call: dict[str, Any]
) -> None:
    """A caller parameter handed straight to a module keeps its name there."""
    caller_params = set(parse(caller).get("parameters", {}))
    renamed = {
        key: value
        for key, value in call.get("params", {}).items()
        if isinstance(value, str) and value in caller_params and value != key
    }
    assert not renamed, f"{name} renames parameters {renamed}"


def test_shared_param_names_share_type() -> None:
    types: dict[str, set[str]] = {}
    for path in bicep_files():
        for param, spec in parse(path).get("parameters", {}).items():
            types.setdefault(param, set()).add(str(spec["type"]))
    mixed = {param: kinds for param, kinds in types.items() if len(kinds) > 1}
    assert not mixed


def test_parameters_file_matches_main() -> None:
    declared = set(parse(MAIN)["parameters"])
    given = set(load_parameters_file()["parameters"])
    assert given <= declared, f"unknown parameters {sorted(given - declared)}"


def test_parameters_file_sets_required() -> None:
    required = {
        param for param, spec in parse(MAIN)["parameters"].items() if spec.get("default") is None
    }
    missing = required - set(load_parameters_file()["parameters"])
    assert not missing


def test_azure_yaml_service() -> None:
    config = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())
    api = config["services"]["api"]
    assert api["host"] == "function"
    assert api["language"] == "python"
    assert api["project"] == "."


def test_azure_yaml_infra_path() -> None:
    config = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())
    assert (REPO_ROOT / config["infra"]["path"] / f"{config['infra']['module']}.bicep").is_file()


def test_postdeploy_hook_executable() -> None:
    config = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())
    script = REPO_ROOT / config["hooks"]["postdeploy"]["posix"]["run"]
    assert script.is_file()
    assert os.access(script, os.X_OK)


def test_hook_outputs_exist() -> None:
    """Every azd value the postdeploy hook requires is an output of main.bicep."""
    script = (INFRA / "hooks" / "postdeploy.sh").read_text()
    outputs = set(parse(MAIN)["outputs"])
    required = {
        line.split("${", 1)[1].split(":", 1)[0]
        for line in script.splitlines()
        if line.startswith(': "${')
    }
    assert required
    assert required <= outputs, sorted(required - outputs)
