"""The `remediate` command: the product's checks outside Azure Functions.

Exit status: 0 when nothing at or above `--fail-on` was found, 1 when something was, and 2 for
invalid input or usage, with one line on stderr that names the value and the fix.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, TextIO

from remediators import output
from remediators.estate.models import norm_id
from remediators.evaluation import Evaluation, evaluate_workspace, report_json
from remediators.findings import Severity
from remediators.rules import RuleOptions

logger = logging.getLogger(__name__)

PROG = "remediate"
FAIL_ON = ("error", "warning", "info", "never")
DISTRIBUTION = "batch-endpoint-remediator"
_ESTATE_HELP = "offline estate file (JSON), or - to read it from standard input"


class UsageError(Exception):
    """Invalid input or usage; the message is one line naming the value and the fix."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; run '{self.prog} --help' for usage")


@dataclass
class Streams:
    stdout: TextIO
    stderr: TextIO
    stdin: TextIO


def package_version() -> str:
    """Return the installed version of the distribution, or a note that it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return f"(unknown: {DISTRIBUTION} is not installed; run pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--format",
        choices=output.FORMATS,
        default="table",
        help="output format: a table for people, markdown, or one JSON object (default: table)",
    )
    common.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="error",
        help="exit 1 when a finding of this severity or worse is found (default: error). Info "
        "findings include guidance notes, such as endpoint.studio-invoke for every batch "
        "endpoint of a private workspace, so --fail-on info fails whenever guidance exists",
    )
    common.add_argument("-v", "--verbose", action="count", default=0, help="log more to stderr")

    parser = _Parser(
        prog=PROG,
        description="Check the network isolation of Azure Machine Learning batch endpoints.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    check = commands.add_parser(
        "check", parents=[common], help="evaluate an estate file or live Azure"
    )
    scope = check.add_mutually_exclusive_group(required=True)
    scope.add_argument("--estate", metavar="FILE", help=_ESTATE_HELP)
    scope.add_argument("--workspace", metavar="ID", help="ARM id of one workspace (live)")
    scope.add_argument("--resource-group", metavar="ID", help="ARM id of a resource group (live)")
    scope.add_argument("--subscription", metavar="ID", help="subscription id (live)")
    _add_rule_options(check)

    report = commands.add_parser(
        "report", parents=[common], help="write an HTML report of an estate file or live Azure"
    )
    report_scope = report.add_mutually_exclusive_group(required=True)
    report_scope.add_argument("--estate", metavar="FILE", help=_ESTATE_HELP)
    report_scope.add_argument("--workspace", metavar="ID", help="ARM id of one workspace (live)")
    report_scope.add_argument(
        "--resource-group", metavar="ID", help="ARM id of a resource group (live)"
    )
    report_scope.add_argument("--subscription", metavar="ID", help="subscription id (live)")
    report.add_argument("-o", "--output", metavar="FILE", required=True, help="HTML file to write")
    _add_rule_options(report)

    # export reports no findings, so it takes no --fail-on and prints its summary as text or JSON.
    export = commands.add_parser("export", help="write an estate file from live Azure")
    export.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="summary format: a line of text, or one JSON object (default: table)",
    )
    export.add_argument("-v", "--verbose", action="count", default=0, help="log more to stderr")
    export.add_argument("--subscription", metavar="ID", required=True, help="subscription id")
    export.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="estate file to write"
    )

    lint = commands.add_parser(
        "lint", parents=[common], help="check batch endpoint and deployment YAML files"
    )
    lint.add_argument(
        "files",
        metavar="PATH",
        nargs="+",
        help="CLI v2 YAML file, or a directory whose *.yml and *.yaml files are linted",
    )

    plan = commands.add_parser(
        "plan-event",
        parents=[common],
        help="show which workspaces an event affects and what would be done (writes nothing)",
    )
    plan.add_argument("event_file", metavar="EVENT_FILE", help="Event Grid delivery (JSON)")
    plan.add_argument("--estate", metavar="FILE", required=True, help=_ESTATE_HELP)
    plan.add_argument(
        "--scope",
        metavar="SUBSCRIPTION",
        action="append",
        help="subscription id in scope, repeatable (default: every subscription in the estate)",
    )
    plan.add_argument(
        "--mode",
        choices=("alert", "remediate"),
        default="remediate",
        help="alert mode only alerts; remediate mode also repairs (default: remediate)",
    )
    _add_rule_options(plan)
    return parser


def _add_rule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--custom-dns",
        action="store_true",
        help="the organisation runs its own DNS: report DNS zone gaps, never repair them",
    )
    parser.add_argument(
        "--cloud",
        default="AzureCloud",
        choices=("AzureCloud", "AzureUSGovernment", "AzureChinaCloud"),
        help="Azure cloud whose private DNS zone names apply (default: AzureCloud)",
    )


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: Any = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run `remediate` and return its exit status.

    `clients` replaces the Azure clients of the live modes (an `AzureClients`), so tests and
    the demo run them against a fake ARM without a real credential.
    """
    streams = Streams(stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin)
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        streams.stderr.write(f"{PROG}: error: {error}\n")
        return 2
    except SystemExit as exit_:  # --help and --version exit through argparse
        return exit_.code if isinstance(exit_.code, int) else 0
    with _stderr_logging(streams.stderr, args.verbose):
        try:
            return COMMANDS[args.command](args, streams, clients)
        except UsageError as error:
            streams.stderr.write(f"{PROG}: error: {error}\n")
            return 2
        except BrokenPipeError:
            # The reader of stdout (`| head`) went away. Point stdout at /dev/null so the
            # interpreter's final flush does not raise again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1


