"""Private DNS zone groups: which zones a private endpoint needs, and repairing its group.

A private endpoint resolves through the private DNS zones linked in its zone group. The repair
adds the missing zone configs to the endpoint's existing zone group (one PUT with every
config, old and new), or creates a group when there is none. It never creates a second group,
because ARM allows one zone group per private endpoint.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from remediators.actions.arm_errors import (
    Correlation,
    RetryPolicy,
    call_with_retry,
    resource_lock,
)
from remediators.actions.plan import Outcome, OutcomeStatus, PlannedAction
from remediators.clients import AzureClients
from remediators.estate.models import (
    as_dict,
    as_list,
    as_text,
    last_segment,
    norm_id,
    resource_group_of,
    subscription_of,
)
from remediators.rules.dns_zones import required_zones

logger = logging.getLogger(__name__)

DEFAULT_ZONE_GROUP_NAME = "default"


def split_id(resource_id: str) -> tuple[str, str, str]:
    """Return the subscription, resource group and name of a resource id."""
    subscription = subscription_of(resource_id)
    resource_group = resource_group_of(resource_id)
    if not subscription or not resource_group:
        raise ValueError(
            f"invalid resource id {resource_id!r}: expected "
            "/subscriptions/<id>/resourceGroups/<name>/providers/..."
        )
    return subscription, resource_group, last_segment(resource_id)


def zone_config_name(zone_name: str) -> str:
    """Name a zone config as the portal does: the zone name with dots as hyphens."""
    return zone_name.replace(".", "-")


@dataclass(frozen=True)
class ZoneGroupState:
    """A private endpoint's zone group as ARM returns it: name and zone ids by config name."""

    name: str
    configs: dict[str, str] = field(default_factory=dict)

    @property
    def zone_names(self) -> set[str]:
        return {last_segment(zone_id).lower() for zone_id in self.configs.values()}

    @classmethod
    def from_arm(cls, payload: Mapping[str, Any]) -> ZoneGroupState:
        props = as_dict(payload.get("properties"))
        configs: dict[str, str] = {}
        for config in as_list(props.get("privateDnsZoneConfigs")):
            config = as_dict(config)
            zone_id = as_text(as_dict(config.get("properties")).get("privateDnsZoneId"))
            if zone_id:
                configs[as_text(config.get("name")) or zone_config_name(last_segment(zone_id))] = (
                    zone_id
                )
        return cls(name=as_text(payload.get("name")) or DEFAULT_ZONE_GROUP_NAME, configs=configs)


def zone_group_body(configs: Mapping[str, str]) -> dict[str, Any]:
    """Build the PUT body of a zone group from zone ids keyed by config name."""
    return {
        "properties": {
            "privateDnsZoneConfigs": [
                {"name": name, "properties": {"privateDnsZoneId": zone_id}}
                for name, zone_id in configs.items()
            ]
        }
    }


def merged_configs(existing: ZoneGroupState | None, zone_ids: Iterable[str]) -> dict[str, str]:
    """Return the existing configs plus a config for each zone id the group lacks."""
    configs = dict(existing.configs) if existing else {}
    present = {norm_id(zone_id) for zone_id in configs.values()}
    for zone_id in zone_ids:
        if norm_id(zone_id) in present:
            continue
        name = zone_config_name(last_segment(zone_id))
        while name in configs:
            name = f"{name}-1"
        configs[name] = zone_id
        present.add(norm_id(zone_id))
    return configs


def missing_zone_names(existing: ZoneGroupState | None, required: Sequence[str]) -> list[str]:
    have = existing.zone_names if existing else set()
    return [zone for zone in required if zone.lower() not in have]


# ---------------------------------------------------------------- live repair


class ZoneLocator:
    """Find private DNS zones by name in the configured subscription or resource group.

    `scope` is `/subscriptions/<id>` or `/subscriptions/<id>/resourceGroups/<name>`; without
    one, zones are looked up in the subscription of the private endpoint. Each scope is
    listed once per locator.
    """

    def __init__(self, clients: AzureClients, scope: str | None) -> None:
        self.clients = clients
        self.scope = scope
        self._zones: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def find(self, zone_names: Iterable[str], default_subscription: str) -> dict[str, str]:
        """Return the ids of the zones found, keyed by lowercased zone name."""
        zones = self._zones_in(self.scope or f"/subscriptions/{default_subscription}")
        return {name.lower(): zones[name.lower()] for name in zone_names if name.lower() in zones}

    def _zones_in(self, scope: str) -> dict[str, str]:
        key = norm_id(scope)
        with self._lock:
            if key not in self._zones:
                self._zones[key] = self._list(scope)
            return self._zones[key]

    def _list(self, scope: str) -> dict[str, str]:
        segments = scope.strip("/").split("/")
        subscription = segments[1]
        client = self.clients.private_dns(subscription)
        if len(segments) >= 4:
            zones = client.private_zones.list_by_resource_group(segments[3])
        else:
            zones = client.private_zones.list()
        return {str(zone.name).lower(): str(zone.id) for zone in zones if zone.name and zone.id}


