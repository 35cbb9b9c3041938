"""Build the self-contained HTML report of one run: a diagram and a findings table per workspace.

The page has inline CSS and inline SVG only: no scripts, fonts, images or style sheets are
loaded from anywhere, so it opens offline and can be attached to a ticket. Every piece of
text that comes from Azure (names, ids, messages) is HTML-escaped, because resource names
and tags may contain markup.

Each workspace gets a diagram of its dependency chain. It shows the workspace, its storage
account with the four groups batch jobs need (blob, file, queue, table), its container
registry and key vault. It also shows its batch endpoints, their deployments, the clusters
those run on and the clusters' subnets. A box is coloured by the worst severity of the
findings on its resource and lists their rule ids.
"""

from __future__ import annotations

import argparse
import html
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from remediators.estate.estate import Estate, WorkspaceContext, build_context
from remediators.estate.models import Compute, norm_id
from remediators.evaluation import Evaluation, evaluate_context
from remediators.findings import RULES, Finding, Severity
from remediators.rules import RuleOptions

logger = logging.getLogger(__name__)

STORAGE_GROUPS = ("blob", "file", "queue", "table")

# Box states beyond the three severities.
OK = "ok"
EXEMPT = "exempt"
MISSING = "missing"

# (stroke, fill) per box state.
COLOURS = {
    Severity.ERROR.value: ("#c62828", "#fdecea"),
    Severity.WARNING.value: ("#c77700", "#fff3df"),
    Severity.INFO.value: ("#1565c0", "#e6f0fc"),
    OK: ("#2e7d32", "#e9f5ea"),
    EXEMPT: ("#6b6b6b", "#eeeeee"),
    MISSING: ("#8a8a8a", "#ffffff"),
}

# Diagram geometry in SVG user units (pixels at 100 % zoom).
MARGIN = 16
BOX_WIDTH = 220
COLUMN_GAP = 52
ROW_GAP = 14
HEADER_HEIGHT = 40
LINE_HEIGHT = 16
GROUP_HEIGHT = 22
PADDING = 8
NAME_CHARS = 27
RULE_CHARS = 30


@dataclass
class Box:
    """One resource in the diagram, with the findings drawn on it."""

    kind: str
    name: str
    resource_id: str | None
    findings: list[Finding] = field(default_factory=list)
    # Text shown instead of rule ids when the resource is absent or not configured.
    note: str | None = None
    groups: list[Box] = field(default_factory=list)
    x: float = 0
    y: float = 0

    @property
    def key(self) -> str:
        return norm_id(self.resource_id) if self.resource_id else ""

    def rule_lines(self) -> list[tuple[Severity, str]]:
        """Return each rule id once with its worst severity, worst first, with a count."""
        worst: dict[str, Severity] = {}
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
            if finding.rule not in worst or finding.severity > worst[finding.rule]:
                worst[finding.rule] = finding.severity
        lines = []
        for rule, severity in worst.items():
            label = rule if counts[rule] == 1 else f"{rule} ×{counts[rule]}"
            lines.append((severity, label))
        return sorted(lines, key=lambda line: -line[0].rank)

    @property
    def height(self) -> float:
        rows = len(self.rule_lines()) + (1 if self.note else 0)
        height = HEADER_HEIGHT + rows * LINE_HEIGHT + PADDING
        if self.groups:
            height += len(self.groups) * (GROUP_HEIGHT + 4) + 4
        return height


@dataclass
class Diagram:
    """The boxes of one workspace in columns, and the edges from each box to a dependency."""

    columns: list[list[Box]]
    edges: list[tuple[Box, Box]]
    exempt: bool

    def boxes(self) -> list[Box]:
        every = []
        for column in self.columns:
            for box in column:
                every.append(box)
                every.extend(box.groups)
        return every


# ---------------------------------------------------------------- building the diagram


def _dependency_box(kind: str, resource_id: str | None, resource_name: str | None) -> Box:
    if resource_name is not None:
        return Box(kind, resource_name, resource_id)
    if resource_id is None:
        return Box(kind, f"no {kind}", None, note="not configured on the workspace")
    return Box(kind, resource_id.rstrip("/").rsplit("/", 1)[-1], resource_id, note="not found")


