"""Least privilege: no broad built-in roles, no wildcard actions, deterministic assignments."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.templates import (
    INFRA,
    arrays_under_key,
    bicep_files,
    module_path,
    parse,
    resources_of_type,
    strings,
    variable,
)

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-bd73-45f0-8a04-3f4b1a6ac8ee"

# Built-in roles the templates may grant, each on one resource of the product's own.
ALLOWED_BUILT_IN_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}

# Actions the remediator performs at the target scopes, which the custom roles must grant.
REQUIRED_ACTIONS = {
    "Microsoft.ResourceGraph/resources/read",
    "Microsoft.Network/privateEndpoints/read",
    "Microsoft.Network/privateEndpoints/write",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups/write",
    "Microsoft.Network/virtualNetworks/subnets/join/action",
    "Microsoft.Network/privateDnsZones/join/action",
    "Microsoft.Storage/storageAccounts/privateEndpointConnectionsApproval/action",
    "Microsoft.ContainerRegistry/registries/privateEndpointConnectionsApproval/action",
    "Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action",
    "Microsoft.MachineLearningServices/workspaces/privateEndpointConnectionsApproval/action",
    "Microsoft.MachineLearningServices/workspaces/outboundRules/write",
    "Microsoft.MachineLearningServices/workspaces/batchEndpoints/read",
    "Microsoft.MachineLearningServices/workspaces/batchEndpoints/write",
    "Microsoft.MachineLearningServices/workspaces/batchEndpoints/delete",
    "Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments/read",
    "Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments/write",
    "Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments/delete",
    "Microsoft.MachineLearningServices/workspaces/jobs/read",
}

AUTHORIZATION = "microsoft.authorization/"
GUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
ROLES = INFRA / "app" / "roles.bicep"


def all_guids(path: Path) -> set[str]:
    return {m.lower() for s in strings(parse(path)) for m in GUID.findall(s)}


def custom_role_actions() -> list[str]:
    return [action for role in variable(ROLES, "roles") for action in role["actions"]]


def role_assignments() -> list[tuple[Path, str, dict[str, Any]]]:
    return list(resources_of_type("Microsoft.Authorization/roleAssignments"))


ASSIGNMENTS = role_assignments()
ASSIGNMENT_IDS = [f"{module_path(p)}:{n}" for p, n, _ in ASSIGNMENTS]


@pytest.mark.parametrize("path", bicep_files(), ids=module_path)
@pytest.mark.parametrize("role_id", [OWNER, CONTRIBUTOR, USER_ACCESS_ADMINISTRATOR])
def test_no_broad_built_in_role(path: Path, role_id: str) -> None:
    assert role_id not in all_guids(path)


@pytest.mark.parametrize("path", bicep_files(), ids=module_path)
def test_only_allowed_built_in_roles(path: Path) -> None:
    unknown = all_guids(path) - set(ALLOWED_BUILT_IN_ROLES)
    assert not unknown, f"{module_path(path)} names role ids {sorted(unknown)}"


@pytest.mark.parametrize("path", bicep_files(), ids=module_path)
def test_no_wildcard_actions(path: Path) -> None:
    for key in ("actions", "dataActions"):
        for actions in arrays_under_key(parse(path), key):
            wildcards = [a for a in actions if isinstance(a, str) and "*" in a]
            assert not wildcards, f"{module_path(path)} {key}: {wildcards}"


def test_custom_roles_have_no_not_actions() -> None:
    for path in bicep_files():
        for not_actions in arrays_under_key(parse(path), "notActions"):
            assert not_actions == []


def test_custom_roles_grant_required_actions() -> None:
    missing = REQUIRED_ACTIONS - set(custom_role_actions())
    assert not missing, sorted(missing)


def test_custom_role_actions_unique_per_role() -> None:
    for role in variable(ROLES, "roles"):
        assert len(role["actions"]) == len(set(role["actions"])), role["key"]


def test_custom_role_names_unique() -> None:
    keys = [role["key"] for role in variable(ROLES, "roles")]
    assert len(keys) == len(set(keys))


def test_role_definitions_not_owner_like() -> None:
    """No custom role may manage role assignments or definitions."""
    for path in bicep_files():
        for actions in arrays_under_key(parse(path), "actions"):
            authorization = [a for a in actions if str(a).lower().startswith(AUTHORIZATION)]
            assert not authorization, f"{module_path(path)}: {authorization}"


@pytest.mark.parametrize(("path", "name", "assignment"), ASSIGNMENTS, ids=ASSIGNMENT_IDS)
def test_assignment_name_is_guid(path: Path, name: str, assignment: dict[str, Any]) -> None:
    call = assignment["name"]["function"]
    assert call["type"] == "guid"
    assert len(call["parameters"]) == 3


@pytest.mark.parametrize(("path", "name", "assignment"), ASSIGNMENTS, ids=ASSIGNMENT_IDS)
def test_assignment_name_uses_principal(path: Path, name: str, assignment: dict[str, Any]) -> None:
    arguments = list(assignment["name"]["function"]["parameters"].values())
    assert assignment["properties"]["principalId"] in arguments


@pytest.mark.parametrize(("path", "name", "assignment"), ASSIGNMENTS, ids=ASSIGNMENT_IDS)
def test_assignment_name_uses_role(path: Path, name: str, assignment: dict[str, Any]) -> None:
    arguments = set(strings(assignment["name"]["function"]["parameters"]))
    role = set(strings(assignment["properties"]["roleDefinitionId"]))
    assert arguments & (role - {"Microsoft.Authorization/roleDefinitions", "id"})


@pytest.mark.parametrize(("path", "name", "assignment"), ASSIGNMENTS, ids=ASSIGNMENT_IDS)
def test_assignment_to_service_principal(path: Path, name: str, assignment: dict[str, Any]) -> None:
    assert assignment["properties"]["principalType"] == "ServicePrincipal"


def test_custom_roles_assigned_per_target() -> None:
    """Each target subscription gets every custom role, by a loop rather than copies."""
    target = parse(INFRA / "app" / "target-subscription.bicep")
    loop = target["resources"]["roleAssignments"]["config"]["loop_type"]["detail"]
    assert loop["array_name"] == "roleDefinitionNames"
