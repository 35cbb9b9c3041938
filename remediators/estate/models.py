"""Typed views over ARM payloads.

Each view is built from the JSON that ARM GET returns (or a Resource Graph row) and
tolerates the quirks real payloads have: ids and enum values in mixed case, absent or
null properties (absent means "not configured", never "secure"), booleans as 1/0 or
strings, `actionRequired` beside `actionsRequired`, and ids that are not valid.
Field names are ARM's property names in snake_case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from azure.mgmt.core.tools import is_valid_resource_id, parse_resource_id

Json = Mapping[str, Any]


# ---------------------------------------------------------------- value helpers


def as_bool(value: Any) -> bool | None:
    """Read an ARM boolean that may be a bool, 1/0 or a string; None when absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes", "enabled"):
            return True
        if text in ("false", "0", "no", "disabled"):
            return False
    return None


def as_text(value: Any) -> str | None:
    """Return a stripped string, or None for null, non-strings and empty strings."""
    if isinstance(value, str):
        text = value.strip()
        return text or None
    return None


def as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def as_datetime(value: Any) -> datetime | None:
    """Parse an ISO 8601 timestamp with up to 7 fractional digits (ARM's form) as UTC."""
    text = as_text(value)
    if text is None:
        return None
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:
        # Python accepts at most 6 fractional digits; ARM writes 7.
        head, _, rest = text.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def norm_id(resource_id: str | None) -> str:
    """Return the comparison key of a resource id: lowercased, no trailing slash.

    A value that is not a string (a malformed payload) gives the empty key.
    """
    if not isinstance(resource_id, str):
        return ""
    return resource_id.strip().rstrip("/").lower()


def same_id(left: str | None, right: str | None) -> bool:
    return bool(left) and bool(right) and norm_id(left) == norm_id(right)


def valid_id(resource_id: str | None) -> bool:
    """Return whether `resource_id` is a well-formed ARM resource id."""
    return bool(resource_id) and is_valid_resource_id(resource_id or "")


def subscription_of(resource_id: str) -> str | None:
    """Return the lowercased subscription id of an ARM id, or None if it has none."""
    if not resource_id:
        return None
    parts = parse_resource_id(resource_id)
    subscription = parts.get("subscription")
    return subscription.lower() if isinstance(subscription, str) and subscription else None


def resource_group_of(resource_id: str) -> str | None:
    parts = parse_resource_id(resource_id)
    group = parts.get("resource_group")
    return group if isinstance(group, str) and group else None


def parent_id(resource_id: str, levels: int = 1) -> str:
    """Return the id `levels` type/name pairs up from a child resource id."""
    segments = resource_id.rstrip("/").split("/")
    return "/".join(segments[: len(segments) - 2 * levels])


def last_segment(resource_id: str | None) -> str:
    return (resource_id or "").rstrip("/").rsplit("/", 1)[-1]


def status_of(value: Any) -> str | None:
    """Normalise a connection status ('approved', 'Approved') to ARM's capitalised form."""
    text = as_text(value)
    return text[:1].upper() + text[1:].lower() if text else None


# ---------------------------------------------------------------- common parts


@dataclass(frozen=True)
class Resource:
    """Fields every ARM resource has, plus the raw payload."""

    id: str
    name: str
    type: str
    location: str | None
    tags: dict[str, str]
    created_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        return norm_id(self.id)

    @property
    def properties(self) -> dict[str, Any]:
        return as_dict(self.raw.get("properties"))


def _resource_fields(payload: Json) -> dict[str, Any]:
    resource_id = as_text(payload.get("id")) or ""
    system_data = as_dict(payload.get("systemData"))
    return {
        "id": resource_id,
        "name": as_text(payload.get("name")) or last_segment(resource_id),
        "type": as_text(payload.get("type")) or "",
        "location": as_text(payload.get("location")),
        "tags": {str(k): str(v) for k, v in as_dict(payload.get("tags")).items()},
        "created_at": as_datetime(system_data.get("createdAt")),
        "raw": dict(payload),
    }


