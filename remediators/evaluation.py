"""Evaluate workspaces of an estate against the rule catalogue."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from remediators.estate.estate import Estate, NetworkHistory, WorkspaceContext, build_context
from remediators.findings import Finding, Severity
from remediators.rules import RuleOptions, run_checks


@dataclass
class Evaluation:
    """The result of checking one workspace."""

    workspace_id: str
    findings: list[Finding]
    exempt: bool = False
    exempt_reason: str | None = None
    # Dependencies the workspace references that could not be read.
    missing: list[str] = field(default_factory=list)
    history_source: str = "unknown"

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace_id": self.workspace_id,
            "exempt": self.exempt,
            "exempt_reason": self.exempt_reason,
            "missing": self.missing,
            "network_history": self.history_source,
            "findings": [f.to_json() for f in self.findings],
        }


def exemption(context: WorkspaceContext, options: RuleOptions) -> str | None:
    """Return why the workspace is exempt from isolation checks, or None."""
    for name, value in context.workspace.tags.items():
        if name.lower() == options.exempt_tag.lower() and value.lower() == options.exempt_value:
            return f"tag {name}={value}"
    return None


def evaluate_context(context: WorkspaceContext, options: RuleOptions | None = None) -> Evaluation:
    options = options or RuleOptions()
    reason = exemption(context, options)
    if reason is not None:
        return Evaluation(
            context.workspace_id, [], exempt=True, exempt_reason=reason, missing=context.missing
        )
    return Evaluation(
        workspace_id=context.workspace_id,
        findings=run_checks(context, options),
        missing=list(context.missing),
        history_source=context.history.source,
    )


def evaluate_workspace(
    estate: Estate,
    workspace_id: str,
    options: RuleOptions | None = None,
    history: NetworkHistory | None = None,
) -> Evaluation:
    """Evaluate one workspace, or raise KeyError when the estate does not contain it.

    Without a recorded `history`, when the workspace became private is taken from the
    estate's Resource Graph change records, else it is unknown.
    """
    from remediators.estate.history import history_from_changes

    history = history or history_from_changes(estate.changes, workspace_id)
    return evaluate_context(build_context(estate, workspace_id, history), options)


def evaluate_estate(
    estate: Estate,
    options: RuleOptions | None = None,
    workspace_ids: Iterable[str] | None = None,
) -> list[Evaluation]:
    ids = list(workspace_ids) if workspace_ids is not None else estate.workspace_ids()
    return [evaluate_workspace(estate, workspace_id, options) for workspace_id in ids]


def worst_severity(evaluations: Iterable[Evaluation]) -> Severity | None:
    severities = [f.severity for e in evaluations for f in e.findings]
    return max(severities, key=lambda s: s.rank) if severities else None


def report_json(evaluations: list[Evaluation]) -> dict[str, Any]:
    """Build the CLI's JSON document: every finding, then per-workspace and summary data."""
    findings = [f.to_json() for e in evaluations for f in e.findings]
    counts = {s.value: 0 for s in Severity}
    for e in evaluations:
        for f in e.findings:
            counts[f.severity.value] += 1
    return {
        "findings": findings,
        "workspaces": [
            {k: v for k, v in e.to_json().items() if k != "findings"} for e in evaluations
        ],
        "summary": {"workspaces": len(evaluations), "findings": len(findings), **counts},
    }
