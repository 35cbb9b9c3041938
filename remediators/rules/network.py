"""Evaluate NSG security rules and route tables the way Azure applies them.

An NSG decides each flow by its rules in ascending priority, custom and default rules
together, and the first rule that matches the flow allows or denies it. The functions here
compute, port by port, which ports of a required range an NSG admits.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from remediators.estate.models import Route, RouteTable, SecurityRule

# Azure adds these rules to every NSG; payloads that omit them (hand-written estates, some
# Resource Graph projections) are evaluated with them.
DEFAULT_RULES: tuple[SecurityRule, ...] = (
    SecurityRule("AllowVnetInBound", 65000, "inbound", "allow", "*",
                 ("VirtualNetwork",), ("VirtualNetwork",), ("*",), True),
    SecurityRule("AllowAzureLoadBalancerInBound", 65001, "inbound", "allow", "*",
                 ("AzureLoadBalancer",), ("*",), ("*",), True),
    SecurityRule("DenyAllInBound", 65500, "inbound", "deny", "*", ("*",), ("*",), ("*",), True),
    SecurityRule("AllowVnetOutBound", 65000, "outbound", "allow", "*",
                 ("VirtualNetwork",), ("VirtualNetwork",), ("*",), True),
    SecurityRule("AllowInternetOutBound", 65001, "outbound", "allow", "*",
                 ("*",), ("Internet",), ("*",), True),
    SecurityRule("DenyAllOutBound", 65500, "outbound", "deny", "*", ("*",), ("*",), ("*",), True),
)  # fmt: skip

_ANY = {"*", "0.0.0.0/0", "any"}
# Tags whose address space contains every Azure service's public addresses.
_PUBLIC_SUPERSETS = {"internet", "azurecloud"}


@dataclass(frozen=True)
class Party:
    """One side of a flow: the cluster subnet, or a service tag (optionally regional)."""

    # For a subnet: its CIDR prefixes; a subnet is always inside the VirtualNetwork tag.
    prefixes: tuple[str, ...] = ()
    # For a service: the tag's name without region, and the region the traffic goes to.
    tag: str | None = None
    region: str | None = None

    @classmethod
    def subnet(cls, prefixes: Iterable[str]) -> Party:
        return cls(prefixes=tuple(prefixes))

    @classmethod
    def service(cls, tag: str, region: str | None = None) -> Party:
        return cls(tag=tag, region=normalise_region(region))

    def matched_by(self, prefix: str) -> bool:
        """Return whether a rule's address prefix (tag, CIDR or `*`) covers this party."""
        text = prefix.strip().lower()
        if text in _ANY:
            return True
        if self.tag is not None:
            return self._tag_matched_by(text)
        return self._subnet_matched_by(text)

    def _tag_matched_by(self, text: str) -> bool:
        base = (self.tag or "").lower()
        regional = f"{base}.{self.region}" if self.region else None
        if text == base or (regional is not None and text == regional):
            return True
        # NOTE: AzureCloud and Internet are treated as containing every Azure service tag;
        # this holds for the public service tags that clusters need.
        superset, _, region = text.partition(".")
        if superset in _PUBLIC_SUPERSETS:
            return not region or region == (self.region or "")
        return False

    def _subnet_matched_by(self, text: str) -> bool:
        if text == "virtualnetwork":
            return True
        try:
            rule_network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return False
        networks = []
        for prefix in self.prefixes:
            try:
                networks.append(ipaddress.ip_network(prefix, strict=False))
            except ValueError:
                continue
        if not networks:
            return False
        # The rule must cover every address of the subnet to decide for all its nodes.
        return all(
            network.version == rule_network.version and network.subnet_of(rule_network)  # type: ignore[arg-type]
            for network in networks
        )


def normalise_region(region: str | None) -> str | None:
    if not region:
        return None
    return region.replace(" ", "").lower() or None


def parse_port_ranges(values: Sequence[str]) -> list[tuple[int, int]] | None:
    """Parse NSG port ranges ("443", "29876-29877", "*"); None means every port."""
    ranges: list[tuple[int, int]] = []
    for value in values:
        for part in str(value).split(","):
            text = part.strip()
            if not text:
                continue
            if text == "*":
                return None
            low, _, high = text.partition("-")
            try:
                ranges.append((int(low), int(high or low)))
            except ValueError:
                continue
    return ranges