@contextmanager
def _stderr_logging(stream: TextIO, verbosity: int) -> Iterator[None]:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_CliFormatter())
    level = logging.WARNING
    if verbosity == 1:
        level = logging.INFO
    elif verbosity > 1:
        level = logging.DEBUG
    handler.setLevel(level)
    package = logging.getLogger("remediators")
    previous = package.level
    package.addHandler(handler)
    package.setLevel(min(handler.level, previous or logging.WARNING))
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(previous)


class _CliFormatter(logging.Formatter):
    """Format log records as `remediate: warning: message`, the form of the CLI's errors."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return f"{PROG}: {record.levelname.lower()}: {message}"


def exit_status(evaluations_findings: Sequence[Severity], fail_on: str) -> int:
    """Return 1 when a severity at or above `fail_on` is present, else 0."""
    if fail_on == "never":
        return 0
    threshold = Severity(fail_on)
    return 1 if any(severity >= threshold for severity in evaluations_findings) else 0


def rule_options(args: argparse.Namespace) -> RuleOptions:
    return RuleOptions(custom_dns=args.custom_dns, cloud=args.cloud)


# ---------------------------------------------------------------- check


def run_check(args: argparse.Namespace, streams: Streams, clients: Any) -> int:
    options = rule_options(args)
    extra: dict[str, Any] = {}
    if args.estate:
        loaded = load_estate_argument(args.estate, streams.stdin)
        report_skipped(loaded.skipped, args.estate, streams.stderr)
        ids = loaded.estate.workspace_ids()
        if not ids:
            raise UsageError(
                f"{args.estate}: the estate has no Microsoft.MachineLearningServices/workspaces "
                "resource; add the workspaces to check"
            )
        evaluations = _with_progress(
            ids, streams, args.format, lambda w: evaluate_workspace(loaded.estate, w, options)
        )
        extra["estate"] = {
            "file": args.estate,
            "skipped_resources": loaded.skipped,
            "skipped_types": dict(loaded.skipped_types),
        }
    else:
        scope = live_scope(args)
        source = live_source(clients)
        if args.workspace:
            evaluations = [_evaluate_live(source, scope, options)]
        else:
            collected = _read_scope(source, scope)
            evaluations = _with_progress(
                list(collected),
                streams,
                args.format,
                lambda w: evaluate_workspace(collected[w], w, options),
            )
    write_report(evaluations, args.format, streams.stdout, extra)
    status = exit_status([f.severity for e in evaluations for f in e.findings], args.fail_on)
    return max(status, incomplete_status(evaluations, args.fail_on, streams.stderr))


def incomplete_status(evaluations: Sequence[Evaluation], fail_on: str, stderr: TextIO) -> int:
    """Warn about dependencies that could not be read and return 1 unless --fail-on never.

    A workspace whose storage account, registry, key vault, subnet or NSG is missing was not
    fully checked, so a clean result for it must not pass a CI gate.
    """
    incomplete = [e for e in evaluations if e.missing]
    for evaluation in incomplete:
        for resource_id in evaluation.missing:
            stderr.write(
                f"remediate: warning: {evaluation.workspace_id} references {resource_id}, "
                "which the estate does not contain, so the checks that need it did not run; "
                "add it to the estate file (or check that it still exists)\n"
            )
    return 1 if incomplete and fail_on != "never" else 0


def run_report(args: argparse.Namespace, streams: Streams, clients: Any) -> int:
    """Write the HTML report of an estate file or a live scope; exit as `check` does."""
    from remediators.report import evaluate_for_report, render_report
    from remediators.report import write_report as write_html

    options = rule_options(args)
    if args.estate:
        loaded = load_estate_argument(args.estate, streams.stdin)
        report_skipped(loaded.skipped, args.estate, streams.stderr)
        evaluations, contexts = evaluate_for_report(loaded.estate, options=options)
        source = args.estate
    else:
        source = live_scope(args)
        live = live_source(clients)
        if args.workspace:
            collected = {source: _read_workspace_estate(live, source)}
        else:
            collected = _read_scope(live, source)
        evaluations, contexts = [], []
        for workspace_id, estate in collected.items():
            evaluated, judged = evaluate_for_report(estate, [workspace_id], options)
            evaluations += evaluated
            contexts += judged
    try:
        write_html(args.output, render_report(evaluations, contexts, source=source))
    except OSError as error:
        raise UsageError(f"cannot write the report to {args.output}: {error}") from None
    streams.stderr.write(f"wrote the report of {len(evaluations)} workspaces to {args.output}\n")
    return exit_status([f.severity for e in evaluations for f in e.findings], args.fail_on)


def report_skipped(count: int, name: str, stream: TextIO) -> None:
    if count == 1:
        stream.write(f"{name}: skipped 1 resource of a type no rule reads\n")
    elif count:
        stream.write(f"{name}: skipped {count} resources of types no rule reads\n")


def load_estate_argument(name: str, stdin: TextIO) -> Any:
    """Read the estate file `name`, or standard input when it is `-`; UsageError if invalid."""
    from remediators.estate.file import EstateFileError, read_estate_file, read_estate_stream

    try:
        if name == "-":
            return read_estate_stream(stdin)
        return read_estate_file(name)
    except EstateFileError as error:
        raise UsageError(str(error)) from None


def write_report(
    evaluations: list[Evaluation], fmt: str, stream: TextIO, extra: dict[str, Any]
) -> None:
    if fmt == "json":
        output.write_json({**report_json(evaluations), **extra}, stream)
    elif fmt == "markdown":
        output.write_findings_markdown(evaluations, stream)
    else:
        output.write_findings_table(evaluations, stream)


def _with_progress(
    workspace_ids: list[str],
    streams: Streams,
    fmt: str,
    evaluate: Callable[[str], Evaluation],
) -> list[Evaluation]:
    """Evaluate each workspace, showing progress on stderr for people checking many."""
    if len(workspace_ids) < 2 or fmt != "table" or not streams.stderr.isatty():
        return [evaluate(w) for w in workspace_ids]
    from rich.console import Console
    from rich.progress import Progress

    results = []
    with Progress(console=Console(file=streams.stderr), transient=True) as progress:
        task = progress.add_task("Checking workspaces", total=len(workspace_ids))
        for workspace_id in workspace_ids:
            results.append(evaluate(workspace_id))
            progress.advance(task)
    return results


# ---------------------------------------------------------------- live Azure

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_SUBSCRIPTION_FORM = "a subscription GUID or /subscriptions/<subscription-id>"
_GROUP_FORM = "/subscriptions/<subscription-id>/resourceGroups/<resource-group>"
_WORKSPACE_FORM = f"{_GROUP_FORM}/providers/Microsoft.MachineLearningServices/workspaces/<name>"


def subscription_scope(value: str) -> str:
    """Return `/subscriptions/<id>` for a subscription GUID or id; UsageError otherwise."""
    text = value.strip().rstrip("/")
    guid = text.split("/")[-1] if text.lower().startswith("/subscriptions/") else text
    if text.count("/") not in (0, 2) or not _GUID.match(guid):
        raise UsageError(f"invalid subscription {value!r}; expected {_SUBSCRIPTION_FORM}")
    return f"/subscriptions/{guid}"


def resource_group_scope(value: str) -> str:
    from remediators.events import resource_id_problem

    text = value.strip().removesuffix("/")
    problem = resource_id_problem(text)
    if problem is not None:
        raise UsageError(f"invalid resource group id {value!r}: {problem}; expected {_GROUP_FORM}")
    parts = text.split("/")
    if (
        len(parts) != 5
        or parts[0]
        or parts[1].lower() != "subscriptions"
        or not _GUID.match(parts[2])
        or parts[3].lower() != "resourcegroups"
        or not parts[4]
    ):
        raise UsageError(f"invalid resource group id {value!r}; expected {_GROUP_FORM}")
    return "/".join(parts)


def workspace_scope(value: str) -> str:
    from azure.mgmt.core.tools import is_valid_resource_id, parse_resource_id

    from remediators.events import resource_id_problem

    text = value.strip().removesuffix("/")
    problem = resource_id_problem(text)
    if problem is not None:
        raise UsageError(f"invalid workspace id {value!r}: {problem}; expected {_WORKSPACE_FORM}")
    if not is_valid_resource_id(text):
        raise UsageError(f"invalid workspace id {value!r}; expected {_WORKSPACE_FORM}")
    parts = parse_resource_id(text)
    is_workspace = (
        str(parts.get("namespace", "")).lower() == "microsoft.machinelearningservices"
        and str(parts.get("type", "")).lower() == "workspaces"
        and "child_name_1" not in parts
        and _GUID.match(str(parts.get("subscription", "")))
    )
    if not is_workspace:
        raise UsageError(f"{value!r} is not a workspace id; expected {_WORKSPACE_FORM}")
    return text


def live_source(clients: Any) -> Any:
    """Return a `LiveSource` over `clients`, or over clients with the default credential."""
    from remediators.estate.live import LiveSource

    if clients is None:
        from remediators.clients import AzureClients, default_credential

        client_id = os.environ.get("AZURE_CLIENT_ID") or None
        if client_id is not None and not _GUID.match(client_id):
            raise UsageError(
                f"AZURE_CLIENT_ID {client_id!r} is not a GUID; set it to the client id of the "
                "user-assigned managed identity, or unset it"
            )
        clients = AzureClients(default_credential(client_id))
    return LiveSource(clients)


def live_scope(args: argparse.Namespace) -> str:
    """Return the validated workspace, resource group or subscription id to check."""
    if args.workspace:
        return workspace_scope(args.workspace)
    if args.resource_group:
        return resource_group_scope(args.resource_group)
    return subscription_scope(args.subscription)


def _evaluate_live(source: Any, workspace_id: str, options: RuleOptions) -> Evaluation:
    return evaluate_workspace(_read_workspace_estate(source, workspace_id), workspace_id, options)


def _read_scope(source: Any, scope: str) -> dict[str, Any]:
    """Read every workspace of a subscription or resource group with shared list requests.

    The findings equal those of reading each workspace alone, at a few ARM requests per
    workspace instead of about twenty.
    """
    collected: dict[str, Any] = _read_live(lambda: source.scope_estates(scope), scope)
    return collected


def _read_workspace_estate(source: Any, workspace_id: str) -> Any:
    return _read_live(lambda: source.workspace_estate(workspace_id), workspace_id)


def _read_live(read: Callable[[], Any], target: str) -> Any:
    """Run one live read, turning Azure errors into a one-line UsageError naming `target`."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    try:
        return read()
    except KeyError:
        raise UsageError(
            f"{target} was not found; check the id and that the identity has Reader on it"
        ) from None
    except ClientAuthenticationError as error:
        raise UsageError(
            f"cannot authenticate to Azure for {target} ({_first_line(error)}); run 'az login', "
            "or set AZURE_CLIENT_ID for a user-assigned managed identity"
        ) from None
    except HttpResponseError as error:
        raise UsageError(
            f"reading {target} failed with HTTP {error.status_code} ({_first_line(error)}); "
            "check that the identity has Reader on the scope"
        ) from None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ---------------------------------------------------------------- export