def build_diagram(context: WorkspaceContext, evaluation: Evaluation) -> Diagram:
    """Lay out the dependency chain of one workspace and attach its findings to the boxes."""
    workspace = Box("workspace", context.workspace.name, context.workspace.id)
    storage = context.storage_account
    storage_box = _dependency_box(
        "storage account",
        context.workspace.storage_account,
        storage.name if storage else None,
    )
    if storage is not None:
        storage_box.groups = [
            Box(f"{group} group", group, f"{storage.id}#{group}") for group in STORAGE_GROUPS
        ]
    registry = context.registry
    registry_box = _dependency_box(
        "container registry",
        context.workspace.container_registry,
        registry.name if registry else None,
    )
    vault = context.key_vault
    vault_box = _dependency_box(
        "key vault", context.workspace.key_vault, vault.name if vault else None
    )

    edges: list[tuple[Box, Box]] = [
        (workspace, storage_box),
        (workspace, registry_box),
        (workspace, vault_box),
    ]
    endpoint_boxes, deployment_boxes, cluster_boxes, subnet_boxes = _batch_chain(
        context, workspace, edges
    )
    diagram = Diagram(
        columns=[
            [workspace],
            [storage_box, registry_box, vault_box, *endpoint_boxes],
            deployment_boxes,
            cluster_boxes,
            subnet_boxes,
        ],
        edges=edges,
        exempt=evaluation.exempt,
    )
    attach_findings(diagram, evaluation.findings, context)
    _place(diagram)
    return diagram


def _batch_chain(
    context: WorkspaceContext, workspace: Box, edges: list[tuple[Box, Box]]
) -> tuple[list[Box], list[Box], list[Box], list[Box]]:
    """Build endpoint, deployment, cluster and subnet boxes, ordered to limit crossing lines."""
    clusters: dict[str, Box] = {}

    def cluster_box(name: str) -> Box:
        key = name.lower()
        if key not in clusters:
            compute = context.compute_by_name(name)
            if compute is None:
                clusters[key] = Box("compute cluster", name, None, note="not found")
            else:
                clusters[key] = Box("compute cluster", compute.name, compute.id)
        return clusters[key]

    endpoint_boxes: list[Box] = []
    deployment_boxes: list[Box] = []
    for endpoint in context.endpoints:
        endpoint_box = Box("batch endpoint", endpoint.name, endpoint.id)
        endpoint_boxes.append(endpoint_box)
        edges.append((workspace, endpoint_box))
        for deployment in context.deployments_of(endpoint):
            deployment_box = Box("batch deployment", deployment.name, deployment.id)
            deployment_boxes.append(deployment_box)
            edges.append((endpoint_box, deployment_box))
            if deployment.compute_name:
                edges.append((deployment_box, cluster_box(deployment.compute_name)))
            else:
                deployment_box.note = "no compute cluster named"
    # Clusters no deployment uses are still judged by the compute rules.
    for compute in context.computes:
        if compute.is_aml_compute:
            cluster_box(compute.name)

    subnets: dict[str, Box] = {}
    for key, box in clusters.items():
        cluster = context.compute_by_name(key)
        if cluster is not None:
            edges.append((box, _subnet_box(cluster, context, subnets)))
    return endpoint_boxes, deployment_boxes, list(clusters.values()), list(subnets.values())


def _subnet_box(cluster: Compute, context: WorkspaceContext, subnets: dict[str, Box]) -> Box:
    """Return the box of the cluster's subnet, shared by clusters in the same subnet."""
    if cluster.subnet_id is None:
        key = f"none:{cluster.key}"
        subnets[key] = Box("subnet", "no subnet", None, note="not in a virtual network")
        return subnets[key]
    key = norm_id(cluster.subnet_id)
    if key not in subnets:
        known = context.subnets.get(key)
        if known is not None:
            subnets[key] = Box("subnet", known.name, cluster.subnet_id)
        else:
            name = cluster.subnet_id.rstrip("/").rsplit("/", 1)[-1]
            subnets[key] = Box("subnet", name, cluster.subnet_id, note="not found")
    return subnets[key]