@dataclass(frozen=True)
class PrivateEndpointConnection:
    """A private endpoint connection as the target resource (workspace, storage...) reports it."""

    id: str
    private_endpoint_id: str | None
    status: str | None
    description: str | None
    actions_required: str | None
    group_ids: tuple[str, ...]

    @classmethod
    def from_arm(cls, payload: Json) -> PrivateEndpointConnection:
        props = as_dict(payload.get("properties"))
        state = as_dict(props.get("privateLinkServiceConnectionState"))
        group_ids = as_list(props.get("groupIds"))
        return cls(
            id=as_text(payload.get("id")) or "",
            private_endpoint_id=as_text(as_dict(props.get("privateEndpoint")).get("id")),
            status=status_of(state.get("status")),
            description=as_text(state.get("description")),
            # Storage spells it actionRequired; other providers spell it actionsRequired.
            actions_required=as_text(state.get("actionsRequired") or state.get("actionRequired")),
            group_ids=tuple(str(g).lower() for g in group_ids if isinstance(g, str)),
        )


def _connections(props: Json) -> list[PrivateEndpointConnection]:
    return [
        PrivateEndpointConnection.from_arm(item)
        for item in as_list(props.get("privateEndpointConnections"))
        if isinstance(item, Mapping)
    ]


# ---------------------------------------------------------------- machine learning


@dataclass(frozen=True)
class ManagedOutboundRule:
    name: str
    type: str | None
    service_resource_id: str | None
    subresource_target: str | None
    status: str | None


@dataclass(frozen=True)
class Workspace(Resource):
    public_network_access: str | None
    allow_public_access_when_behind_vnet: bool | None
    storage_account: str | None
    container_registry: str | None
    key_vault: str | None
    image_build_compute: str | None
    encryption_status: str | None
    managed_network_isolation_mode: str | None
    managed_outbound_rules: tuple[ManagedOutboundRule, ...]
    serverless_compute_subnet: str | None
    private_endpoint_connections: tuple[PrivateEndpointConnection, ...]

    @property
    def has_managed_network(self) -> bool:
        mode = (self.managed_network_isolation_mode or "").lower()
        return mode in ("allowinternetoutbound", "allowonlyapprovedoutbound")

    @classmethod
    def from_arm(cls, payload: Json) -> Workspace:
        props = as_dict(payload.get("properties"))
        managed = as_dict(props.get("managedNetwork"))
        rules = []
        for name, rule in as_dict(managed.get("outboundRules")).items():
            rule = as_dict(rule)
            destination = rule.get("destination")
            destination = as_dict(destination)
            rules.append(
                ManagedOutboundRule(
                    name=str(name),
                    type=as_text(rule.get("type")),
                    service_resource_id=as_text(destination.get("serviceResourceId")),
                    subresource_target=(as_text(destination.get("subresourceTarget")) or "").lower()
                    or None,
                    status=as_text(rule.get("status")),
                )
            )
        serverless = as_dict(props.get("serverlessComputeSettings"))
        return cls(
            **_resource_fields(payload),
            public_network_access=as_text(props.get("publicNetworkAccess")),
            allow_public_access_when_behind_vnet=as_bool(
                props.get("allowPublicAccessWhenBehindVnet")
            ),
            storage_account=as_text(props.get("storageAccount")),
            container_registry=as_text(props.get("containerRegistry")),
            key_vault=as_text(props.get("keyVault")),
            # An empty string resets the setting to serverless compute, the same as null.
            image_build_compute=as_text(props.get("imageBuildCompute")),
            encryption_status=as_text(as_dict(props.get("encryption")).get("status")),
            managed_network_isolation_mode=as_text(managed.get("isolationMode")),
            managed_outbound_rules=tuple(rules),
            serverless_compute_subnet=as_text(serverless.get("serverlessComputeCustomSubnet")),
            private_endpoint_connections=tuple(_connections(props)),
        )


@dataclass(frozen=True)
class Compute(Resource):
    compute_type: str | None
    subnet_id: str | None
    enable_node_public_ip: bool
    provisioning_state: str | None

    @property
    def is_aml_compute(self) -> bool:
        return (self.compute_type or "").lower() == "amlcompute"

    @classmethod
    def from_arm(cls, payload: Json) -> Compute:
        props = as_dict(payload.get("properties"))
        inner = as_dict(props.get("properties"))
        subnet = inner.get("subnet")
        subnet_id = as_text(as_dict(subnet).get("id")) if isinstance(subnet, Mapping) else None
        public_ip = as_bool(inner.get("enableNodePublicIp"))
        return cls(
            **_resource_fields(payload),
            compute_type=as_text(props.get("computeType")),
            subnet_id=subnet_id,
            # ARM's default for enableNodePublicIp is true.
            enable_node_public_ip=True if public_ip is None else public_ip,
            provisioning_state=as_text(props.get("provisioningState")),
        )


