"""Render CLI results as a table for people, as Markdown, or as one JSON object."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from remediators.evaluation import Evaluation
from remediators.findings import Finding, Severity

if TYPE_CHECKING:
    from remediators.lint import LintResult, SkippedDocument

FORMATS = ("table", "json", "markdown")

# Columns by which the lines of a stacked finding are indented under its number.
_STACK_INDENT = 3
# A width larger than any table, to measure the width a table needs without a console limit.
_UNBOUNDED_WIDTH = 10_000

_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def counted(count: int, noun: str) -> str:
    """Return `count` and `noun`, with an `s` added unless the count is one: `1 finding`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def short_resource(resource_id: str) -> str:
    """Shorten an ARM id to its last type and name, such as `storageAccounts/stcontosobatch`."""
    if not resource_id.lower().startswith("/subscriptions/"):
        return resource_id
    segments = resource_id.rstrip("/").split("/")
    return "/".join(segments[-2:])


def subject_of(finding: Finding) -> str:
    """Return what a finding is about within its resource: a group id, zones, tags or keys."""
    details = finding.details
    for key in ("group_id", "missing_zones", "blocked", "missing_tags", "keys", "subject"):
        value = details.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value:
            text = str(value)
            return short_resource(text) if text.startswith("/subscriptions/") else text
    return ""


def write_json(document: Mapping[str, Any], stream: TextIO) -> None:
    json.dump(document, stream, indent=2, sort_keys=False, default=str)
    stream.write("\n")


def console_for(stream: TextIO) -> Console:
    # A wide console keeps messages on one line when the output is a file or a pipe.
    return Console(file=stream, width=None if stream.isatty() else 160, highlight=False)


def write_findings_table(
    evaluations: Iterable[Evaluation], stream: TextIO, title: str = "Findings"
) -> None:
    print_findings(evaluations, console_for(stream), title)


def print_findings(
    evaluations: Iterable[Evaluation], console: Console, title: str = "Findings"
) -> None:
    """Print each workspace's findings as a table, or as a stacked list when the table is wider
    than the console, so that no column is truncated."""
    evaluations = list(evaluations)
    for evaluation in evaluations:
        console.print(_workspace_heading(evaluation))
        if evaluation.exempt or not evaluation.findings:
            continue
        table = _findings_table(evaluation.findings)
        if _natural_width(console, table) <= console.width:
            console.print(table)
            # Messages carry the fix, so they are printed in full below the table.
            for number, finding in enumerate(evaluation.findings, start=1):
                console.print(Text(f"{number}. ", style="bold"), Text(finding.message))
        else:
            for number, finding in enumerate(evaluation.findings, start=1):
                _print_stacked(console, number, finding)
        console.print()
    console.print(summary_line(evaluations, title))


def _findings_table(findings: Sequence[Finding]) -> Table:
    table = Table(show_lines=False, expand=False, title=None)
    for column in ("#", "severity", "rule", "resource", "subject", "action"):
        table.add_column(column, no_wrap=column != "subject")
    for number, finding in enumerate(findings, start=1):
        table.add_row(
            str(number),
            Text(finding.severity.value, style=_SEVERITY_STYLE[finding.severity]),
            finding.rule,
            short_resource(finding.resource_id),
            subject_of(finding),
            finding.action.value,
        )
    return table


def _natural_width(console: Console, table: Table) -> int:
    """Return the width `table` needs to show every cell on one line."""
    unbounded = console.options.update_width(_UNBOUNDED_WIDTH)
    return Measurement.get(console, unbounded, table).maximum


def _print_stacked(console: Console, number: int, finding: Finding) -> None:
    """Print one finding as a block of labelled lines, for consoles too narrow for the table."""
    heading = Text(f"{number}. ", style="bold")
    heading.append(finding.severity.value, style=_SEVERITY_STYLE[finding.severity])
    heading.append(f" {finding.rule}", style="bold")
    console.print(heading)
    lines = [("resource", short_resource(finding.resource_id))]
    subject = subject_of(finding)
    if subject:
        lines.append(("subject", subject))
    lines.append(("action", finding.action.value))
    for label, value in lines:
        console.print(Padding(Text(f"{label}: {value}"), (0, 0, 0, _STACK_INDENT), expand=False))
    console.print(Padding(Text(finding.message), (0, 0, 0, _STACK_INDENT), expand=False))


def _workspace_heading(evaluation: Evaluation) -> Text:
    name = short_resource(evaluation.workspace_id)
    if evaluation.exempt:
        return Text(f"{name}: exempt ({evaluation.exempt_reason})", style="dim")
    status = counted(len(evaluation.findings), "finding") if evaluation.findings else "compliant"
    line = Text(f"{name}: {status}", style="bold")
    if evaluation.missing:
        line.append(f" (could not read: {', '.join(evaluation.missing)})", style="yellow")
    return line


def summary_line(evaluations: list[Evaluation], title: str = "Findings") -> str:
    counts = {s: 0 for s in Severity}
    for evaluation in evaluations:
        for finding in evaluation.findings:
            counts[finding.severity] += 1
    exempt = sum(1 for e in evaluations if e.exempt)
    parts = [f"{counts[s]} {s.value}" for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)]
    workspaces = counted(len(evaluations), "workspace")
    return f"{title}: {', '.join(parts)} in {workspaces} ({exempt} exempt)"