def attach_findings(
    diagram: Diagram, findings: Iterable[Finding], context: WorkspaceContext
) -> list[Finding]:
    """Put each finding on the box of its resource; return the findings no box matched.

    Private endpoint findings go on the box of the endpoint's target, and on the storage
    group box when the endpoint serves one. Compute findings about the network path also
    go on the subnet they name, because that is where the fix is made. A finding no box
    matches goes on the workspace box, so every finding is visible in the diagram.
    """
    boxes = {box.key: box for box in diagram.boxes() if box.key}
    workspace = diagram.columns[0][0]
    unmatched = []
    for finding in findings:
        placed = _place_finding(finding, boxes, context)
        if not placed:
            workspace.findings.append(finding)
            unmatched.append(finding)
    return unmatched


def _place_finding(finding: Finding, boxes: dict[str, Box], context: WorkspaceContext) -> bool:
    resource = norm_id(finding.resource_id)
    details = finding.details
    target = details.get("target_id")
    if isinstance(target, str) and norm_id(target) in boxes:
        box = boxes[norm_id(target)]
        box.findings.append(finding)
        for served in _endpoint_groups(finding, context):
            group_box = boxes.get(f"{box.key}#{served}")
            if group_box is not None:
                group_box.findings.append(finding)
        return True
    if resource not in boxes:
        return False
    boxes[resource].findings.append(finding)
    group_id = details.get("group_id")
    if isinstance(group_id, str) and f"{resource}#{group_id.lower()}" in boxes:
        boxes[f"{resource}#{group_id.lower()}"].findings.append(finding)
    subnet = details.get("subnet_id")
    if isinstance(subnet, str) and norm_id(subnet) in boxes:
        boxes[norm_id(subnet)].findings.append(finding)
    return True


def _endpoint_groups(finding: Finding, context: WorkspaceContext) -> list[str]:
    """Return the storage groups the private endpoint of a finding serves."""
    endpoint_id = finding.details.get("private_endpoint_id") or finding.resource_id
    endpoint = context.private_endpoint(endpoint_id if isinstance(endpoint_id, str) else None)
    if endpoint is None:
        return []
    return [group for link in endpoint.connections for group in link.group_ids]


def box_state(box: Box, exempt: bool) -> str:
    """Return the colour key of a box: its worst severity, ok, exempt or missing."""
    if exempt:
        return EXEMPT
    if box.findings:
        return max((f.severity for f in box.findings), key=lambda s: s.rank).value
    if box.note is not None:
        return MISSING
    return OK


def _place(diagram: Diagram) -> None:
    """Set box positions: columns left to right, the batch chain aligned with its endpoints."""
    dependencies = diagram.columns[1][:3]
    chain_top = MARGIN + sum(box.height + ROW_GAP for box in dependencies)
    for index, column in enumerate(diagram.columns):
        x = MARGIN + index * (BOX_WIDTH + COLUMN_GAP)
        y: float = MARGIN if index <= 1 else chain_top
        for box in column:
            box.x, box.y = x, y
            group_y = y + HEADER_HEIGHT + len(box.rule_lines()) * LINE_HEIGHT
            group_y += LINE_HEIGHT if box.note else 0
            for group in box.groups:
                group.x, group.y = x + PADDING, group_y
                group_y += GROUP_HEIGHT + 4
            y += box.height + ROW_GAP


# ---------------------------------------------------------------- SVG


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def render_diagram(diagram: Diagram) -> str:
    """Render a laid-out diagram as an inline SVG element."""
    boxes = [box for column in diagram.columns for box in column]
    width = MARGIN * 2 + len(diagram.columns) * BOX_WIDTH + (len(diagram.columns) - 1) * COLUMN_GAP
    height = max(box.y + box.height for box in boxes) + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" width="{width}" '
        f'height="{height:.0f}" viewBox="0 0 {width} {height:.0f}" role="img">'
    ]
    for parent, child in diagram.edges:
        parts.append(_edge(parent, child))
    for box in boxes:
        parts.append(_box(box, diagram.exempt))
    parts.append("</svg>")
    return "\n".join(parts)


