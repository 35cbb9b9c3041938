"""The rule catalogue's checks: small pure functions over a `WorkspaceContext`.

Each check is registered under its rule id with `@check(rule_id)` and yields findings.
Checks never call Azure; everything they judge is in the context.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from remediators.estate.estate import WorkspaceContext
from remediators.findings import RULES, Finding

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleOptions:
    """Organisation settings that change what a rule accepts."""

    # The organisation runs its own DNS, so missing zone groups are reported, not repaired.
    custom_dns: bool = False
    # Azure cloud whose private DNS zone names apply: AzureCloud, AzureUSGovernment or
    # AzureChinaCloud.
    cloud: str = "AzureCloud"
    # Treat serverless image builds injected into a customer subnet as able to reach a private
    # registry (the workspace's serverlessComputeSettings.serverlessComputeCustomSubnet).
    accept_serverless_subnet: bool = True
    # Tag that exempts a workspace from isolation checks when its value is `exempt_value`.
    exempt_tag: str = "network-isolation"
    exempt_value: str = "exempt"


CheckFunction = Callable[[WorkspaceContext, RuleOptions], Iterable[Finding]]

_CHECKS: list[tuple[str, CheckFunction]] = []


def check(rule_id: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function under `rule_id`, which must be in the catalogue."""
    if rule_id not in RULES:
        raise KeyError(f"unknown rule id {rule_id!r}: add it to remediators.findings.RULES first")

    def register(function: CheckFunction) -> CheckFunction:
        _CHECKS.append((rule_id, function))
        return function

    return register


def registered_checks() -> list[tuple[str, CheckFunction]]:
    _load_checks()
    return list(_CHECKS)


def run_checks(context: WorkspaceContext, options: RuleOptions | None = None) -> list[Finding]:
    """Run every registered check on one workspace and return the findings in catalogue order."""
    options = options or RuleOptions()
    findings: list[Finding] = []
    for rule_id, function in registered_checks():
        for finding in function(context, options):
            if finding.rule != rule_id:
                raise AssertionError(
                    f"internal error: check {function.__qualname__} registered for {rule_id} "
                    f"returned a finding for {finding.rule}"
                )
            findings.append(finding)
    order = {rule_id: index for index, rule_id in enumerate(RULES)}
    findings.sort(key=lambda f: (order[f.rule], f.resource_id.lower(), f.key))
    return findings


def _load_checks() -> None:
    # Importing the modules registers their checks.
    from remediators.rules import (  # noqa: F401
        compute,
        endpoints,
        keyvault,
        private_endpoints,
        registry,
        storage,
        workspace,
    )