def _ports_of(rule: SecurityRule, wanted: set[int]) -> set[int]:
    ranges = parse_port_ranges(rule.destination_port_ranges or ("*",))
    if ranges is None:
        return set(wanted)
    return {p for p in wanted if any(low <= p <= high for low, high in ranges)}


def _protocol_matches(rule_protocol: str, protocol: str) -> bool:
    return rule_protocol in ("*", "any") or rule_protocol == protocol.lower()


@dataclass(frozen=True)
class PortDecision:
    """The admitted and blocked ports of a flow, with the rule that decided each port."""

    admitted: frozenset[int]
    blocked: frozenset[int]
    deciding_rules: dict[int, str] = field(default_factory=dict)

    @property
    def all_admitted(self) -> bool:
        return not self.blocked


def effective_rules(rules: Iterable[SecurityRule]) -> list[SecurityRule]:
    """Return the rules in evaluation order, adding Azure's defaults when the payload lacks them."""
    ordered = list(rules)
    if not any(r.is_default for r in ordered):
        ordered += DEFAULT_RULES
    # Custom rules use priorities 100-4096 and defaults 65000+, so sorting keeps Azure's order.
    return sorted(ordered, key=lambda r: (r.priority, r.is_default))


def evaluate_flow(
    rules: Iterable[SecurityRule],
    *,
    direction: str,
    protocol: str,
    source: Party,
    destination: Party,
    ports: tuple[int, int],
) -> PortDecision:
    """Decide, for every destination port in `ports`, whether the NSG admits the flow."""
    undecided = set(range(ports[0], ports[1] + 1))
    admitted: set[int] = set()
    deciding: dict[int, str] = {}
    for rule in effective_rules(rules):
        if not undecided:
            break
        if rule.direction != direction.lower() or not _protocol_matches(rule.protocol, protocol):
            continue
        if not _any_prefix(rule.source_address_prefixes, source):
            continue
        if not _any_prefix(rule.destination_address_prefixes, destination):
            continue
        allows = rule.access == "allow"
        if allows and not _all_source_ports(rule):
            # An allow rule limited to some source ports admits only part of the traffic.
            continue
        hit = _ports_of(rule, undecided)
        for port in hit:
            deciding[port] = rule.name
        if allows:
            admitted |= hit
        undecided -= hit
    blocked = set(range(ports[0], ports[1] + 1)) - admitted
    return PortDecision(frozenset(admitted), frozenset(blocked), deciding)


def _any_prefix(prefixes: Sequence[str], party: Party) -> bool:
    return any(party.matched_by(p) for p in (prefixes or ("*",)))


def _all_source_ports(rule: SecurityRule) -> bool:
    return parse_port_ranges(rule.source_port_ranges or ("*",)) is None


def format_ports(ports: Iterable[int]) -> str:
    """Render ports as compact ranges: {29876, 29877, 443} -> "443,29876-29877"."""
    ordered = sorted(set(ports))
    parts: list[str] = []
    start = previous = None
    for port in ordered:
        if start is None:
            start = previous = port
        elif previous is not None and port == previous + 1:
            previous = port
        else:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
            start = previous = port
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}-{previous}")
    return ",".join(parts)


# ---------------------------------------------------------------- routes


def default_route_to_appliance(table: RouteTable | None) -> Route | None:
    """Return the route sending 0.0.0.0/0 to a virtual appliance, if the table has one."""
    if table is None:
        return None
    for route in table.routes:
        if (route.address_prefix or "").strip() == "0.0.0.0/0" and (
            (route.next_hop_type or "").lower() == "virtualappliance"
        ):
            return route
    return None


def has_internet_route_for_tag(table: RouteTable, tag: str, region: str | None) -> bool:
    """Return whether the table routes `tag` (or `tag.<region>`) to next hop Internet."""
    wanted = {tag.lower()}
    region = normalise_region(region)
    if region:
        wanted.add(f"{tag.lower()}.{region}")
    for route in table.routes:
        prefix = (route.address_prefix or "").strip().lower()
        if prefix in wanted and (route.next_hop_type or "").lower() == "internet":
            return True
    return False
