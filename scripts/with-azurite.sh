#!/usr/bin/env bash
# Run a command with Azurite on 127.0.0.1: reuse one that is already running, otherwise start
# one for the command and stop it afterwards. The command's exit status is kept.
#
# Usage: scripts/with-azurite.sh COMMAND [ARGS...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
started=0
if ! "$root/scripts/azurite.sh" status >/dev/null 2>&1; then
    "$root/scripts/azurite.sh" start
    started=1
fi

status=0
"$@" || status=$?
if [[ "$started" -eq 1 ]]; then
    "$root/scripts/azurite.sh" stop
fi
exit "$status"
