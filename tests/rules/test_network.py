"""NSG evaluation: priority order, service tags, ports, protocols and prefixes."""

from __future__ import annotations

from remediators.estate.models import NetworkSecurityGroup, SecurityRule
from remediators.rules.network import (
    Party,
    evaluate_flow,
    format_ports,
    parse_port_ranges,
)
from tests.rules.builders import nsg, security_rule

SUBNET = Party.subnet(["10.0.1.0/24"])


def _rules(*custom: dict, defaults: bool = True) -> tuple[SecurityRule, ...]:
    payload = nsg(list(custom))
    if not defaults:
        payload["properties"].pop("defaultSecurityRules")
    return NetworkSecurityGroup.from_arm(payload).security_rules


def _outbound(rules, tag: str, ports=(443, 443), region: str | None = "westeurope", protocol="tcp"):
    return evaluate_flow(
        rules,
        direction="outbound",
        protocol=protocol,
        source=SUBNET,
        destination=Party.service(tag, region),
        ports=ports,
    )


def _deny_all_out() -> dict:
    return security_rule("DenyAllOut", 4000, "Outbound", "Deny", protocol="*")


def test_deny_at_100_beats_allow_at_200():
    rules = _rules(
        security_rule("Deny", 100, "Outbound", "Deny", destination="Storage", ports="443"),
        security_rule("Allow", 200, "Outbound", "Allow", destination="Storage", ports="443"),
    )
    decision = _outbound(rules, "Storage")
    assert decision.blocked == {443}
    assert decision.deciding_rules[443] == "Deny"


def test_allow_at_100_beats_deny_at_200():
    rules = _rules(
        security_rule("Deny", 200, "Outbound", "Deny", destination="Storage", ports="443"),
        security_rule("Allow", 100, "Outbound", "Allow", destination="Storage", ports="443"),
    )
    assert _outbound(rules, "Storage").all_admitted


def test_defaults_allow_internet_outbound():
    assert _outbound(_rules(), "AzureMonitor").all_admitted


def test_defaults_added_when_payload_lacks_them():
    rules = _rules(defaults=False)
    assert _outbound(rules, "AzureMonitor").all_admitted
    inbound = evaluate_flow(
        rules,
        direction="inbound",
        protocol="tcp",
        source=Party.service("BatchNodeManagement", "westeurope"),
        destination=SUBNET,
        ports=(29876, 29877),
    )
    assert inbound.blocked == {29876, 29877}


def test_global_tag_rule_covers_regional_traffic():
    rules = _rules(
        security_rule("Storage", 100, "Outbound", "Allow", destination="Storage", ports="443"),
        _deny_all_out(),
    )
    assert _outbound(rules, "Storage", region="westeurope").all_admitted


def test_regional_tag_rule_covers_its_region():
    rules = _rules(
        security_rule(
            "Se", 100, "Outbound", "Allow", destination="Storage.WestEurope", ports="443"
        ),
        _deny_all_out(),
    )
    assert _outbound(rules, "Storage", region="westeurope").all_admitted


def test_regional_tag_rule_misses_other_region():
    rules = _rules(
        security_rule("Se", 100, "Outbound", "Allow", destination="Storage.eastus", ports="443"),
        _deny_all_out(),
    )
    assert not _outbound(rules, "Storage", region="westeurope").all_admitted


def test_dotted_tag_is_not_a_region():
    rules = _rules(
        security_rule("Fd", 100, "Outbound", "Allow", destination="AzureFrontDoor.FirstParty"),
        _deny_all_out(),
    )
    assert _outbound(rules, "AzureFrontDoor.FirstParty").all_admitted
    assert not _outbound(rules, "AzureFrontDoor").all_admitted


def test_other_tag_does_not_match():
    rules = _rules(
        security_rule("Aml", 100, "Outbound", "Allow", destination="AzureMachineLearning"),
        _deny_all_out(),
    )
    assert not _outbound(rules, "Storage").all_admitted