def run_export(args: argparse.Namespace, streams: Streams, clients: Any) -> int:
    from remediators.estate.estate import Estate
    from remediators.estate.file import dump_estate

    subscription = subscription_scope(args.subscription)
    source = live_source(clients)
    collected = _read_scope(source, subscription)
    combined = Estate()
    for estate in collected.values():
        for payload in estate.resources():
            combined.add(payload)
        known = {c.id for c in combined.changes}
        combined.changes += [c for c in estate.changes if c.id not in known]
    try:
        dump_estate(combined, args.output)
    except OSError as error:
        raise UsageError(f"cannot write {args.output}: {error.strerror}; check the path") from None
    summary = {"file": args.output, "workspaces": len(collected), "resources": len(combined)}
    if args.format == "json":
        output.write_json(summary, streams.stdout)
    else:
        streams.stdout.write(
            f"Wrote {summary['resources']} resources of {summary['workspaces']} workspaces "
            f"to {summary['file']}\n"
        )
    return 0


# ---------------------------------------------------------------- lint


def run_lint(args: argparse.Namespace, streams: Streams, clients: Any) -> int:
    """Lint files and directories; exit 2 when one cannot be read or none is a batch spec."""
    from remediators.lint import LintInputError, LintResult, SkippedDocument, lint_path, yaml_files

    results: list[LintResult] = []
    skipped: list[SkippedDocument] = []
    errors: list[str] = []
    for argument in args.files:
        try:
            paths = yaml_files([argument])
        except LintInputError as error:
            errors.append(str(error))
            continue
        for path in paths:
            try:
                report = lint_path(path)
            except LintInputError as error:
                errors.append(str(error))
                continue
            results += report.results
            skipped += report.skipped
    if not results and not errors:
        errors.append(_no_batch_spec_message(skipped))
    findings = [f for r in results for f in r.findings]
    if args.format == "json":
        output.write_json(
            {
                "findings": [f.to_json() for f in findings],
                "files": [
                    {"path": r.path, "kind": r.kind.value, "findings": len(r.findings)}
                    for r in results
                ],
                "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
                "errors": errors,
            },
            streams.stdout,
        )
    else:
        output.write_lint(
            results, streams.stdout, markdown=args.format == "markdown", skipped=skipped
        )
    for message in errors:
        streams.stderr.write(f"{PROG}: error: {message}\n")
    if errors:
        return 2
    return exit_status([f.severity for f in findings], args.fail_on)