@dataclass(frozen=True)
class BatchEndpoint(Resource):
    auth_mode: str | None
    default_deployment: str | None
    description: str | None
    provisioning_state: str | None

    @property
    def workspace_id(self) -> str:
        return parent_id(self.id)

    @classmethod
    def from_arm(cls, payload: Json) -> BatchEndpoint:
        props = as_dict(payload.get("properties"))
        return cls(
            **_resource_fields(payload),
            auth_mode=as_text(props.get("authMode")),
            default_deployment=as_text(as_dict(props.get("defaults")).get("deploymentName")),
            description=as_text(props.get("description")),
            provisioning_state=as_text(props.get("provisioningState")),
        )


@dataclass(frozen=True)
class BatchDeployment(Resource):
    compute: str | None
    provisioning_state: str | None

    @property
    def endpoint_id(self) -> str:
        return parent_id(self.id)

    @property
    def compute_name(self) -> str | None:
        """Return the cluster name whether `compute` is an ARM id, `azureml:name` or a name."""
        if not self.compute:
            return None
        value = self.compute
        if value.lower().startswith("azureml:"):
            value = value[len("azureml:") :]
        return last_segment(value) or None

    @classmethod
    def from_arm(cls, payload: Json) -> BatchDeployment:
        props = as_dict(payload.get("properties"))
        compute = as_text(props.get("compute"))
        if compute is None:
            # Pipeline component deployments name their cluster in settings.default_compute.
            compute = as_text(as_dict(props.get("settings")).get("default_compute"))
        return cls(
            **_resource_fields(payload),
            compute=compute,
            provisioning_state=as_text(props.get("provisioningState")),
        )


# ---------------------------------------------------------------- dependencies


@dataclass(frozen=True)
class NetworkAclResource(Resource):
    """A resource with `publicNetworkAccess`, `networkAcls` and private endpoint connections."""

    public_network_access: str | None
    network_acls_default_action: str | None
    network_acls_bypass: str | None
    private_endpoint_connections: tuple[PrivateEndpointConnection, ...]

    @classmethod
    def from_arm(cls, payload: Json) -> Self:
        props = as_dict(payload.get("properties"))
        acls = as_dict(props.get("networkAcls"))
        return cls(
            **_resource_fields(payload),
            public_network_access=as_text(props.get("publicNetworkAccess")),
            network_acls_default_action=as_text(acls.get("defaultAction")),
            network_acls_bypass=as_text(acls.get("bypass")),
            private_endpoint_connections=tuple(_connections(props)),
        )


@dataclass(frozen=True)
class StorageAccount(NetworkAclResource):
    pass


@dataclass(frozen=True)
class Registry(Resource):
    sku: str | None
    public_network_access: str | None
    network_rule_set_default_action: str | None
    quarantine_status: str | None
    private_endpoint_connections: tuple[PrivateEndpointConnection, ...]

    @property
    def is_premium(self) -> bool:
        return (self.sku or "").lower() == "premium"

    @classmethod
    def from_arm(cls, payload: Json) -> Registry:
        props = as_dict(payload.get("properties"))
        policies = as_dict(props.get("policies"))
        return cls(
            **_resource_fields(payload),
            sku=as_text(as_dict(payload.get("sku")).get("name")),
            public_network_access=as_text(props.get("publicNetworkAccess")),
            network_rule_set_default_action=as_text(
                as_dict(props.get("networkRuleSet")).get("defaultAction")
            ),
            quarantine_status=as_text(as_dict(policies.get("quarantinePolicy")).get("status")),
            private_endpoint_connections=tuple(_connections(props)),
        )


@dataclass(frozen=True)
class KeyVault(NetworkAclResource):
    pass


@dataclass(frozen=True)
class PrivateLinkServiceConnection:
    """A connection as the private endpoint reports it, with the target and group ids."""

    name: str | None
    private_link_service_id: str | None
    group_ids: tuple[str, ...]
    status: str | None
    manual: bool


