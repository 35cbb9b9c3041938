"""Print the ARM requests one live evaluation of a workspace costs, measured on the fake ARM.

    python scripts/arm_requests.py [--estate FILE] [--workspace ID] [--latency SECONDS]

Seeds the fake ARM from an estate file, collects the workspace through `LiveSource` and the
real SDK clients, and prints each request (method, path, status) with the totals. The
sequential round trips are the longest chain of requests that each started after the
previous one ended, so `--latency` must be well above the fake's own handling time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from azure.core.credentials import AccessToken  # noqa: E402

from fake_arm import FakeArm, FakeArmTransport  # noqa: E402
from remediators.clients import AzureClients  # noqa: E402
from remediators.estate.live import LiveSource  # noqa: E402


class FakeCredential:
    """A credential that never leaves the process: the fake ARM ignores the token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", int(time.time()) + 3600)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--estate", type=Path, default=ROOT / "demo" / "estate.json", help="estate JSON file"
    )
    parser.add_argument("--workspace", help="workspace id (default: every workspace in the file)")
    # At 0.02 s the fake's handling time and thread start-up are a large part of each request,
    # so parallel requests of one wave can appear to run one after another and the round-trip
    # count varies from run to run (3 to 7 for demo/estate.json). At 0.2 s it was 3 every run.
    parser.add_argument(
        "--latency",
        type=float,
        default=0.2,
        help="injected latency per request, in seconds (default 0.2: a lower value makes the "
        "sequential round-trip count unstable, because the fake's own handling time then "
        "separates requests that ran in parallel)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        data = json.loads(args.estate.read_text())
    except (OSError, ValueError) as error:
        print(f"cannot read estate file {args.estate}: {error}", file=sys.stderr)
        return 2
    arm = FakeArm.from_estate(data, latency=args.latency)
    clients = AzureClients(FakeCredential(), transport=FakeArmTransport(arm), polling_interval=0)
    source = LiveSource(clients)
    workspaces = (
        [args.workspace]
        if args.workspace
        else [
            str(r["id"])
            for r in arm.resources()
            if str(r.get("type", "")).lower() == "microsoft.machinelearningservices/workspaces"
        ]
    )
    for workspace_id in workspaces:
        arm.clear_log()
        try:
            source.workspace_estate(workspace_id)
        except KeyError:
            print(f"workspace {workspace_id} is not in {args.estate}", file=sys.stderr)
            return 2
        print(f"workspace {workspace_id}")
        for record in arm.requests:
            print(f"  {record.method:6} {record.status} /{record.path}")
        print(
            f"  total: {len(arm.requests)} requests, {arm.critical_path()} sequential round trips"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