def write_findings_markdown(evaluations: Iterable[Evaluation], stream: TextIO) -> None:
    evaluations = list(evaluations)
    for evaluation in evaluations:
        stream.write(f"## {short_resource(evaluation.workspace_id)}\n\n")
        if evaluation.exempt:
            stream.write(f"Exempt: {evaluation.exempt_reason}.\n\n")
            continue
        if not evaluation.findings:
            stream.write("Compliant: no findings.\n\n")
            continue
        stream.write("| severity | rule | resource | subject | action | message |\n")
        stream.write("|---|---|---|---|---|---|\n")
        for finding in evaluation.findings:
            cells = [
                finding.severity.value,
                f"`{finding.rule}`",
                f"`{short_resource(finding.resource_id)}`",
                subject_of(finding),
                finding.action.value,
                finding.message,
            ]
            stream.write("| " + " | ".join(_markdown_cell(c) for c in cells) + " |\n")
        stream.write("\n")
    stream.write(summary_line(evaluations) + "\n")


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_plan_table(plan: Mapping[str, Any], stream: TextIO) -> None:
    console = console_for(stream)
    for event in plan["events"]:
        outcome = event["outcome"]
        target = event.get("resource_id") or "(no resource id)"
        line = f"event {event.get('event_id') or '?'}: {outcome} {short_resource(target)}"
        if event.get("reason"):
            line += f": {event['reason']}"
        console.print(line)
    if not plan["workspaces"]:
        console.print("No workspace is affected; nothing would be done.")
        return
    for workspace in plan["workspaces"]:
        reasons = "; ".join(workspace["reasons"])
        console.print(Text(f"{short_resource(workspace['workspace_id'])}: {reasons}", "bold"))
    table = Table()
    for column in ("workspace", "action", "rule", "resource", "subject"):
        table.add_column(column)
    for action in plan["actions"]:
        table.add_row(
            short_resource(action["workspace_id"]),
            action["action"],
            action["rule"],
            short_resource(action["resource_id"]),
            action.get("subject") or "",
        )
    if plan["actions"]:
        console.print(table)
    else:
        console.print("The affected workspaces have no findings; nothing would be done.")


def write_plan_markdown(plan: Mapping[str, Any], stream: TextIO) -> None:
    stream.write("## Events\n\n")
    for event in plan["events"]:
        reason = f": {event['reason']}" if event.get("reason") else ""
        stream.write(f"- `{event.get('resource_id') or '-'}` {event['outcome']}{reason}\n")
    stream.write("\n## Affected workspaces\n\n")
    for workspace in plan["workspaces"]:
        stream.write(f"- `{workspace['workspace_id']}`: {'; '.join(workspace['reasons'])}\n")
    stream.write("\n## Actions\n\n| workspace | action | rule | resource | subject |\n")
    stream.write("|---|---|---|---|---|\n")
    for action in plan["actions"]:
        cells = [
            short_resource(action["workspace_id"]),
            action["action"],
            action["rule"],
            short_resource(action["resource_id"]),
            action.get("subject") or "",
        ]
        stream.write("| " + " | ".join(_markdown_cell(c) for c in cells) + " |\n")


def write_lint(
    results: Iterable[LintResult],
    stream: TextIO,
    markdown: bool = False,
    skipped: Sequence[SkippedDocument] = (),
) -> None:
    results = list(results)
    findings = [f for r in results for f in r.findings]
    if markdown:
        stream.write("| file | kind | rule | message |\n|---|---|---|---|\n")
        for result in results:
            for finding in result.findings:
                cells = [
                    f"`{result.path}`",
                    result.kind.value,
                    f"`{finding.rule}`",
                    finding.message,
                ]
                stream.write("| " + " | ".join(_markdown_cell(c) for c in cells) + " |\n")
        if skipped:
            stream.write("\nSkipped:\n\n")
        for document in skipped:
            stream.write(f"- `{document.path}`: {_markdown_cell(document.reason)}\n")
        stream.write(f"\n{_lint_summary(findings, results, skipped)}\n")
        return
    console = console_for(stream)
    for result in results:
        status = counted(len(result.findings), "finding") if result.findings else "ok"
        console.print(f"{result.path} ({result.kind.value}): {status}")
        for finding in result.findings:
            console.print(
                Text(f"  {finding.severity.value} ", style=_SEVERITY_STYLE[finding.severity]),
                Text(f"{finding.rule}: {finding.message}"),
            )
    for document in skipped:
        console.print(Text(f"{document.path}: skipped: {document.reason}", style="dim"))
    console.print(_lint_summary(findings, results, skipped))


def _lint_summary(
    findings: Sequence[Finding],
    results: Sequence[LintResult],
    skipped: Sequence[SkippedDocument],
) -> str:
    summary = f"{counted(len(findings), 'finding')} in {counted(len(results), 'spec')}"
    if skipped:
        summary += f", {counted(len(skipped), 'document')} skipped"
    return summary