def _edge(parent: Box, child: Box) -> str:
    x1, y1 = parent.x + BOX_WIDTH, parent.y + HEADER_HEIGHT / 2
    x2, y2 = child.x, child.y + HEADER_HEIGHT / 2
    middle = (x1 + x2) / 2
    return (
        f'<path class="edge" d="M{x1:.0f},{y1:.0f} C{middle:.0f},{y1:.0f} '
        f'{middle:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" />'
    )


def _box(box: Box, exempt: bool) -> str:
    state = box_state(box, exempt)
    stroke, fill = COLOURS[state]
    dashed = ' stroke-dasharray="5 3"' if state == MISSING else ""
    x, y = box.x, box.y
    parts = [
        f'<g class="box state-{state}" data-resource="{_e(box.resource_id or "")}">',
        f"<title>{_e(box.resource_id or box.name)}</title>",
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_WIDTH}" height="{box.height:.0f}" rx="6" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="2"{dashed} />',
        f'<text class="kind" x="{x + PADDING:.0f}" y="{y + 15:.0f}">{_e(box.kind)}</text>',
        f'<text class="state" x="{x + BOX_WIDTH - PADDING:.0f}" y="{y + 15:.0f}" '
        f'fill="{stroke}" text-anchor="end">{_e(state.upper())}</text>',
        f'<text class="name" x="{x + PADDING:.0f}" y="{y + 32:.0f}">'
        f"{_e(_shorten(box.name, NAME_CHARS))}</text>",
    ]
    line_y = y + HEADER_HEIGHT + 12
    if box.note:
        parts.append(
            f'<text class="note" x="{x + PADDING:.0f}" y="{line_y:.0f}">{_e(box.note)}</text>'
        )
        line_y += LINE_HEIGHT
    for severity, label in box.rule_lines():
        colour = COLOURS[EXEMPT if exempt else severity.value][0]
        parts.append(
            f'<circle cx="{x + PADDING + 4:.0f}" cy="{line_y - 4:.0f}" r="4" fill="{colour}" />'
        )
        parts.append(
            f'<text class="rule" x="{x + PADDING + 13:.0f}" y="{line_y:.0f}">'
            f"{_e(_shorten(label, RULE_CHARS))}</text>"
        )
        line_y += LINE_HEIGHT
    for group in box.groups:
        parts.append(_group(group, exempt))
    parts.append("</g>")
    return "".join(parts)


def _group(group: Box, exempt: bool) -> str:
    state = box_state(group, exempt)
    stroke, fill = COLOURS[state]
    width = BOX_WIDTH - 2 * PADDING
    rules = ", ".join(label for _, label in group.rule_lines()) or state
    return (
        f'<g class="group state-{state}" data-resource="{_e(group.resource_id or "")}">'
        f'<rect x="{group.x:.0f}" y="{group.y:.0f}" width="{width}" height="{GROUP_HEIGHT}" '
        f'rx="4" fill="{fill}" stroke="{stroke}" stroke-width="1.5" />'
        f'<text class="group-name" x="{group.x + 6:.0f}" y="{group.y + 15:.0f}">'
        f"{_e(group.name)}</text>"
        f'<text class="group-rule" x="{group.x + 50:.0f}" y="{group.y + 15:.0f}">'
        f"{_e(_shorten(rules, RULE_CHARS - 3))}</text></g>"
    )