def _no_batch_spec_message(skipped: Sequence[Any]) -> str:
    shown = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:3])
    more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    return (
        f"no batch endpoint or batch deployment spec found (skipped {shown}{more}); pass CLI v2 "
        "specs with $schema batchEndpoint.schema.json or batchDeployment.schema.json"
    )


# ---------------------------------------------------------------- plan-event


def plan_event(args: argparse.Namespace, stdin: TextIO | None = None) -> dict[str, Any]:
    """Route an event file against an estate file and list what each workspace would get.

    `stdin` is read as the estate when `args.estate` is `-` (default: the process's stdin).
    """
    from pathlib import Path

    from remediators.estate.models import subscription_of
    from remediators.events import Rejected, ResourceChange, normalise
    from remediators.routing import DependencyIndex, Router

    loaded = load_estate_argument(args.estate, stdin or sys.stdin)
    try:
        delivery = Path(args.event_file).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read event file {args.event_file}: {error.strerror}") from None
    estate = loaded.estate
    if args.scope:
        scope = [subscription_scope(s).rsplit("/", 1)[-1] for s in args.scope]
    else:
        scope = sorted({subscription_of(w) or "" for w in estate.workspace_ids()} - {""})
    items = normalise(delivery)
    rejected = [item for item in items if isinstance(item, Rejected)]
    if items and len(rejected) == len(items):
        reasons = "; ".join(sorted({item.reason for item in rejected}))
        raise UsageError(
            f"{args.event_file}: no usable event ({reasons}); pass an Event Grid or CloudEvents "
            "resource event with a resource id"
        )
    if not items:
        raise UsageError(f"{args.event_file}: the file contains no event")
    routing = Router(DependencyIndex.from_estate(estate), scope=scope).route(items)
    # Deleted resources are gone: evaluate the estate without them and their children.
    deleted = [
        item.resource_id
        for item in items
        if isinstance(item, ResourceChange) and item.operation == "delete"
    ]
    if deleted:
        estate = without_resources(estate, deleted)

    events = _event_outcomes(items, routing.skipped)
    options = rule_options(args)
    workspaces: list[dict[str, Any]] = []
    evaluations: list[Evaluation] = []
    for route in routing.routes:
        entry = {
            "workspace_id": route.workspace_id,
            "reasons": list(route.reasons),
            "event_ids": list(route.event_ids),
            "in_estate": route.workspace_id in estate,
        }
        workspaces.append(entry)
        if route.workspace_id in estate:
            evaluations.append(evaluate_workspace(estate, route.workspace_id, options))
    actions = [
        _planned_action(finding, args.mode)
        for evaluation in evaluations
        for finding in evaluation.findings
        if finding.action.value != "none"
    ]
    report = report_json(evaluations)
    return {
        "workspaces": workspaces,
        "actions": actions,
        "events": events,
        "findings": report["findings"],
        "evaluations": report["workspaces"],
        "mode": args.mode,
        "dry_run": True,
    }


