#!/usr/bin/env bash
# Run a command with Azurite on 127.0.0.1: reuse one that is already running (started by this
# checkout, or any process listening on all three ports), otherwise start one for the command
# and stop it afterwards. The command's exit status is kept.
#
# Usage: scripts/with-azurite.sh COMMAND [ARGS...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
blob_port="${AZURITE_BLOB_PORT:-10000}"
queue_port="${AZURITE_QUEUE_PORT:-10001}"
table_port="${AZURITE_TABLE_PORT:-10002}"

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

all_ports_open() {
    port_open "$blob_port" && port_open "$queue_port" && port_open "$table_port"
}

started=0
if "$root/scripts/azurite.sh" status >/dev/null 2>&1; then
    :
elif all_ports_open; then
    echo "with-azurite.sh: reusing the Azurite already listening on 127.0.0.1:" \
        "$blob_port, $queue_port, $table_port"
else
    "$root/scripts/azurite.sh" start
    started=1
fi

status=0
"$@" || status=$?
if [[ "$started" -eq 1 ]]; then
    "$root/scripts/azurite.sh" stop
fi
exit "$status"