@dataclass(frozen=True)
class PrivateDnsZoneGroup:
    id: str
    name: str
    zone_ids: tuple[str, ...]

    @property
    def private_endpoint_id(self) -> str:
        return parent_id(self.id)

    @property
    def zone_names(self) -> tuple[str, ...]:
        return tuple(last_segment(z).lower() for z in self.zone_ids)

    @classmethod
    def from_arm(cls, payload: Json) -> PrivateDnsZoneGroup:
        props = as_dict(payload.get("properties"))
        zone_ids = []
        for config in as_list(props.get("privateDnsZoneConfigs")):
            zone = as_text(as_dict(as_dict(config).get("properties")).get("privateDnsZoneId"))
            if zone:
                zone_ids.append(zone)
        resource_id = as_text(payload.get("id")) or ""
        return cls(
            id=resource_id,
            name=as_text(payload.get("name")) or last_segment(resource_id),
            zone_ids=tuple(zone_ids),
        )


@dataclass(frozen=True)
class PrivateEndpoint(Resource):
    subnet_id: str | None
    connections: tuple[PrivateLinkServiceConnection, ...]
    dns_zone_groups: tuple[PrivateDnsZoneGroup, ...]

    def targets(self, resource_id: str, group_id: str | None = None) -> bool:
        """Return whether a connection of this endpoint points at `resource_id` (and group)."""
        for connection in self.connections:
            if not same_id(connection.private_link_service_id, resource_id):
                continue
            if group_id is None or group_id.lower() in connection.group_ids:
                return True
        return False

    @classmethod
    def from_arm(
        cls, payload: Json, zone_groups: Iterable[PrivateDnsZoneGroup] = ()
    ) -> PrivateEndpoint:
        props = as_dict(payload.get("properties"))
        connections = []
        for key, manual in (
            ("privateLinkServiceConnections", False),
            ("manualPrivateLinkServiceConnections", True),
        ):
            for item in as_list(props.get(key)):
                item = as_dict(item)
                inner = as_dict(item.get("properties"))
                state = as_dict(inner.get("privateLinkServiceConnectionState"))
                connections.append(
                    PrivateLinkServiceConnection(
                        name=as_text(item.get("name")),
                        private_link_service_id=as_text(inner.get("privateLinkServiceId")),
                        group_ids=tuple(
                            g.lower() for g in as_list(inner.get("groupIds")) if isinstance(g, str)
                        ),
                        status=status_of(state.get("status")),
                        manual=manual,
                    )
                )
        # Zone groups are child resources; an exported payload may also nest them.
        nested = [
            PrivateDnsZoneGroup.from_arm(item)
            for item in as_list(props.get("privateDnsZoneGroups"))
            if isinstance(item, Mapping)
        ]
        return cls(
            **_resource_fields(payload),
            subnet_id=as_text(as_dict(props.get("subnet")).get("id")),
            connections=tuple(connections),
            dns_zone_groups=tuple(nested) + tuple(zone_groups),
        )


# ---------------------------------------------------------------- networking