def test_cidr_does_not_match_a_tag():
    rules = _rules(
        security_rule("Cidr", 100, "Outbound", "Allow", destination="20.0.0.0/8"),
        _deny_all_out(),
    )
    assert not _outbound(rules, "Storage").all_admitted


def test_any_cidr_matches_a_tag():
    rules = _rules(
        security_rule("Any", 100, "Outbound", "Allow", destination="0.0.0.0/0"),
        _deny_all_out(),
    )
    assert _outbound(rules, "Storage").all_admitted


def test_internet_tag_matches_service_tags():
    rules = _rules(
        security_rule("Internet", 100, "Outbound", "Deny", destination="Internet"),
    )
    assert not _outbound(rules, "AzureResourceManager").all_admitted


def test_port_list_admits_listed_ports():
    rules = _rules(
        security_rule("List", 100, "Outbound", "Allow", destination="*", ports=["80", "443"]),
        _deny_all_out(),
    )
    assert _outbound(rules, "Storage").all_admitted
    assert not _outbound(rules, "Storage", ports=(8443, 8443)).all_admitted


def test_partial_range_reports_ports_not_admitted():
    rules = _rules(
        security_rule("Bnm", 100, "Inbound", "Allow", source="BatchNodeManagement", ports="29876"),
        security_rule("DenyIn", 200, "Inbound", "Deny", protocol="*"),
    )
    decision = evaluate_flow(
        rules,
        direction="inbound",
        protocol="tcp",
        source=Party.service("BatchNodeManagement", "westeurope"),
        destination=SUBNET,
        ports=(29876, 29877),
    )
    assert decision.admitted == {29876}
    assert decision.blocked == {29877}


def test_range_covering_required_range_admits_it():
    rules = _rules(
        security_rule("Bnm", 100, "Inbound", "Allow", source="BatchNodeManagement",
                      ports="29000-30000"),
        security_rule("DenyIn", 200, "Inbound", "Deny", protocol="*"),
    )  # fmt: skip
    decision = evaluate_flow(
        rules,
        direction="inbound",
        protocol="tcp",
        source=Party.service("BatchNodeManagement"),
        destination=SUBNET,
        ports=(29876, 29877),
    )
    assert decision.all_admitted


def test_udp_rule_does_not_admit_tcp():
    rules = _rules(
        security_rule("Udp", 100, "Outbound", "Allow", protocol="Udp", destination="Storage"),
        _deny_all_out(),
    )
    assert not _outbound(rules, "Storage").all_admitted
    assert _outbound(rules, "Storage", protocol="udp").all_admitted


def test_icmp_deny_does_not_block_tcp():
    rules = _rules(security_rule("Icmp", 100, "Outbound", "Deny", protocol="Icmp"))
    assert _outbound(rules, "Storage").all_admitted


def test_source_cidr_must_cover_subnet():
    wide = _rules(
        security_rule("Wide", 100, "Outbound", "Allow", source="10.0.0.0/16", destination="*"),
        _deny_all_out(),
    )
    narrow = _rules(
        security_rule("Narrow", 100, "Outbound", "Allow", source="10.0.1.0/25", destination="*"),
        _deny_all_out(),
    )
    assert _outbound(wide, "Storage").all_admitted
    assert not _outbound(narrow, "Storage").all_admitted


def test_allow_limited_to_source_ports_does_not_admit():
    rules = _rules(
        security_rule("Src", 100, "Outbound", "Allow", destination="*", source_ports="1024-2048"),
        _deny_all_out(),
    )
    assert not _outbound(rules, "Storage").all_admitted


def test_parse_port_ranges():
    assert parse_port_ranges(["80", "29876-29877"]) == [(80, 80), (29876, 29877)]
    assert parse_port_ranges(["443", "*"]) is None
    assert parse_port_ranges(["not-a-port"]) == []


def test_format_ports():
    assert format_ports({443, 29876, 29877}) == "443,29876-29877"
    assert format_ports(set()) == ""
