"""Write docs/rules.md from the rule catalogue in remediators.findings.RULES.

Run `make docs` (or `python docs/generate_rules.py`) after adding a rule; a test checks that
the committed page equals what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from remediators.findings import RULES  # noqa: E402

TARGET = ROOT / "docs" / "rules.md"

HEADER = """# Rules

Generated from `remediators/findings.py` by `docs/generate_rules.py`; do not edit by hand.

Rule ids are a public contract: the `remediate` CLI and the HTTP API report them, and other
tools parse them. Severity is `error` (batch jobs fail or the endpoint is exposed), `warning`
(weakened isolation or a step that will fail later) or `info`. The action is what remediate
mode does; alert mode only alerts, and dry-run writes nothing.

| rule id | resource | severity | action | finding when | docs |
|---|---|---|---|---|---|
"""


def render() -> str:
    rows = [
        f"| `{rule.id}` | {rule.resource} | {rule.severity.value} | {rule.action.value} | "
        f"{rule.summary} | [docs]({rule.docs}) |"
        for rule in RULES.values()
    ]
    return HEADER + "\n".join(rows) + "\n"


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET} ({len(RULES)} rules)")


if __name__ == "__main__":
    main()
