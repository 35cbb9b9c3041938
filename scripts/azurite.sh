#!/usr/bin/env bash
# Start or stop Azurite (the Azure Storage emulator) on 127.0.0.1 for tests and the demo.
#
# Usage: scripts/azurite.sh start|stop|status
# Ports: AZURITE_BLOB_PORT (10000), AZURITE_QUEUE_PORT (10001), AZURITE_TABLE_PORT (10002).
# Data goes to AZURITE_LOCATION (.azurite in the repository root); the pid file and the log sit
# beside it. Run `npm ci` first so that node_modules/.bin/azurite exists.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
blob_port="${AZURITE_BLOB_PORT:-10000}"
queue_port="${AZURITE_QUEUE_PORT:-10001}"
table_port="${AZURITE_TABLE_PORT:-10002}"
location="${AZURITE_LOCATION:-$root/.azurite}"
pid_file="$location/azurite.pid"
log_file="$location/azurite.log"
start_timeout_seconds=30

port_open() {
    # bash's /dev/tcp opens a TCP connection, so no netcat is needed.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

running_pid() {
    if [[ -f "$pid_file" ]]; then
        local pid
        pid="$(cat "$pid_file")"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            echo "$pid"
            return 0
        fi
    fi
    return 1
}

start() {
    local binary="$root/node_modules/.bin/azurite"
    if [[ ! -x "$binary" ]]; then
        echo "azurite.sh: $binary not found; run 'npm ci' in $root first" >&2
        exit 1
    fi
    if pid="$(running_pid)"; then
        echo "azurite.sh: Azurite is already running (pid $pid)"
        return 0
    fi
    for port in "$blob_port" "$queue_port" "$table_port"; do
        if port_open "$port"; then
            echo "azurite.sh: port $port on 127.0.0.1 is already in use; stop that process" \
                "or set AZURITE_BLOB_PORT, AZURITE_QUEUE_PORT and AZURITE_TABLE_PORT" >&2
            exit 1
        fi
    done

    mkdir -p "$location"
    # setsid puts Azurite in its own session so that it outlives this script and the shell.
    setsid "$binary" --silent --location "$location" \
        --blobHost 127.0.0.1 --blobPort "$blob_port" \
        --queueHost 127.0.0.1 --queuePort "$queue_port" \
        --tableHost 127.0.0.1 --tablePort "$table_port" \
        --skipApiVersionCheck --disableTelemetry --loose \
        >"$log_file" 2>&1 </dev/null &
    echo $! >"$pid_file"

    local deadline=$((SECONDS + start_timeout_seconds))
    for port in "$blob_port" "$queue_port" "$table_port"; do
        until port_open "$port"; do
            if ! running_pid >/dev/null; then
                echo "azurite.sh: Azurite exited during start; see $log_file" >&2
                rm -f "$pid_file"
                exit 1
            fi
            if ((SECONDS >= deadline)); then
                echo "azurite.sh: port $port did not open within ${start_timeout_seconds} s;" \
                    "see $log_file" >&2
                stop
                exit 1
            fi
            sleep 0.2
        done
    done
    echo "azurite.sh: Azurite running (pid $(cat "$pid_file"), blob $blob_port," \
        "queue $queue_port, table $table_port)"
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        echo "azurite.sh: Azurite is not running"
        rm -f "$pid_file"
        return 0
    fi
    kill "$pid"
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "azurite.sh: pid $pid did not stop within 5 s; sending SIGKILL" >&2
        kill -9 "$pid"
    fi
    rm -f "$pid_file"
    echo "azurite.sh: Azurite stopped (pid $pid)"
}

status() {
    if pid="$(running_pid)"; then
        echo "azurite.sh: Azurite running (pid $pid)"
    else
        echo "azurite.sh: Azurite is not running"
        return 1
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
