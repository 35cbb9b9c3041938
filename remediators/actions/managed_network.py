"""Managed outbound rules for workspaces with a managed virtual network.

In a workspace with a managed network, Azure Machine Learning creates the private endpoints
itself from outbound rules of type PrivateEndpoint, so the storage groups the workspace
lacks become such rules on the workspace instead of customer private endpoints.

Guarantees: a rule for the same target and group under any name counts as done, existing
rules are never modified, rule names are deterministic, and writes on one workspace take
turns in this process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from remediators.actions.arm_errors import RetryPolicy, call_with_retry, resource_lock
from remediators.actions.dns import split_id
from remediators.actions.plan import Outcome, OutcomeStatus, PlannedAction
from remediators.actions.private_endpoints import endpoint_name
from remediators.clients import AzureClients
from remediators.estate.models import as_dict, as_text, last_segment, same_id

logger = logging.getLogger(__name__)

RULE_TYPE = "PrivateEndpoint"


@dataclass(frozen=True)
class OutboundRule:
    """A managed outbound rule as the workspace or the rule list returns it."""

    name: str
    type: str | None
    service_resource_id: str | None
    subresource_target: str | None

    @classmethod
    def from_arm(cls, name: str, rule: Mapping[str, Any]) -> OutboundRule:
        # The workspace embeds rules by name; the list nests each one under `properties`.
        body = as_dict(rule.get("properties")) or as_dict(rule)
        destination = as_dict(body.get("destination"))
        return cls(
            name=name,
            type=as_text(body.get("type")),
            service_resource_id=as_text(destination.get("serviceResourceId")),
            subresource_target=as_text(destination.get("subresourceTarget")),
        )

    def targets(self, target_id: str, group_id: str) -> bool:
        return (
            (self.type or "").lower() == RULE_TYPE.lower()
            and same_id(self.service_resource_id, target_id)
            and (self.subresource_target or "").lower() == group_id.lower()
        )


def rule_body(target_id: str, group_id: str) -> dict[str, Any]:
    """Build the PUT body of a PrivateEndpoint outbound rule to `target_id` for `group_id`."""
    return {
        "properties": {
            "type": RULE_TYPE,
            "category": "UserDefined",
            "destination": {
                "serviceResourceId": target_id,
                "subresourceTarget": group_id,
                "sparkEnabled": False,
            },
        }
    }


class ManagedOutboundRuleCreator:
    """Ensure a workspace's managed network has a PrivateEndpoint rule for a target group."""

    def __init__(
        self,
        clients: AzureClients,
        *,
        dry_run: bool = False,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        lease: Callable[[str], AbstractContextManager[Any]] | None = None,
    ) -> None:
        self.clients = clients
        self.dry_run = dry_run
        self.retry = retry
        self.sleep = sleep
        self.lease = lease

    def execute(self, action: PlannedAction) -> Outcome:
        """Run a planned `storage.private-endpoint` action of a managed-network workspace."""
        if action.group_id is None:
            raise ValueError(f"planned outbound rule for {action.target_id} has no group id")
        return self.ensure(action.finding.workspace_id, action.target_id, action.group_id)

    def ensure(self, workspace_id: str, target_id: str, group_id: str) -> Outcome:
        """Find or create the outbound rule; writes only when no rule covers the group."""
        with resource_lock(workspace_id):
            lease = self.lease(workspace_id) if self.lease else nullcontext()
            with lease:
                return self._ensure(workspace_id, target_id, group_id)

    def _ensure(self, workspace_id: str, target_id: str, group_id: str) -> Outcome:
        subscription, resource_group, workspace = split_id(workspace_id)
        client = self.clients.machine_learning(subscription)
        rules = self._rules(client, resource_group, workspace)
        existing = next((r for r in rules if r.targets(target_id, group_id)), None)
        if existing is not None:
            return Outcome(
                OutcomeStatus.ALREADY_DONE,
                f"outbound rule {existing.name} of workspace {workspace} already reaches "
                f"{target_id} group {group_id}",
                f"{workspace_id}/outboundRules/{existing.name}",
            )
        name = endpoint_name(last_segment(target_id), group_id)
        rule_id = f"{workspace_id}/outboundRules/{name}"
        if any(r.name.lower() == name for r in rules):
            message = (
                f"outbound rule {name} of workspace {workspace} exists with another "
                f"destination; the remediator never modifies a rule: add a PrivateEndpoint "
                f"rule to {target_id} for group {group_id} by hand"
            )
            return Outcome(OutcomeStatus.FAILED, message, rule_id, alert=message)
        if self.dry_run:
            return Outcome(
                OutcomeStatus.WOULD_CHANGE,
                f"dry run: would add outbound rule {name} to {target_id} group {group_id}",
                rule_id,
            )
        return self._create(client, resource_group, workspace, name, rule_id, target_id, group_id)

    def _rules(self, client: Any, resource_group: str, workspace: str) -> list[OutboundRule]:
        """Return the rules embedded in the workspace and those its rule list returns."""
        payload = client.get_workspace(resource_group, workspace)
        managed = as_dict(as_dict(payload.get("properties")).get("managedNetwork"))
        embedded: Iterable[tuple[str, Any]] = as_dict(managed.get("outboundRules")).items()
        rules = [OutboundRule.from_arm(str(name), as_dict(rule)) for name, rule in embedded]
        for item in client.list_outbound_rules(resource_group, workspace):
            rules.append(OutboundRule.from_arm(str(item.get("name")), as_dict(item)))
        return rules

    def _create(
        self,
        client: Any,
        resource_group: str,
        workspace: str,
        name: str,
        rule_id: str,
        target_id: str,
        group_id: str,
    ) -> Outcome:
        body = rule_body(target_id, group_id)
        call_with_retry(
            f"PUT outbound rule {rule_id}",
            lambda: client.begin_create_or_update_outbound_rule(
                resource_group, workspace, name, body
            ).result(),
            policy=self.retry,
            sleep=self.sleep,
        )
        logger.info(
            "Added managed outbound rule %s to %s group %s",
            rule_id,
            target_id,
            group_id,
            extra={"resource_id": rule_id},
        )
        # NOTE: the Machine Learning client returns no response headers, so this audit
        # record carries no ARM correlation id.
        return Outcome(
            OutcomeStatus.CREATED,
            f"added outbound rule {name} to {target_id} group {group_id}; the managed network "
            "creates its private endpoint when the network is next provisioned",
            rule_id,
        )