@dataclass(frozen=True)
class DnsOptions:
    """Zone group repair settings: the DNS zone scope, the cloud and dry run."""

    dns_zone_scope: str | None = None
    cloud: str = "AzureCloud"
    dry_run: bool = False


class ZoneGroupRepair:
    """Add the zones a private endpoint lacks to its zone group, or create the group."""

    def __init__(
        self,
        clients: AzureClients,
        options: DnsOptions,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        zones: ZoneLocator | None = None,
    ) -> None:
        self.clients = clients
        self.options = options
        self.retry = retry
        self.sleep = sleep
        self.zones = zones or ZoneLocator(clients, options.dns_zone_scope)

    def execute(self, action: PlannedAction) -> Outcome:
        """Run a planned `private-endpoint.dns` repair; the finding names the groups."""
        groups = action.finding.details.get("group_ids") or [action.group_id]
        return self.ensure(action.target_id, [str(g) for g in groups if g])

    def ensure(
        self, endpoint_id: str, group_ids: Sequence[str], correlation: Correlation | None = None
    ) -> Outcome:
        """Make the zone group of `endpoint_id` link every zone `group_ids` need."""
        correlation = correlation or Correlation()
        subscription, resource_group, name = split_id(endpoint_id)
        network = self.clients.network(subscription)
        required: list[str] = []
        for group in group_ids:
            required += [z for z in required_zones(group, self.options.cloud) if z not in required]
        with resource_lock(endpoint_id):
            listed = network.private_dns_zone_groups.list(name, resource_group)
            existing_groups = [ZoneGroupState.from_arm(group.as_dict()) for group in listed]
            existing = existing_groups[0] if existing_groups else None
            missing = missing_zone_names(existing, required)
            if not missing:
                return Outcome(
                    OutcomeStatus.ALREADY_DONE,
                    f"zone group of {name} links {', '.join(required)}",
                    resource_id=endpoint_id,
                )
            return self._write(network, endpoint_id, existing, missing, correlation)

    def _write(
        self,
        network: Any,
        endpoint_id: str,
        existing: ZoneGroupState | None,
        missing: list[str],
        correlation: Correlation,
    ) -> Outcome:
        subscription, resource_group, name = split_id(endpoint_id)
        found = self.zones.find(missing, default_subscription=subscription)
        not_found = [zone for zone in missing if zone.lower() not in found]
        scope = self.options.dns_zone_scope or f"/subscriptions/{subscription}"
        alert = None
        if not_found:
            alert = (
                f"private DNS zone(s) {', '.join(not_found)} not found in {scope}: create them "
                f"there and link them to the virtual network, so {name} resolves privately"
            )
            logger.warning("%s", alert, extra={"resource_id": endpoint_id})
        if not found:
            return Outcome(OutcomeStatus.FAILED, alert or "", endpoint_id, alert=alert)
        configs = merged_configs(existing, found.values())
        group_name = existing.name if existing else DEFAULT_ZONE_GROUP_NAME
        verb = "add" if existing else "create"
        change = f"{verb} zone group {group_name} of {name} with {', '.join(sorted(found))}"
        if self.options.dry_run:
            return Outcome(OutcomeStatus.WOULD_CHANGE, f"dry run: would {change}", endpoint_id)

        def put() -> Any:
            poller = network.private_dns_zone_groups.begin_create_or_update(
                resource_group, name, group_name, zone_group_body(configs), **correlation.options()
            )
            return poller.result()

        def read() -> Any:
            return network.private_dns_zone_groups.get(resource_group, name, group_name)

        call_with_retry(
            f"PUT zone group {group_name} of {endpoint_id}",
            put,
            policy=self.retry,
            sleep=self.sleep,
            on_outcome_unknown=read,
        )
        logger.info("Repaired DNS zone group: %s", change, extra={"resource_id": endpoint_id})
        return Outcome(
            OutcomeStatus.UPDATED if existing else OutcomeStatus.CREATED,
            change,
            f"{endpoint_id}/privateDnsZoneGroups/{group_name}",
            correlation_id=correlation.id,
            alert=alert,
        )