@dataclass(frozen=True)
class SecurityRule:
    name: str
    priority: int
    direction: str
    access: str
    protocol: str
    source_address_prefixes: tuple[str, ...]
    destination_address_prefixes: tuple[str, ...]
    destination_port_ranges: tuple[str, ...]
    is_default: bool = False
    source_port_ranges: tuple[str, ...] = ("*",)

    @classmethod
    def from_arm(cls, payload: Json, is_default: bool = False) -> SecurityRule:
        props = as_dict(payload.get("properties"))

        def many(single: str, plural: str) -> tuple[str, ...]:
            values = [str(v) for v in as_list(props.get(plural)) if v not in (None, "")]
            one = as_text(props.get(single))
            if one is not None:
                values.insert(0, one)
            return tuple(values)

        try:
            priority = int(props.get("priority"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            priority = 65500 if is_default else 4096
        return cls(
            name=as_text(payload.get("name")) or "",
            priority=priority,
            direction=(as_text(props.get("direction")) or "").lower(),
            access=(as_text(props.get("access")) or "").lower(),
            protocol=(as_text(props.get("protocol")) or "*").lower(),
            source_address_prefixes=many("sourceAddressPrefix", "sourceAddressPrefixes"),
            destination_address_prefixes=many(
                "destinationAddressPrefix", "destinationAddressPrefixes"
            ),
            destination_port_ranges=many("destinationPortRange", "destinationPortRanges"),
            is_default=is_default,
            source_port_ranges=many("sourcePortRange", "sourcePortRanges") or ("*",),
        )


@dataclass(frozen=True)
class NetworkSecurityGroup(Resource):
    security_rules: tuple[SecurityRule, ...]

    @classmethod
    def from_arm(cls, payload: Json) -> NetworkSecurityGroup:
        props = as_dict(payload.get("properties"))
        rules = [
            SecurityRule.from_arm(r)
            for r in as_list(props.get("securityRules"))
            if isinstance(r, Mapping)
        ]
        rules += [
            SecurityRule.from_arm(r, is_default=True)
            for r in as_list(props.get("defaultSecurityRules"))
            if isinstance(r, Mapping)
        ]
        return cls(**_resource_fields(payload), security_rules=tuple(rules))


@dataclass(frozen=True)
class Route:
    name: str
    address_prefix: str | None
    next_hop_type: str | None
    next_hop_ip_address: str | None


@dataclass(frozen=True)
class RouteTable(Resource):
    routes: tuple[Route, ...]

    @classmethod
    def from_arm(cls, payload: Json) -> RouteTable:
        props = as_dict(payload.get("properties"))
        routes = []
        for item in as_list(props.get("routes")):
            item = as_dict(item)
            inner = as_dict(item.get("properties"))
            routes.append(
                Route(
                    name=as_text(item.get("name")) or "",
                    address_prefix=as_text(inner.get("addressPrefix")),
                    next_hop_type=as_text(inner.get("nextHopType")),
                    next_hop_ip_address=as_text(inner.get("nextHopIpAddress")),
                )
            )
        return cls(**_resource_fields(payload), routes=tuple(routes))


@dataclass(frozen=True)
class Subnet:
    id: str
    name: str
    address_prefixes: tuple[str, ...]
    network_security_group_id: str | None
    route_table_id: str | None
    nat_gateway_id: str | None
    private_endpoint_network_policies: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        return norm_id(self.id)

    @property
    def virtual_network_id(self) -> str:
        return parent_id(self.id)

    @classmethod
    def from_arm(cls, payload: Json) -> Subnet:
        props = as_dict(payload.get("properties"))
        prefixes = [str(p) for p in as_list(props.get("addressPrefixes"))]
        single = as_text(props.get("addressPrefix"))
        if single:
            prefixes.insert(0, single)
        resource_id = as_text(payload.get("id")) or ""
        return cls(
            id=resource_id,
            name=as_text(payload.get("name")) or last_segment(resource_id),
            address_prefixes=tuple(prefixes),
            network_security_group_id=as_text(as_dict(props.get("networkSecurityGroup")).get("id")),
            route_table_id=as_text(as_dict(props.get("routeTable")).get("id")),
            nat_gateway_id=as_text(as_dict(props.get("natGateway")).get("id")),
            private_endpoint_network_policies=as_text(props.get("privateEndpointNetworkPolicies")),
            raw=dict(payload),
        )


@dataclass(frozen=True)
class VirtualNetwork(Resource):
    subnets: tuple[Subnet, ...]

    @classmethod
    def from_arm(cls, payload: Json) -> VirtualNetwork:
        props = as_dict(payload.get("properties"))
        subnets = [
            Subnet.from_arm(s) for s in as_list(props.get("subnets")) if isinstance(s, Mapping)
        ]
        return cls(**_resource_fields(payload), subnets=tuple(subnets))


# ---------------------------------------------------------------- change history


@dataclass(frozen=True)
class ResourceChangeRecord:
    """One Azure Resource Graph `resourcechanges` row."""

    id: str
    target_resource_id: str
    timestamp: datetime | None
    change_type: str | None
    changes: dict[str, dict[str, Any]]

    def after(self, path: str) -> Any:
        """Return the new value of a property path such as `properties.publicNetworkAccess`."""
        for key, change in self.changes.items():
            if key.lower() == path.lower():
                return as_dict(change).get("newValue")
        return None

    def before(self, path: str) -> Any:
        for key, change in self.changes.items():
            if key.lower() == path.lower():
                return as_dict(change).get("previousValue")
        return None

    @classmethod
    def from_arm(cls, payload: Json) -> ResourceChangeRecord:
        props = as_dict(payload.get("properties"))
        attributes = as_dict(props.get("changeAttributes"))
        return cls(
            id=as_text(payload.get("id")) or "",
            target_resource_id=as_text(props.get("targetResourceId")) or "",
            timestamp=as_datetime(attributes.get("timestamp")),
            change_type=as_text(props.get("changeType")),
            changes={str(k): as_dict(v) for k, v in as_dict(props.get("changes")).items()},
        )