# ---------------------------------------------------------------- HTML page

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  margin: 16px; color: #1f1f1f; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 4px; }
.meta, .id { color: #555; font-size: 13px; }
.id { font-family: ui-monospace, Consolas, monospace; word-break: break-all; }
.summary span, .legend span, .badge { display: inline-block; padding: 2px 8px; margin-right: 6px;
  border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid; }
.legend { margin: 8px 0 12px; font-size: 12px; }
.diagram { background: #ffffff; border: 1px solid #ddd; border-radius: 6px; max-width: 100%;
  height: auto; }
.diagram text { font-size: 12px; fill: #1f1f1f; }
.diagram .kind { font-size: 10px; fill: #555; text-transform: uppercase; letter-spacing: .04em; }
.diagram .state { font-size: 10px; font-weight: 700; }
.diagram .name { font-size: 13px; font-weight: 600; }
.diagram .note { font-style: italic; fill: #555; }
.diagram .rule { font-family: ui-monospace, Consolas, monospace; font-size: 11px; }
.diagram .group-name { font-weight: 600; font-size: 11px; }
.diagram .group-rule { font-family: ui-monospace, Consolas, monospace; font-size: 10px; }
.diagram .edge { fill: none; stroke: #9aa3ad; stroke-width: 1.5; }
table { border-collapse: collapse; width: 100%; margin-top: 12px; background: #fff;
  font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 6px 8px; vertical-align: top; text-align: left; }
th { background: #f0f0f0; }
td.rule, td.action { font-family: ui-monospace, Consolas, monospace; white-space: nowrap; }
td.message { white-space: pre-wrap; }
.exempt { background: #eeeeee; border: 1px solid #ccc; padding: 6px 10px; border-radius: 6px; }
"""


def _badge(state: str, label: str | None = None) -> str:
    stroke, fill = COLOURS[state]
    return (
        f'<span class="badge" style="color:{stroke};background:{fill};border-color:{stroke}">'
        f"{_e(label or state)}</span>"
    )


def _legend() -> str:
    labels = {
        Severity.ERROR.value: "error",
        Severity.WARNING.value: "warning",
        Severity.INFO.value: "info",
        OK: "ok: no findings",
        EXEMPT: "exempt",
        MISSING: "not found or not configured",
    }
    spans = []
    for state, label in labels.items():
        stroke, fill = COLOURS[state]
        style = f"color:{stroke};background:{fill};border-color:{stroke}"
        if state == MISSING:
            style += ";border-style:dashed"
        spans.append(f'<span style="{style}">{_e(label)}</span>')
    return '<div class="legend">Box colour is the worst finding on the resource: ' + (
        "".join(spans) + "</div>"
    )


def _docs_link(finding: Finding) -> str:
    docs = finding.details.get("docs")
    if not isinstance(docs, str):
        entry = RULES.get(finding.rule)
        docs = entry.docs if entry else ""
    # Only https links are written, so a docs value such as javascript:... never becomes a link.
    if not docs.startswith("https://"):
        return ""
    return f'<a href="{_e(docs)}">docs</a>'


def _short_resource(resource_id: str) -> str:
    parts = resource_id.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else resource_id


def render_findings_table(findings: Sequence[Finding]) -> str:
    """Render findings as an HTML table, worst severity first."""
    if not findings:
        return "<p>No findings.</p>"
    rows = []
    for finding in sorted(findings, key=lambda f: -f.severity.rank):
        subject = finding.details.get("group_id") or ""
        resource = _e(_short_resource(finding.resource_id))
        if subject:
            resource += f" ({_e(subject)})"
        rows.append(
            "<tr>"
            f"<td>{_badge(finding.severity.value)}</td>"
            f'<td class="rule">{_e(finding.rule)}</td>'
            f'<td title="{_e(finding.resource_id)}">{resource}</td>'
            f'<td class="message">{_e(finding.message)}</td>'
            f'<td class="action">{_e(finding.action.value)}</td>'
            f"<td>{_docs_link(finding)}</td>"
            "</tr>"
        )
    header = (
        "<tr><th>severity</th><th>rule</th><th>resource</th><th>message</th>"
        "<th>action</th><th>docs</th></tr>"
    )
    return f'<table class="findings">{header}{"".join(rows)}</table>'


def _workspace_section(evaluation: Evaluation, context: WorkspaceContext | None) -> str:
    name = evaluation.workspace_id.rstrip("/").rsplit("/", 1)[-1]
    parts = [
        f'<section class="workspace" id="{_e(norm_id(evaluation.workspace_id))}">',
        f"<h2>{_e(name)}</h2>",
        f'<div class="id">{_e(evaluation.workspace_id)}</div>',
    ]
    if evaluation.exempt:
        parts.append(
            f'<p class="exempt">Exempt from isolation checks ({_e(evaluation.exempt_reason)}): '
            "the diagram is grey and no rule was evaluated.</p>"
        )
    else:
        parts.append(
            f'<p class="meta">When the workspace became private is taken from: '
            f"{_e(evaluation.history_source)}.</p>"
        )
    if evaluation.missing:
        missing = ", ".join(_e(resource_id) for resource_id in evaluation.missing)
        parts.append(f'<p class="meta">Referenced but not found: {missing}</p>')
    if context is None:
        parts.append('<p class="meta">No diagram: the workspace context is not available.</p>')
    else:
        parts.append(render_diagram(build_diagram(context, evaluation)))
    if not evaluation.exempt:
        parts.append(render_findings_table(evaluation.findings))
    parts.append("</section>")
    return "\n".join(parts)


def _summary(evaluations: Sequence[Evaluation]) -> str:
    counts = {severity: 0 for severity in Severity}
    for evaluation in evaluations:
        for finding in evaluation.findings:
            counts[finding.severity] += 1
    exempt = sum(1 for e in evaluations if e.exempt)
    badges = "".join(
        _badge(severity.value, f"{severity.value} {counts[severity]}")
        for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)
    )
    return (
        f'<p class="summary">{len(evaluations)} workspaces ({exempt} exempt), '
        f"{sum(counts.values())} findings: {badges}</p>"
    )


def render_report(
    evaluations: Sequence[Evaluation],
    contexts: Iterable[WorkspaceContext],
    *,
    source: str | None = None,
    generated_at: datetime | None = None,
) -> str:
    """Render one self-contained HTML page for the evaluations of one run.

    `contexts` supplies the dependency chain of each workspace, matched by workspace id;
    a workspace without a context gets its findings table and no diagram.
    """
    by_id = {norm_id(c.workspace_id): c for c in contexts}
    stamp = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    meta = f"Generated {_e(stamp)}"
    if source:
        meta += f" from {_e(source)}"
    sections = [_workspace_section(e, by_id.get(norm_id(e.workspace_id))) for e in evaluations]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>Batch endpoint network isolation report</title>",
            f"<style>{_CSS}</style></head><body>",
            "<h1>Batch endpoint network isolation report</h1>",
            f'<div class="meta">{meta}</div>',
            _summary(evaluations),
            _legend(),
            *sections,
            "</body></html>",
        ]
    )


# ---------------------------------------------------------------- evaluation and entry point


def evaluate_for_report(
    estate: Estate,
    workspace_ids: Iterable[str] | None = None,
    options: RuleOptions | None = None,
) -> tuple[list[Evaluation], list[WorkspaceContext]]:
    """Evaluate workspaces of an estate and keep the context each evaluation judged."""
    from remediators.estate.history import history_from_changes

    ids = list(workspace_ids) if workspace_ids is not None else estate.workspace_ids()
    evaluations, contexts = [], []
    for workspace_id in ids:
        history = history_from_changes(estate.changes, workspace_id)
        context = build_context(estate, workspace_id, history)
        contexts.append(context)
        evaluations.append(evaluate_context(context, options))
    return evaluations, contexts


def write_report(path: str | Path, page: str) -> None:
    Path(path).write_text(page, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Write the HTML report of an estate file; exit 2 when the file is not valid."""
    from remediators.estate.file import EstateFileError, load_estate

    parser = argparse.ArgumentParser(
        prog="python -m remediators.report", description="Write the HTML report of an estate."
    )
    parser.add_argument("--estate", metavar="FILE", required=True, help="offline estate file")
    parser.add_argument("-o", "--output", metavar="FILE", required=True, help="HTML file to write")
    args = parser.parse_args(argv)
    try:
        estate = load_estate(args.estate)
    except EstateFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    evaluations, contexts = evaluate_for_report(estate)
    write_report(args.output, render_report(evaluations, contexts, source=args.estate))
    logger.info("wrote the report of %d workspaces to %s", len(evaluations), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