def without_resources(estate: Any, resource_ids: Sequence[str]) -> Any:
    """Return a copy of `estate` without the given resources and everything under them."""
    from remediators.estate.estate import Estate

    prefixes = [norm_id(r) for r in resource_ids]

    def removed(resource_id: str) -> bool:
        key = norm_id(resource_id)
        return any(key == p or key.startswith(p + "/") for p in prefixes)

    kept = Estate(p for p in estate.resources() if not removed(str(p.get("id"))))
    kept.changes = list(estate.changes)
    return kept


def _event_outcomes(items: Sequence[Any], skipped: Sequence[Any]) -> list[dict[str, Any]]:
    """Describe each input event in delivery order: routed, ignored or rejected, and why."""
    from remediators.events import Ignored, ResourceChange

    # Routing skips name the event they came from; normalising skips are the items themselves.
    pending = [s for s in skipped if not any(s is item for item in items)]
    outcomes = []
    for item in items:
        outcome, reason = "routed", None
        if isinstance(item, ResourceChange):
            for skip in pending:
                if skip.event_id == item.event_id and skip.resource_id == item.resource_id:
                    outcome = "ignored" if isinstance(skip, Ignored) else "rejected"
                    reason = skip.reason
                    pending.remove(skip)
                    break
        else:
            outcome = "ignored" if isinstance(item, Ignored) else "rejected"
            reason = item.reason
        outcomes.append(
            {
                "event_id": item.event_id,
                "event_type": getattr(item, "event_type", None),
                "resource_id": item.resource_id,
                "outcome": outcome,
                "reason": reason,
            }
        )
    return outcomes


def _planned_action(finding: Any, mode: str) -> dict[str, Any]:
    action = finding.action.value if mode == "remediate" else "alert"
    return {
        "workspace_id": finding.workspace_id,
        "action": action,
        "rule": finding.rule,
        "severity": finding.severity.value,
        "resource_id": finding.resource_id,
        "subject": output.subject_of(finding),
        "message": finding.message,
    }


def run_plan_event(args: argparse.Namespace, streams: Streams, clients: Any) -> int:
    plan = plan_event(args, streams.stdin)
    if args.format == "json":
        output.write_json(plan, streams.stdout)
    elif args.format == "markdown":
        output.write_plan_markdown(plan, streams.stdout)
    else:
        output.write_plan_table(plan, streams.stdout)
    return exit_status([Severity(f["severity"]) for f in plan["findings"]], args.fail_on)


COMMANDS: dict[str, Callable[[argparse.Namespace, Streams, Any], int]] = {
    "check": run_check,
    "report": run_report,
    "export": run_export,
    "lint": run_lint,
    "plan-event": run_plan_event,
}


if __name__ == "__main__":
    sys.exit(main())
