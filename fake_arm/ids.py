"""Parse ARM request paths into scopes, resource types and names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArmPath:
    """One ARM path split into its parts; `resource_id` is None for collections."""

    path: str
    subscription: str | None
    resource_group: str | None
    # Full resource type, such as `Microsoft.Network/privateEndpoints/privateDnsZoneGroups`.
    resource_type: str | None
    resource_id: str | None
    # The id the collection hangs under: a resource, a resource group or a subscription.
    parent: str | None

    @property
    def is_collection(self) -> bool:
        return self.resource_id is None and self.resource_type is not None


def parse_path(path: str) -> ArmPath:
    """Split `path` into subscription, resource group, resource type and id.

    Paths that are neither a resource nor a collection (a bare subscription, a resource group)
    come back with `resource_type` None.
    """
    path = "/" + path.strip("/")
    segments = path.strip("/").split("/")
    lower = [s.lower() for s in segments]
    subscription = segments[1] if len(segments) > 1 and lower[0] == "subscriptions" else None
    resource_group = None
    if subscription and len(segments) > 3 and lower[2] == "resourcegroups":
        resource_group = segments[3]
    if "providers" not in lower:
        return ArmPath(path, subscription, resource_group, None, None, None)

    start = lower.index("providers")
    scope = "/" + "/".join(segments[:start])
    provider = segments[start + 1 :]
    if len(provider) < 2:
        return ArmPath(path, subscription, resource_group, None, None, None)
    namespace, rest = provider[0], provider[1:]
    type_names = rest[0::2]
    resource_type = namespace + "/" + "/".join(type_names)
    if len(rest) % 2 == 0:
        parent = parent_of(path) if len(rest) > 2 else scope
        return ArmPath(path, subscription, resource_group, resource_type, path, parent)
    parent = path.rsplit("/", 1)[0]
    if len(rest) == 1:
        parent = scope
    return ArmPath(path, subscription, resource_group, resource_type, None, parent)


def parent_of(resource_id: str) -> str:
    """Return the id of the resource that contains `resource_id` (two segments up)."""
    return resource_id.rstrip("/").rsplit("/", 2)[0]


def type_of_id(resource_id: str) -> str | None:
    return parse_path(resource_id).resource_type


def norm(resource_id: str) -> str:
    return "/" + resource_id.strip("/").lower()
